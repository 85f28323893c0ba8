package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/internal/relay"
	"github.com/switchyard/switchyard/internal/relay/spool"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server"
)

// relayConfig is the configuration of 'switchyard relay'.
type relayConfig struct {
	Upstream   string
	RelayKey   string
	GRPCAddr   string
	HTTPAddr   string
	DataDir    string
	LogLevel   string
	SyncMaxAge time.Duration
	// MaxStreamsPerKey is the most sync and event streams one key may hold
	// open at the relay; 0 means no limit.
	MaxStreamsPerKey int
	// SpoolMaxBytes and SpoolMaxBatches bound the event spool in DataDir;
	// beyond either the oldest batches are dropped.
	SpoolMaxBytes   int64
	SpoolMaxBatches int
	// Config is the YAML file the other settings were read from, if any.
	Config string
	// TLS are the files of TLS to the upstream (the global --tls-ca,
	// --tls-cert and --tls-key); none means plaintext.
	TLS struct{ CA, Cert, Key string }
}

// defaultRelayConfig listens on loopback, beside a primary's defaults.
func defaultRelayConfig() relayConfig {
	return relayConfig{GRPCAddr: "127.0.0.1:9091", HTTPAddr: "127.0.0.1:8081", DataDir: "switchyard-relay", LogLevel: "info", SyncMaxAge: syncer.DefaultMaxAge,
		MaxStreamsPerKey: server.DefaultMaxStreamsPerKey, SpoolMaxBytes: spool.DefaultMaxBytes, SpoolMaxBatches: spool.DefaultMaxBatches}
}

// validate checks the configuration before anything starts; a wrong one
// is a usage error naming the flag.
func (c relayConfig) validate() error {
	var errs []error
	if c.Upstream == "" {
		errs = append(errs, errors.New("--upstream: is required (host:port of the primary's or another relay's gRPC port)"))
	}
	if c.RelayKey == "" {
		errs = append(errs, errors.New("--relay-key: is required (a key of kind relay)"))
	}
	for name, addr := range map[string]string{"--upstream": c.Upstream, "--grpc-addr": c.GRPCAddr, "--http-addr": c.HTTPAddr} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, addr, err))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir: must name a directory"))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: %w", c.LogLevel, err))
	}
	if c.SyncMaxAge <= 0 {
		errs = append(errs, fmt.Errorf("--sync-max-age %s: must be positive", c.SyncMaxAge))
	}
	if c.MaxStreamsPerKey < 0 {
		errs = append(errs, fmt.Errorf("--max-streams-per-key %d: must not be negative", c.MaxStreamsPerKey))
	}
	if c.SpoolMaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("--spool-max-bytes %d: must be positive", c.SpoolMaxBytes))
	}
	if c.SpoolMaxBatches <= 0 {
		errs = append(errs, fmt.Errorf("--spool-max-batches %d: must be positive", c.SpoolMaxBatches))
	}
	return errors.Join(errs...)
}

// relayLong is the help of 'relay'.
const relayLong = `Run a relay: it follows the upstream's sync streams with a relay key (one per
environment of the key), keeps the last ruleset and key hashes in --data-dir,
and serves SDK sync streams, OFREP, gRPC Evaluate and version availability.
While the upstream is out of reach it serves what it has and /healthz says
"stale"; events sent to it wait in --data-dir (bounded by --spool-max-bytes
and --spool-max-batches, the oldest dropped first). TLS to the upstream:
--tls-ca, and --tls-cert/--tls-key for mutual TLS.

Each setting comes from, first to last: the flag, the SWITCHYARD_<FLAG>
environment variable, the --config file (YAML, keys are the flag names,
e.g. "upstream: primary.internal:9090"), the default. An unknown key in the
file is an error.`

// newRelayCmd is "switchyard relay": a read-tier server that follows a
// primary (or another relay) and serves SDKs and apps.
func newRelayCmd(c *cli) *cobra.Command { return relayCommand(c, runRelay) }

// relayCommand is "switchyard relay" starting the relay with start once
// the configuration is read and valid.
func relayCommand(c *cli, start func(ctx context.Context, cfg relayConfig, stderr io.Writer) error) *cobra.Command {
	cfg := defaultRelayConfig()
	fs := cfg.flagSet()
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run a relay: follow a primary or a relay, serve SDKs, OFREP, Evaluate and availability",
		Long:  relayLong,
		Example: `  switchyard relay --upstream primary.internal:9090 --relay-key syr_… --data-dir /var/lib/switchyard-relay
  switchyard relay --config /etc/switchyard/relay.yaml`,
		Args:        argsNamed(),
		Annotations: map[string]string{noProfile: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Config != "" {
				// The file may name the TLS files too: they are the
				// global flags, which the relay uses for its upstream.
				file := pflag.NewFlagSet(fs.Name(), pflag.ContinueOnError)
				file.AddFlagSet(fs)
				for _, name := range []string{"tls-ca", "tls-cert", "tls-key"} {
					file.AddFlag(cmd.Flags().Lookup(name))
				}
				if err := applyConfigFile(file, cfg.Config); err != nil {
					return err
				}
			}
			cfg.TLS.CA, cfg.TLS.Cert, cfg.TLS.Key = c.cc.TLS.CA, c.cc.TLS.Cert, c.cc.TLS.Key
			if err := cfg.validate(); err != nil {
				return usageError{err}
			}
			return start(cmd.Context(), cfg, c.stderr)
		},
	}
	cmd.Flags().AddFlagSet(fs)
	withoutGlobalFlags(cmd, "tls-ca", "tls-cert", "tls-key")
	return cmd
}

// flagSet returns the flags of 'relay', each bound to its field of cfg.
func (cfg *relayConfig) flagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("relay", pflag.ContinueOnError)
	fs.StringVar(&cfg.Config, "config", "", "YAML file of settings (keys are these flags' names); flags and variables win over it")
	fs.StringVar(&cfg.Upstream, "upstream", "", "gRPC address (host:port) of the primary or of the relay to follow")
	fs.StringVar(&cfg.RelayKey, "relay-key", "", "relay key to follow the upstream with")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address (SDK sync, Evaluate, availability, events)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "HTTP listen address (OFREP, availability, events, /healthz, /metrics)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the relay's cache (last rulesets and key hashes) and event spool")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.DurationVar(&cfg.SyncMaxAge, "sync-max-age", cfg.SyncMaxAge, "how long a downstream sync stream lives before the SDK reconnects")
	fs.IntVar(&cfg.MaxStreamsPerKey, "max-streams-per-key", cfg.MaxStreamsPerKey,
		"sync and OFREP event streams one key may hold open at once (more get 429 / RESOURCE_EXHAUSTED); 0 means no limit")
	fs.Int64Var(&cfg.SpoolMaxBytes, "spool-max-bytes", cfg.SpoolMaxBytes,
		"most bytes of events the spool keeps while the upstream does not take them (the oldest are dropped beyond it)")
	fs.IntVar(&cfg.SpoolMaxBatches, "spool-max-batches", cfg.SpoolMaxBatches,
		"most event batches the spool keeps while the upstream does not take them (the oldest are dropped beyond it)")
	return fs
}

// runRelay runs the relay with cfg until ctx ends.
func runRelay(ctx context.Context, cfg relayConfig, stderr io.Writer) error {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(telemetry.LogHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})))
	rc := relay.Config{
		Upstream: cfg.Upstream, RelayKey: cfg.RelayKey, DataDir: cfg.DataDir,
		Sync:   syncer.Options{MaxAge: cfg.SyncMaxAge},
		Server: []server.Option{server.WithMaxStreamsPerKey(cfg.MaxStreamsPerKey)},
		Events: spool.Options{MaxBytes: cfg.SpoolMaxBytes, MaxBatches: cfg.SpoolMaxBatches},
		Log:    log,
	}
	if cfg.TLS.CA != "" || cfg.TLS.Cert != "" {
		t, err := sdk.TLSFiles(cfg.TLS.CA, cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			return err
		}
		rc.TLS = t
	}
	r, err := relay.New(rc)
	if err != nil {
		return err
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
	log.Info("relay", "upstream", cfg.Upstream, "grpc", grpcLis.Addr().String(), "http", httpLis.Addr().String(), "data_dir", cfg.DataDir)
	return r.Run(ctx, grpcLis, httpLis)
}
