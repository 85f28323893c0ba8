package server_test

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
	"google.golang.org/grpc/metadata"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/server"
)

// testServer is a real server on loopback over a real bbolt file.
type testServer struct {
	httpURL string
	conn    *grpc.ClientConn
	store   *store.Store
	creds   bootstrap.Credentials
	stop    func()
}

// startServer bootstraps a database in a temporary directory and serves it
// on 127.0.0.1 until the test ends.
func startServer(t testing.TB) *testServer {
	t.Helper()
	return startServerAt(t, filepath.Join(t.TempDir(), "switchyard.db"))
}

func startServerAt(t testing.TB, path string) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rulesets := snapshot.NewSet(log)
	st := storetest.Open(t, path, store.Options{OnCommit: rulesets.Apply})
	rulesets.Apply(st.State(), nil)
	creds, _, err := bootstrap.Run(context.Background(), st, bootstrap.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(log, st, rulesets)
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, grpcLis, httpLis) }()
	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{httpURL: "http://" + httpLis.Addr().String(), conn: conn, store: st, creds: creds}
	stopped := false
	ts.stop = func() {
		if stopped {
			return
		}
		stopped = true
		conn.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop within 15 s")
		}
	}
	t.Cleanup(ts.stop)
	return ts
}

// rpcContext carries a key as gRPC metadata.
func rpcContext(key string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
}

// response is an HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// call sends an HTTP request with a key in the given header ("" for none).
func (ts *testServer) call(t testing.TB, method, path, header, key string, body any, extra ...string) response {
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
	req, err := http.NewRequest(method, ts.httpURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch header {
	case "":
	case "Authorization":
		req.Header.Set("Authorization", "Bearer "+key)
	default:
		req.Header.Set(header, key)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
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
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// admin sends an HTTP request with the admin token.
func (ts *testServer) admin(t testing.TB, method, path string, body any) response {
	t.Helper()
	return ts.call(t, method, path, "Authorization", ts.creds.AdminToken, body)
}

// mustAdmin sends an admin request and fails the test unless it answers 200.
func (ts *testServer) mustAdmin(t testing.TB, method, path string, body any) map[string]any {
	t.Helper()
	r := ts.admin(t, method, path, body)
	if r.status != http.StatusOK {
		t.Fatalf("%s %s = %d %s, want 200", method, path, r.status, r.body)
	}
	return r.json(t)
}

// yamlToJSON converts a YAML document to the JSON the REST API takes.
func yamlToJSON(t testing.TB, data []byte) []byte {
	t.Helper()
	doc, err := model.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := model.Encode(doc, "json")
	if err != nil {
		t.Fatal(err)
	}
	return out
}
