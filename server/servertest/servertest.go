// Package servertest runs real Switchyard servers on loopback for the tests
// of other packages: a bbolt file in a test directory, gRPC and HTTP on
// 127.0.0.1, the bootstrap credentials, and REST helpers. The server is
// the primary 'switchyard serve' runs (package primary).
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/boltlog"
	"github.com/switchyard/switchyard/internal/primary"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/server"
)

// Options configures Start. The zero value is ready to use.
type Options struct {
	// Path is the bbolt file; "" means a new file in t.TempDir().
	Path string
	// GRPCAddr and HTTPAddr are the listen addresses; "" means
	// 127.0.0.1:0.
	GRPCAddr string
	HTTPAddr string
	// Server are options for server.New.
	Server []server.Option
	// Runtime are the options of the server's background work.
	Runtime runtime.Options
	// Creds are the credentials of a database bootstrapped earlier (Start
	// cannot read its secrets back); Restart passes them on.
	Creds bootstrap.Credentials
	// Log receives the server's log; nil discards it.
	Log *slog.Logger
	// Now is the store's clock; nil means time.Now.
	Now func() time.Time
	// Events opens the server's event log over its store (called again on
	// Restart); nil means a boltlog in the store's file.
	Events func(st *domain.Store) eventlog.Log
}

// Server is a running server.
type Server struct {
	// HTTPURL is the base URL of REST and OFREP, e.g. http://127.0.0.1:4321.
	HTTPURL string
	// GRPCAddr is the gRPC address, e.g. 127.0.0.1:4322.
	GRPCAddr string
	// Conn is a gRPC client connection to the server.
	Conn *grpc.ClientConn
	// Store is the server's store.
	Store *domain.Store
	// Events is the server's event log.
	Events eventlog.Log
	// Creds are the bootstrap admin token and production SDK key.
	Creds bootstrap.Credentials
	// Rulesets are the compiled rulesets the server evaluates on.
	Rulesets *snapshot.Set
	// Path is the bbolt file.
	Path string

	opts    Options
	t       testing.TB
	stopped bool
	cancel  context.CancelFunc
	done    chan error
}

// Start bootstraps a database (or opens opts.Path) and serves it until
// Stop or the end of the test.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "switchyard.db")
	}
	if opts.GRPCAddr == "" {
		opts.GRPCAddr = "127.0.0.1:0"
	}
	if opts.HTTPAddr == "" {
		opts.HTTPAddr = "127.0.0.1:0"
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	file, err := boltstore.Open(opts.Path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := primary.Open(context.Background(), log, file, domain.Options{Now: opts.Now, SecretKeys: domaintest.SecretKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Closing the store earlier (Stop) is fine; the file must be consistent.
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
		domaintest.Check(t, opts.Path)
	})
	st := p.Store
	creds, created, err := bootstrap.Run(context.Background(), st, opts.Creds)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		creds = opts.Creds
	}
	opts.Creds = creds
	var events eventlog.Log = boltlog.New(file, eventlog.Options{})
	if opts.Events != nil {
		events = opts.Events(st)
	}
	rtOpts := opts.Runtime
	rtOpts.Events = events
	if err := p.Build(rtOpts, opts.Server...); err != nil {
		t.Fatal(err)
	}
	grpcLis := listen(t, opts.GRPCAddr)
	httpLis := listen(t, opts.HTTPAddr)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		HTTPURL:  "http://" + httpLis.Addr().String(),
		GRPCAddr: grpcLis.Addr().String(),
		Store:    st,
		Events:   events,
		Creds:    creds,
		Rulesets: p.Rulesets,
		Path:     opts.Path,
		opts:     opts,
		t:        t,
		cancel:   cancel,
		done:     make(chan error, 1),
	}
	// A restart listens where the server was.
	s.opts.GRPCAddr, s.opts.HTTPAddr = s.GRPCAddr, httpLis.Addr().String()
	go func() { s.done <- p.Run(ctx, grpcLis, httpLis) }()
	s.Conn, err = grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// listen listens on addr, retrying for a while when a restarted server's
// port is not free yet.
func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lis, err := net.Listen("tcp", addr)
		if err == nil {
			return lis
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server, waits for it (up to 15 s) and closes its store,
// so that the file can be opened again. Stopping twice is fine.
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.Conn.Close()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		s.t.Error("server did not stop within 15 s")
	}
	if err := s.Store.Close(); err != nil {
		s.t.Errorf("close store: %v", err)
	}
}

// Restart stops the server and starts a new one on the same file and
// addresses, with the same credentials.
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	s.Stop()
	return Start(t, s.opts)
}

// Response is an HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object, failing the test otherwise.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %s", r.Status, err, r.Body)
	}
	return m
}

// Call sends an HTTP request to the server with key as bearer token (""
// for none). body is sent as is when it is a string or []byte, and as JSON
// otherwise.
func (s *Server) Call(t testing.TB, method, path, key string, body any) Response {
	t.Helper()
	var header []string
	if key != "" {
		header = []string{"Authorization", "Bearer " + key}
	}
	return Do(t, method, s.HTTPURL+path, body, header...)
}

// Do sends an HTTP request to url with the given header name/value pairs
// and reads the whole answer. body is sent as is when it is a string or
// []byte, and as JSON otherwise.
func Do(t testing.TB, method, url string, body any, header ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Admin sends a request with the admin token and fails the test unless the
// server answers 200; it returns the decoded JSON object.
func (s *Server) Admin(t testing.TB, method, path string, body any) map[string]any {
	t.Helper()
	r := s.Call(t, method, path, s.Creds.AdminToken, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s %s = %d %s, want 200", method, path, r.Status, r.Body)
	}
	return r.JSON(t)
}

// SDKKey creates a server SDK key for an environment and returns its
// secret.
func (s *Server) SDKKey(t testing.TB, project, environment string) string {
	t.Helper()
	resp := s.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": "sdk-" + project + "-" + environment, "kind": "sdk", "project": project, "environment": environment,
	})
	secret, _ := resp["secret"].(string)
	if secret == "" {
		t.Fatalf("POST /api/v1/keys answered no secret: %v", resp)
	}
	return secret
}
