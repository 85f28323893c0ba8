package sdk

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/internal/certs"
)

// Name and Version identify this SDK in the server's convergence reports
// unless Config says otherwise.
const (
	Name    = "switchyard-go"
	Version = "0.1.0"
)

// Config configures a Client. Address and SDKKey are required unless the
// client runs offline on Bootstrap alone.
type Config struct {
	// Address is the server's gRPC address, host:port.
	Address string
	// SDKKey is a server SDK key; it selects the project and environment.
	SDKKey string
	// TLS configures TLS to the server. nil means plaintext, which is only
	// for a server on the same host or a development setup. TLSFiles
	// builds one from PEM files (a CA, a client certificate).
	TLS *tls.Config
	// DialOptions are added to the client's own dial options (and win over
	// them).
	DialOptions []grpc.DialOption
	// Conn, if set, is an existing connection to the server to use instead
	// of dialing Address; the client does not close it. Many clients may
	// share one connection.
	Conn grpc.ClientConnInterface

	// CacheFile, if set, is where the client keeps the last ruleset it
	// applied (written atomically, mode 0600, at every new revision) and
	// what it starts from, so that it can evaluate when it starts while the
	// server is out of reach. A cache written with another SDK key is
	// ignored.
	CacheFile string
	// Bootstrap, if set, is a project document (YAML or JSON, as `switchyard
	// export` writes it) to evaluate on until the server answers, or for
	// good when Address is empty. A cache file, when readable, wins over it.
	Bootstrap []byte
	// BootstrapEnvironment is the environment of Bootstrap to evaluate;
	// it may be omitted when the document has one environment.
	BootstrapEnvironment string

	// Events configures the exposure and track events the client sends.
	Events EventsConfig

	// Backoff paces reconnection.
	Backoff Backoff
	// MaxMessageBytes bounds a message from the server; a ruleset with a
	// segment of a million keys takes about 15 MB. Zero means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int

	// Project and Environment name the environment to follow when SDKKey
	// is a relay key, which covers several; with a server SDK key leave
	// them empty (the key names its environment).
	Project     string
	Environment string
	// Relay, if set, is told of everything the client receives, for a
	// relay that serves it on (switchyard relay). Applications leave it
	// nil.
	Relay Relay

	// Logger receives the client's log; nil discards it.
	Logger *slog.Logger
	// Name and Version identify the application in the server's
	// convergence reports; the defaults are this SDK's Name and Version.
	Name    string
	Version string
}

// TLSFiles returns a Config.TLS that trusts the CA bundle in caFile (empty:
// the system's roots) and, when certFile and keyFile are set, presents that
// client certificate to a server that requires one (mutual TLS); the
// certificate is read again when its files change, so a renewed one is
// used from the next connection on. It fails when a file is missing or
// does not parse.
func TLSFiles(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg, err := certs.Client(certs.ClientFiles{CA: caFile, Cert: certFile, Key: keyFile})
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	return cfg, nil
}

// Backoff is the reconnection policy: exponential backoff with full jitter
// (a random wait between zero and min(Max, Initial·2^attempt)).
type Backoff struct {
	// Initial is the first backoff ceiling; zero means 250 ms.
	Initial time.Duration
	// Max caps the ceiling; zero means 30 s.
	Max time.Duration
	// AfterAuthError is how long the client waits before trying again once
	// the server refused the SDK key (status ERROR): zero means 5 minutes,
	// negative means never (until the client is closed and created anew).
	// A refused key is no reason for a retry storm, but a key created a
	// little after the service started should still be picked up.
	AfterAuthError time.Duration
}

// EventsConfig configures the events a connected client sends to the
// server over its connection (EventService.SendEvents): an exposure for
// each unit's first evaluation of a flag (again when the unit's variant,
// rule or experiment changes), and the events of Track. They are queued in
// memory, never blocking a getter, and sent in batches in the background.
// Zero fields take the defaults.
type EventsConfig struct {
	// Disabled turns events off: getters record no exposures and Track
	// does nothing.
	Disabled bool
	// BatchSize caps the events of one request; a full batch is sent at
	// once. Zero means 500.
	BatchSize int
	// FlushInterval is how often queued events are sent when no batch
	// fills up. Zero means 2 s.
	FlushInterval time.Duration
	// QueueSize caps the events waiting to be sent; when the queue is full
	// the oldest event is dropped (EventStats counts drops). Zero means
	// 10,000.
	QueueSize int
	// DedupSize caps the units and flags remembered so that an exposure is
	// sent once. Zero means 50,000.
	DedupSize int
	// CloseTimeout bounds how long Close waits to send the events still
	// queued. Zero means 5 s.
	CloseTimeout time.Duration
}

// DefaultCloseTimeout is the default of EventsConfig.CloseTimeout.
const DefaultCloseTimeout = 5 * time.Second

// DefaultMaxMessageBytes is the default of Config.MaxMessageBytes.
const DefaultMaxMessageBytes = 256 << 20

// The defaults of Backoff.
const (
	DefaultBackoffInitial = 250 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	DefaultAfterAuthError = 5 * time.Minute
)

// minConnectTimeout bounds one attempt to connect.
const minConnectTimeout = 20 * time.Second

// withDefaults returns c with every zero field that has a default set.
func (c Config) withDefaults() Config {
	if c.Backoff.Initial == 0 {
		c.Backoff.Initial = DefaultBackoffInitial
	}
	if c.Backoff.Max == 0 {
		c.Backoff.Max = max(DefaultBackoffMax, c.Backoff.Initial)
	}
	if c.Backoff.AfterAuthError == 0 {
		c.Backoff.AfterAuthError = DefaultAfterAuthError
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.Events.CloseTimeout == 0 {
		c.Events.CloseTimeout = DefaultCloseTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Name == "" {
		c.Name, c.Version = Name, Version
	}
	return c
}

// offline reports whether the client never connects.
func (c Config) offline() bool { return c.Address == "" && c.Conn == nil }

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.offline() && len(c.Bootstrap) == 0 {
		errs = append(errs, errors.New("config: Address (or Conn) is required unless a Bootstrap document is given"))
	}
	if !c.offline() && c.SDKKey == "" {
		errs = append(errs, errors.New("config: SDKKey is required to connect"))
	}
	if c.Backoff.Initial < 0 || c.Backoff.Max < 0 {
		errs = append(errs, fmt.Errorf("config: Backoff %v: durations must not be negative", c.Backoff))
	}
	if c.Backoff.Max > 0 && c.Backoff.Initial > c.Backoff.Max {
		errs = append(errs, fmt.Errorf("config: Backoff.Initial %s is above Backoff.Max %s", c.Backoff.Initial, c.Backoff.Max))
	}
	if c.MaxMessageBytes < 0 {
		errs = append(errs, fmt.Errorf("config: MaxMessageBytes %d is negative", c.MaxMessageBytes))
	}
	if e := c.Events; e.BatchSize < 0 || e.QueueSize < 0 || e.DedupSize < 0 || e.FlushInterval < 0 || e.CloseTimeout < 0 {
		errs = append(errs, fmt.Errorf("config: Events %+v: sizes and durations must not be negative", e))
	}
	if len(c.Bootstrap) == 0 && c.BootstrapEnvironment != "" {
		errs = append(errs, errors.New("config: BootstrapEnvironment is set without a Bootstrap document"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sdk config: %w", err)
	}
	return nil
}
