package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/primary"
	"github.com/switchyard/switchyard/internal/relay"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/server"
)

// target is a server to measure.
type target struct {
	grpcAddr   string
	httpURL    string
	adminToken string
	sdkKey     string
	store      *domain.Store // in-process servers only
	stop       func() error
}

// startServer runs a server in this process, on loopback, over a bbolt
// file in a temporary directory.
func startServer(ctx context.Context) (*target, error) {
	dir, err := os.MkdirTemp("", "switchyard-propagation-")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	backend, err := boltstore.Open(filepath.Join(dir, "switchyard.db"), boltstore.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p, err := primary.Open(ctx, log, backend, domain.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	st := p.Store
	fail := func(err error) (*target, error) {
		p.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	creds, _, err := bootstrap.Run(ctx, st, bootstrap.Credentials{})
	if err != nil {
		return fail(err)
	}
	// Every simulated SDK streams with the one bootstrap key: no cap.
	if err := p.Build(runtime.Options{Events: boltlog.New(backend, eventlog.Options{})}, server.WithMaxStreamsPerKey(0)); err != nil {
		return fail(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		grpcLis.Close()
		return fail(err)
	}
	serveCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(serveCtx, grpcLis, httpLis) }()
	return &target{
		grpcAddr:   grpcLis.Addr().String(),
		httpURL:    "http://" + httpLis.Addr().String(),
		adminToken: creds.AdminToken,
		sdkKey:     creds.SDKKey,
		store:      st,
		stop: func() error {
			cancel()
			err := <-done
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			os.RemoveAll(dir)
			return err
		},
	}, nil
}

// startRelay runs, in this process and on loopback, a relay following
// primary's production environment with a new relay key, and waits until
// it serves the primary's revision to primary's SDK key. The target it
// returns streams from the relay and writes to the primary.
func startRelay(ctx context.Context, primary *target) (*target, error) {
	var key struct {
		Secret string `json:"secret"`
	}
	err := primary.rest(ctx, "POST", "/api/v1/keys", map[string]any{
		"name": "propagation-relay", "kind": "relay", "project": "default", "environments": []string{"production"},
	}, &key)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "switchyard-propagation-relay-")
	if err != nil {
		return nil, err
	}
	r, err := relay.New(relay.Config{
		Upstream: primary.grpcAddr,
		RelayKey: key.Secret,
		DataDir:  dir,
		// Every simulated SDK streams with the one SDK key: no cap.
		Server: []server.Option{server.WithMaxStreamsPerKey(0)},
		Log:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx, grpcLis, httpLis) }()
	t := *primary
	t.grpcAddr = grpcLis.Addr().String()
	t.stop = func() error {
		cancel()
		err := <-done
		os.RemoveAll(dir)
		return err
	}
	relayURL := "http://" + httpLis.Addr().String()
	for !relayServes(ctx, relayURL, primary.sdkKey) {
		select {
		case <-ctx.Done():
			t.stop()
			return nil, fmt.Errorf("the relay did not serve the SDK key: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return &t, nil
}

// relayServes reports whether the relay at url answers an OFREP bulk
// evaluation for key: it has the environment's ruleset and key hashes.
func relayServes(ctx context.Context, url, key string) bool {
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/ofrep/v1/evaluate/flags", strings.NewReader(`{"context":{"targetingKey":"probe"}}`))
	if err != nil {
		return false
	}
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// rest sends an admin request and decodes the JSON answer into out (if
// not nil); any status but 200 is an error.
func (t *target) rest(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.httpURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s = %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// ensureFlag creates the probe flag in the default project if it is
// missing and sets its production targeting.
func (t *target) ensureFlag(ctx context.Context, key string, on bool) error {
	err := t.rest(ctx, "GET", "/api/v1/projects/default/flags/"+key, nil, nil)
	if err != nil {
		if err := t.rest(ctx, "POST", "/api/v1/projects/default/flags", map[string]any{"key": key, "type": "bool"}, nil); err != nil {
			return err
		}
	}
	return t.toggle(ctx, key, on)
}

// toggle sets the probe flag on or off in production.
func (t *target) toggle(ctx context.Context, key string, on bool) error {
	return t.rest(ctx, "PATCH", "/api/v1/projects/default/flags/"+key+"/environments/production",
		map[string]any{"enabled": on}, nil)
}
