package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/eventlog/jetstream"
)

// eventsConfig is where 'serve' keeps the event log: the bbolt file
// (default) or a NATS JetStream stream.
type eventsConfig struct {
	// Kind is "bbolt" or "nats".
	Kind string
	// NATSURL is the comma-separated server URLs, as nats.Connect takes
	// them.
	NATSURL string
	// NATSStream and NATSReplicas name and replicate the stream.
	NATSStream   string
	NATSReplicas int
	// NATSCreds is a credentials file (JWT and NKey seed).
	NATSCreds string
	// NATSCA, NATSCert and NATSKey are the PEM files of TLS: the CA to
	// trust, and the client certificate and key to present.
	NATSCA, NATSCert, NATSKey string
}

// defaultEventsConfig keeps events in the bbolt file.
func defaultEventsConfig() eventsConfig {
	return eventsConfig{Kind: "bbolt", NATSStream: jetstream.DefaultStream, NATSReplicas: 1}
}

// registerEventFlags registers the serve flags of the event log on fs.
func (c *serveConfig) registerEventFlags(fs *pflag.FlagSet) {
	e := &c.Events
	fs.StringVar(&e.Kind, "events", e.Kind, "where events are kept: bbolt (the --db file) or nats (a JetStream stream, see --nats-url)")
	fs.StringVar(&e.NATSURL, "nats-url", "", "NATS server URLs, comma-separated (with --events nats)")
	fs.StringVar(&e.NATSStream, "nats-stream", e.NATSStream, "JetStream stream of the events")
	fs.IntVar(&e.NATSReplicas, "nats-replicas", e.NATSReplicas, "replicas of the events stream (3 survives the loss of a node of a 3-node cluster)")
	fs.StringVar(&e.NATSCreds, "nats-creds", "", "NATS credentials file (JWT and NKey seed)")
	fs.StringVar(&e.NATSCA, "nats-tls-ca", "", "PEM CA bundle to trust for NATS TLS")
	fs.StringVar(&e.NATSCert, "nats-tls-cert", "", "PEM client certificate to present to NATS")
	fs.StringVar(&e.NATSKey, "nats-tls-key", "", "PEM private key of --nats-tls-cert")
}

// validateEvents checks the event log settings.
func (c serveConfig) validateEvents() error {
	e := c.Events
	switch e.Kind {
	case "bbolt":
		if e.NATSURL != "" {
			return fmt.Errorf("--nats-url needs --events nats")
		}
	case "nats":
		if strings.TrimSpace(e.NATSURL) == "" {
			return fmt.Errorf("--events nats needs --nats-url")
		}
		if e.NATSReplicas < 1 || e.NATSReplicas > 5 {
			return fmt.Errorf("--nats-replicas %d: want 1 to 5", e.NATSReplicas)
		}
		if (e.NATSCert == "") != (e.NATSKey == "") {
			return fmt.Errorf("--nats-tls-cert and --nats-tls-key go together")
		}
	default:
		return fmt.Errorf("--events %q: want bbolt or nats", e.Kind)
	}
	return nil
}

// openEvents opens the event log of cfg beside the store engine backend; close releases what it
// holds once the server has stopped.
func (c serveConfig) openEvents(ctx context.Context, backend domain.Backend, log *slog.Logger) (l eventlog.Log, close func(), err error) {
	e := c.Events
	if e.Kind != "nats" {
		// The store's bbolt file, or the local --db file beside etcd.
		f, ok := backend.(boltlog.File)
		if !ok {
			return nil, nil, fmt.Errorf("--events bbolt: the storage engine has no local bbolt file")
		}
		return boltlog.New(f, eventlog.Options{}), func() {}, nil
	}
	opts := []nats.Option{nats.Name("switchyard"), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
	}
	if e.NATSCreds != "" {
		opts = append(opts, nats.UserCredentials(e.NATSCreds))
	}
	if e.NATSCA != "" {
		opts = append(opts, nats.RootCAs(e.NATSCA))
	}
	if e.NATSCert != "" {
		opts = append(opts, nats.ClientCert(e.NATSCert, e.NATSKey))
	}
	nc, err := nats.Connect(e.NATSURL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats %s: %w", e.NATSURL, err)
	}
	jl, err := jetstream.New(ctx, nc, jetstream.Config{Stream: e.NATSStream, Replicas: e.NATSReplicas}, eventlog.Options{})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return jl, nc.Close, nil
}
