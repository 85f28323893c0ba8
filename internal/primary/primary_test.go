package primary_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/primary"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/server"
)

// open opens a primary on a new bbolt file and bootstraps it.
func open(t *testing.T) (*primary.Primary, *boltstore.Store, bootstrap.Credentials) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchyard.db")
	b, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := primary.Open(t.Context(), slog.New(slog.DiscardHandler), b, domain.Options{SecretKeys: domaintest.SecretKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		domaintest.Check(t, path)
	})
	creds, _, err := bootstrap.Run(t.Context(), p.Store, bootstrap.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	return p, b, creds
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

func TestRunServesTheStoreUntilCanceled(t *testing.T) {
	p, b, creds := open(t)
	if err := p.Build(runtime.Options{Events: boltlog.New(b, eventlog.Options{})}); err != nil {
		t.Fatal(err)
	}
	if p.Rulesets.Get("default", "production") == nil {
		t.Fatal("no ruleset of default/production after Open and bootstrap")
	}
	grpcLis, httpLis := listen(t), listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, grpcLis, httpLis) }()

	req, err := http.NewRequest("GET", "http://"+httpLis.Addr().String()+"/api/v1/projects/default", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+creds.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/projects/default = %d %s, want 200", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil after cancel", err)
	}
}

func TestBuildRefusesWhatTheServerRefuses(t *testing.T) {
	p, b, _ := open(t)
	if err := p.Build(runtime.Options{}); err == nil {
		t.Error("Build without an event log = nil, want an error")
	}
	if err := p.Build(runtime.Options{Events: boltlog.New(b, eventlog.Options{})}, server.WithMaxStreamsPerKey(-1)); err == nil {
		t.Error("Build(WithMaxStreamsPerKey(-1)) = nil, want an error")
	}
	if p.Runtime != nil || p.Server != nil {
		t.Error("a failed Build left a runtime or server behind")
	}
}
