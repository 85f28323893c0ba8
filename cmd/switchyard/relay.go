package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/relay"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/sdk"
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
}

// defaultRelayConfig listens on loopback, beside a primary's defaults.
func defaultRelayConfig() relayConfig {
	return relayConfig{GRPCAddr: "127.0.0.1:9091", HTTPAddr: "127.0.0.1:8081", DataDir: "switchyard-relay", LogLevel: "info", SyncMaxAge: syncer.DefaultMaxAge}
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
	return errors.Join(errs...)
}

// newRelayCmd is "switchyard relay": a read-tier server that follows a
// primary (or another relay) and serves SDKs and apps.
func newRelayCmd(c *cli) *cobra.Command {
	cfg := defaultRelayConfig()
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run a relay: follow a primary or a relay, serve SDKs, OFREP, Evaluate and availability",
		Long: `Run a relay: it follows the upstream's sync streams with a relay key (one per
environment of the key), keeps the last ruleset and key hashes in --data-dir,
and serves SDK sync streams, OFREP, gRPC Evaluate and version availability.
While the upstream is out of reach it serves what it has and /healthz says
"stale". TLS to the upstream: --tls-ca, and --tls-cert/--tls-key for mutual
TLS. Every flag is also SWITCHYARD_<FLAG>.`,
		Args: argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(); err != nil {
				return usageError{err}
			}
			var lvl slog.Level
			lvl.UnmarshalText([]byte(cfg.LogLevel))
			log := slog.New(telemetry.LogHandler(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: lvl})))
			rc := relay.Config{
				Upstream: cfg.Upstream, RelayKey: cfg.RelayKey, DataDir: cfg.DataDir,
				Sync: syncer.Options{MaxAge: cfg.SyncMaxAge}, Log: log,
			}
			if tls := c.cc.TLS; tls.CA != "" || tls.Cert != "" {
				t, err := sdk.TLSFiles(tls.CA, tls.Cert, tls.Key)
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
			return r.Run(cmd.Context(), grpcLis, httpLis)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Upstream, "upstream", "", "gRPC address (host:port) of the primary or of the relay to follow")
	f.StringVar(&cfg.RelayKey, "relay-key", "", "relay key to follow the upstream with")
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address (SDK sync, Evaluate, availability)")
	f.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "HTTP listen address (OFREP, availability, /healthz, /metrics)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the relay's cache: last rulesets and key hashes")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.DurationVar(&cfg.SyncMaxAge, "sync-max-age", cfg.SyncMaxAge, "how long a downstream sync stream lives before the SDK reconnects")
	return cmd
}
