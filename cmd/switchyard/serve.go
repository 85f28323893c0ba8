package main

import (
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/certs"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/primary"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/internal/webhook"
	"github.com/switchyard/switchyard/server"
)

//go:embed demo.yaml
var demoDocument []byte

// serveConfig is the configuration of 'switchyard serve'.
type serveConfig struct {
	DB       string
	GRPCAddr string
	HTTPAddr string
	Demo     bool
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// GRPCReflection, when set, serves gRPC reflection on any listener
	// (true) or on none (false); unset, only on a loopback listener.
	GRPCReflection optionalBool
	// SyncMaxAge is how long an SDK sync stream lives before the server
	// ends it and the SDK reconnects (load rebalancing).
	SyncMaxAge time.Duration
	// BodyReadTimeout is how long an HTTP request body may take to arrive.
	BodyReadTimeout time.Duration
	// SyncRestartGrace is how long after a restart release convergence
	// waits for the SDKs connected before it to reconnect.
	SyncRestartGrace time.Duration
	// BootstrapAdminToken and BootstrapSDKKey replace the random secrets
	// created on an empty database (for automation).
	BootstrapAdminToken string
	BootstrapSDKKey     string
	// AuthThrottle is how many failed authentications a client address
	// may make (see auth.ThrottleConfig).
	AuthThrottle auth.ThrottleConfig
	// MaxStreamsPerKey is the most sync and event streams one key may hold
	// open; 0 means no limit.
	MaxStreamsPerKey int
	// SecretKeyFile holds the keys that encrypt webhook secrets; "" means
	// DB + ".key", created on first start.
	SecretKeyFile string
	// Webhooks configures the webhook deliveries: the retry horizon, the
	// backoff and whether private addresses may be targets.
	Webhooks webhook.Options
	// Config is the YAML file the other settings were read from, if any.
	Config string
	// TLS, when its Cert and Key are set, makes both listeners serve TLS
	// (mutual TLS when ClientCA is set too).
	TLS certs.ServerFiles
	// Store chooses the storage engine (serve_store.go).
	Store storeConfig
	// Events is where the event log is kept.
	Events eventsConfig
	// AuditRetention is how long audit events are kept; 0 keeps them all.
	AuditRetention time.Duration
}

// defaultServeConfig is DESIGN §5.
func defaultServeConfig() serveConfig {
	return serveConfig{DB: "switchyard.db", GRPCAddr: "127.0.0.1:9090", HTTPAddr: "127.0.0.1:8080", LogLevel: "info", LogFormat: "text", SyncMaxAge: syncer.DefaultMaxAge,
		AuthThrottle: auth.DefaultThrottle(), MaxStreamsPerKey: server.DefaultMaxStreamsPerKey,
		Webhooks:         webhook.Options{InitialBackoff: webhook.DefaultInitialBackoff, MaxBackoff: webhook.DefaultMaxBackoff, RetryHorizon: webhook.DefaultRetryHorizon},
		BodyReadTimeout:  server.DefaultBodyReadTimeout,
		SyncRestartGrace: syncer.DefaultRestartGrace,
		Store:            defaultStoreConfig(), Events: defaultEventsConfig(),
		AuditRetention: DefaultAuditRetention}
}

// validate checks the configuration before anything starts.
func (c serveConfig) validate() error {
	if c.DB == "" {
		return errors.New("--db must name a file")
	}
	for name, addr := range map[string]string{"--grpc-addr": c.GRPCAddr, "--http-addr": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: %w", name, addr, err)
		}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("--log-level %q: %w", c.LogLevel, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	if c.SyncMaxAge <= 0 {
		return fmt.Errorf("--sync-max-age %s: must be positive", c.SyncMaxAge)
	}
	if c.MaxStreamsPerKey < 0 {
		return fmt.Errorf("--max-streams-per-key %d: must not be negative", c.MaxStreamsPerKey)
	}
	if err := c.AuthThrottle.Validate(); err != nil {
		return fmt.Errorf("--auth-failures, --auth-failure-window, --auth-throttle-addresses: %w", err)
	}
	if c.BodyReadTimeout <= 0 {
		return fmt.Errorf("--body-read-timeout %s: must be positive", c.BodyReadTimeout)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.TLS.ClientCA != "" && c.TLS.Cert == "" {
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key")
	}
	if c.SyncRestartGrace <= 0 {
		return fmt.Errorf("--sync-restart-grace %s: must be positive", c.SyncRestartGrace)
	}
	if err := c.validateStore(); err != nil {
		return err
	}
	if err := c.validateEvents(); err != nil {
		return err
	}
	if err := c.validateAudit(); err != nil {
		return err
	}
	return c.validateWebhooks()
}

// serveLong is the help of 'serve'.
const serveLong = `Run the server: the gRPC API on --grpc-addr; the console, REST API, OFREP
and health checks on --http-addr.

Each setting comes from, first to last: the flag, the SWITCHYARD_<FLAG>
environment variable, the --config file (YAML, keys are the flag names,
e.g. "http-addr: 0.0.0.0:8080"), the default. An unknown key in the file is
an error. With --tls-cert and --tls-key both listeners serve TLS only; the
files are read again when they change (no restart).`

// newServeCmd is "switchyard serve".
func newServeCmd(c *cli) *cobra.Command { return serveCommand(c, serve) }

// serveCommand is "switchyard serve" starting the server with start once
// the configuration is read and valid.
func serveCommand(c *cli, start func(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error) *cobra.Command {
	cfg := defaultServeConfig()
	fs := cfg.flagSet()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long:  serveLong,
		Example: `  switchyard serve --demo
  switchyard serve --config /etc/switchyard/switchyard.yaml
  SWITCHYARD_HTTP_ADDR=0.0.0.0:8080 switchyard serve --tls-cert server.pem --tls-key server-key.pem`,
		Args:        argsNamed(),
		Annotations: map[string]string{noProfile: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Config != "" {
				if err := applyConfigFile(fs, cfg.Config); err != nil {
					return err
				}
			}
			if err := cfg.validate(); err != nil {
				return err
			}
			return start(cmd.Context(), cfg, c.stdout, c.stderr)
		},
	}
	cmd.Flags().AddFlagSet(fs)
	withoutGlobalFlags(cmd)
	return cmd
}

// flagSet returns the flags of 'serve', each bound to its field of cfg.
func (cfg *serveConfig) flagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.StringVar(&cfg.Config, "config", "", "YAML file of settings (keys are these flags' names); flags and variables win over it")
	fs.StringVar(&cfg.DB, "db", cfg.DB, "bbolt database file")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "HTTP listen address (console, REST, OFREP, health)")
	fs.BoolVar(&cfg.Demo, "demo", cfg.Demo, "import the demo document into the default project when it has no flags")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json (one object a line)")
	fs.Var(&cfg.GRPCReflection, "grpc-reflection", "serve gRPC reflection on any --grpc-addr (true) or on none (false); unset, only on a loopback one")
	fs.Lookup("grpc-reflection").NoOptDefVal = "true"
	fs.DurationVar(&cfg.SyncMaxAge, "sync-max-age", cfg.SyncMaxAge, "how long an SDK sync stream lives before the SDK reconnects (±10 % jitter)")
	fs.DurationVar(&cfg.BodyReadTimeout, "body-read-timeout", cfg.BodyReadTimeout, "how long an HTTP request body may take to arrive (then 408, connection closed)")
	fs.DurationVar(&cfg.SyncRestartGrace, "sync-restart-grace", cfg.SyncRestartGrace,
		"how long after a restart release convergence waits for the SDKs connected before it to reconnect")
	fs.StringVar(&cfg.BootstrapAdminToken, "bootstrap-admin-token", "", "admin token to create on an empty database instead of a random one")
	fs.StringVar(&cfg.BootstrapSDKKey, "bootstrap-sdk-key", "", "production SDK key to create on an empty database instead of a random one")
	fs.IntVar(&cfg.AuthThrottle.Failures, "auth-failures", cfg.AuthThrottle.Failures,
		"failed authentications a client address (the TCP peer) may make in a row before it gets 429 / RESOURCE_EXHAUSTED; 0 turns throttling off")
	fs.DurationVar(&cfg.AuthThrottle.Window, "auth-failure-window", cfg.AuthThrottle.Window,
		"time in which a throttled address regains all its --auth-failures (a token bucket)")
	fs.IntVar(&cfg.AuthThrottle.MaxAddresses, "auth-throttle-addresses", cfg.AuthThrottle.MaxAddresses,
		"client addresses the throttle remembers (the least recent beyond it are forgotten)")
	fs.IntVar(&cfg.MaxStreamsPerKey, "max-streams-per-key", cfg.MaxStreamsPerKey,
		"sync and OFREP event streams one key may hold open at once (more get 429 / RESOURCE_EXHAUSTED); 0 means no limit")
	cfg.registerWebhookFlags(fs)
	cfg.Store.registerStoreFlags(fs)
	cfg.registerEventFlags(fs)
	cfg.registerAuditFlags(fs)
	fs.StringVar(&cfg.TLS.Cert, "tls-cert", "", "PEM certificate (with chain) for both listeners; read again when the file changes")
	fs.StringVar(&cfg.TLS.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&cfg.TLS.ClientCA, "tls-client-ca", "", "PEM CA bundle: clients must present a certificate it signed (mutual TLS)")
	return fs
}

// serve runs the server with cfg until ctx ends.
func serve(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error {
	var err error
	var tlsConfig *tls.Config
	if cfg.TLS.Cert != "" {
		if tlsConfig, err = certs.Server(cfg.TLS); err != nil {
			return err
		}
	}
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(telemetry.LogHandler(cfg.logHandler(stderr, lvl)))
	// Tracing is configured by the standard OTEL_* variables, off without them.
	tracing, err := telemetry.Setup(ctx, os.Getenv)
	if err != nil {
		return err
	}
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(shutdownCtx); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}()

	keys, undoKeys, err := cfg.secretKeys(log)
	if err != nil {
		return err
	}
	backend, err := cfg.openBackend(ctx)
	if err != nil {
		undoKeys()
		return err
	}
	p, err := primary.Open(ctx, log, backend, domain.Options{SecretKeys: keys})
	if err != nil {
		undoKeys()
		return err
	}
	defer p.Close()
	st := p.Store

	if err := writeBootstrap(ctx, st, cfg, stdout); err != nil {
		return err
	}
	if cfg.Demo {
		if err := importDemo(ctx, st, log); err != nil {
			return err
		}
	}

	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen gRPC: %w", err)
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("listen HTTP: %w", err)
	}
	if tlsConfig != nil {
		grpcLis, httpLis = tls.NewListener(grpcLis, tlsConfig), tls.NewListener(httpLis, tlsConfig)
	}
	rtOpts := runtime.Options{
		Sync:     syncer.Options{MaxAge: cfg.SyncMaxAge, RestartGrace: cfg.SyncRestartGrace},
		Webhooks: cfg.Webhooks,
	}
	rtOpts.AuditRetention = cfg.AuditRetention
	opts := []server.Option{server.WithAuthThrottle(cfg.AuthThrottle), server.WithMaxStreamsPerKey(cfg.MaxStreamsPerKey),
		server.WithBodyReadTimeout(cfg.BodyReadTimeout)}
	switch {
	case !cfg.GRPCReflection.Given:
	case cfg.GRPCReflection.Value:
		opts = append(opts, server.WithGRPCReflection())
	default:
		opts = append(opts, server.WithoutGRPCReflection())
	}
	if tracing.Enabled {
		opts = append(opts, server.WithTracing(tracing.Provider, tracing.Propagator))
		rtOpts.Tracing = tracing.Provider
	}
	events, closeEvents, err := cfg.openEvents(ctx, backend, log)
	if err != nil {
		grpcLis.Close()
		httpLis.Close()
		return err
	}
	defer closeEvents()
	rtOpts.Events = events
	if b, ok := backend.(*etcdBackend); ok {
		host, _ := os.Hostname()
		rtOpts.Elector = etcdElector{store: b.Store, id: fmt.Sprintf("%s:%d %s", host, os.Getpid(), cfg.GRPCAddr)}
		rtOpts.Maintenance = cfg.Store.Etcd.compaction(b.Store)
		rtOpts.Consumer.MaxWrites = b.Store.MaxOps() // each Step one etcd transaction
	}
	if err := p.Build(rtOpts, opts...); err != nil {
		grpcLis.Close()
		httpLis.Close()
		return err
	}
	err = p.Run(ctx, grpcLis, httpLis)
	log.Info("stopped")
	return err
}

// logHandler is the slog handler of --log-format at level lvl.
func (c serveConfig) logHandler(w io.Writer, lvl slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// writeBootstrap bootstraps an empty database, prints the secrets once and
// writes them to a 0600 file beside the database.
func writeBootstrap(ctx context.Context, st *domain.Store, cfg serveConfig, stdout io.Writer) error {
	creds, created, err := bootstrap.Run(ctx, st, bootstrap.Credentials{AdminToken: cfg.BootstrapAdminToken, SDKKey: cfg.BootstrapSDKKey})
	if err != nil || !created {
		return err
	}
	path := cfg.DB + ".credentials.json"
	data, _ := json.MarshalIndent(creds, "", "  ")
	if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write bootstrap credentials: %w", err)
	}
	fmt.Fprintf(stdout, `Bootstrapped an empty database: project "default" with environments production and staging.
These secrets are shown once (also written to %s, mode 0600):
  admin token:            %s
  SDK key (production):   %s
Console: http://%s/ (sign in with the admin token)
`, path, creds.AdminToken, creds.SDKKey, cfg.HTTPAddr)
	return nil
}

// importDemo imports the embedded demo document into the default project
// when that project has no flags yet.
func importDemo(ctx context.Context, st *domain.Store, log *slog.Logger) error {
	if p, ok := st.State().Project("default"); ok && len(p.Document().Flags) > 0 {
		return nil
	}
	doc, err := model.Parse(demoDocument)
	if err != nil {
		return fmt.Errorf("demo document: %w", err)
	}
	start := time.Now()
	if _, err := st.Update(ctx, domain.Actor{Name: "demo"}, func(tx *domain.Tx) error {
		_, err := tx.Import(doc, false)
		return err
	}); err != nil {
		return fmt.Errorf("import demo document: %w", err)
	}
	log.Info("imported demo document", "project", doc.Project, "flags", len(doc.Flags), "took", time.Since(start))
	return nil
}
