package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/server/servertest"
)

// testServer is a real server on loopback over a real bbolt file.
type testServer struct {
	httpURL string
	conn    *grpc.ClientConn
	store   *domain.Store
	events  eventlog.Log
	creds   bootstrap.Credentials
	stop    func()
}

// startServer bootstraps a database in a temporary directory and serves it
// on 127.0.0.1 until the test ends.
func startServer(t testing.TB) *testServer {
	t.Helper()
	return wrap(servertest.Start(t, servertest.Options{}))
}

// wrap gives a servertest.Server the short names this package's tests use.
func wrap(s *servertest.Server) *testServer {
	return &testServer{httpURL: s.HTTPURL, conn: s.Conn, store: s.Store, events: s.Events, creds: s.Creds, stop: s.Stop}
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

// call sends an HTTP request with a key in the given header ("" for none)
// and the extra header name/value pairs.
func (ts *testServer) call(t testing.TB, method, path, header, key string, body any, extra ...string) response {
	t.Helper()
	switch header {
	case "":
	case "Authorization":
		extra = append([]string{"Authorization", "Bearer " + key}, extra...)
	default:
		extra = append([]string{header, key}, extra...)
	}
	r := servertest.Do(t, method, ts.httpURL+path, body, extra...)
	return response{status: r.Status, header: r.Header, body: r.Body}
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
