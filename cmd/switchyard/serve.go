package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/syncer"
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
	// SyncMaxAge is how long an SDK sync stream lives before the server
	// ends it and the SDK reconnects (load rebalancing).
	SyncMaxAge time.Duration
	// BootstrapAdminToken and BootstrapSDKKey replace the random secrets
	// created on an empty database (for automation).
	BootstrapAdminToken string
	BootstrapSDKKey     string
}

// defaultServeConfig is DESIGN §5.
func defaultServeConfig() serveConfig {
	return serveConfig{DB: "switchyard.db", GRPCAddr: "127.0.0.1:9090", HTTPAddr: "127.0.0.1:8080", LogLevel: "info", SyncMaxAge: syncer.DefaultMaxAge}
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
	if c.SyncMaxAge <= 0 {
		return fmt.Errorf("--sync-max-age %s: must be positive", c.SyncMaxAge)
	}
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := defaultServeConfig()
	fs := newFlagSet("serve", "serve [flags]", stderr)
	fs.StringVar(&cfg.DB, "db", cfg.DB, "bbolt database file")
	fs.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "HTTP listen address (console, REST, OFREP, health)")
	fs.BoolVar(&cfg.Demo, "demo", cfg.Demo, "import the demo document into the default project when it has no flags")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.DurationVar(&cfg.SyncMaxAge, "sync-max-age", cfg.SyncMaxAge, "how long an SDK sync stream lives before the SDK reconnects (±10 % jitter)")
	fs.StringVar(&cfg.BootstrapAdminToken, "bootstrap-admin-token", "", "admin token to create on an empty database instead of a random one")
	fs.StringVar(&cfg.BootstrapSDKKey, "bootstrap-sdk-key", "", "production SDK key to create on an empty database instead of a random one")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	var lvl slog.Level
	lvl.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	rulesets := snapshot.NewSet(log)
	st, err := store.Open(cfg.DB, store.Options{OnCommit: rulesets.Apply})
	if err != nil {
		return err
	}
	defer st.Close()
	rulesets.Apply(st.State(), nil)

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
	srv, err := server.New(log, st, rulesets, server.WithSyncMaxAge(cfg.SyncMaxAge))
	if err != nil {
		grpcLis.Close()
		httpLis.Close()
		return err
	}
	err = srv.Serve(ctx, grpcLis, httpLis)
	log.Info("stopped")
	return err
}

// writeBootstrap bootstraps an empty database, prints the secrets once and
// writes them to a 0600 file beside the database.
func writeBootstrap(ctx context.Context, st *store.Store, cfg serveConfig, stdout io.Writer) error {
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
func importDemo(ctx context.Context, st *store.Store, log *slog.Logger) error {
	if p, ok := st.State().Project("default"); ok && len(p.Document().Flags) > 0 {
		return nil
	}
	doc, err := model.Parse(demoDocument)
	if err != nil {
		return fmt.Errorf("demo document: %w", err)
	}
	start := time.Now()
	if _, err := st.Update(ctx, store.Actor{Name: "demo"}, func(tx *store.Tx) error {
		_, err := tx.Import(doc, false)
		return err
	}); err != nil {
		return fmt.Errorf("import demo document: %w", err)
	}
	log.Info("imported demo document", "project", doc.Project, "flags", len(doc.Flags), "took", time.Since(start))
	return nil
}
