package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/server/servertest"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// requestLogs returns the JSON log records with the given message.
func requestLogs(t *testing.T, data []byte, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func TestRequestLogsNameTheCallerNeverTheSecret(t *testing.T) {
	var logs syncBuffer
	srv := servertest.Start(t, servertest.Options{Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ts := wrap(srv)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	if r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags/new-checkout", "X-API-Key", ts.creds.SDKKey, `{"context":{"targetingKey":"u"}}`); r.status != http.StatusOK {
		t.Fatalf("OFREP = %d %s", r.status, r.body)
	}
	if _, err := sdkpb.NewEvaluationServiceClient(ts.conn).Evaluate(rpcContext(ts.creds.SDKKey), &sdkpb.EvaluateRequest{Flag: "new-checkout"}); err != nil {
		t.Fatal(err)
	}
	if r := ts.call(t, "GET", "/api/v1/projects/default/flags/nope", "Authorization", "bogus-secret-"+ts.creds.AdminToken, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("bad token = %d, want 401", r.status)
	}
	ts.call(t, "GET", "/healthz", "", "", nil)
	data := logs.Bytes()

	for _, secret := range []string{ts.creds.AdminToken, ts.creds.SDKKey} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the log holds a secret:\n%s", data)
		}
	}
	type want struct{ method, route, level string }
	got := map[want]map[string]any{}
	for _, rec := range requestLogs(t, data, "http request") {
		got[want{rec["method"].(string), rec["route"].(string), rec["level"].(string)}] = rec
	}
	for _, tc := range []struct {
		want
		status    float64
		principal string
	}{
		{want{"POST", "/api/v1/projects/{project}/flags", "INFO"}, 200, "admin"},
		{want{"POST", "/ofrep/v1/evaluate/flags/{key}", "INFO"}, 200, "admin"},
		{want{"GET", "/api/v1/projects/{project}/flags/{key}", "INFO"}, 401, ""},
		{want{"GET", "/healthz", "DEBUG"}, 200, ""},
	} {
		rec, ok := got[tc.want]
		if !ok {
			t.Errorf("no log of %+v in\n%s", tc.want, data)
			continue
		}
		if rec["status"] != tc.status || rec["principal"] != tc.principal || rec["duration"] == nil {
			t.Errorf("log of %+v = %v, want status %v, principal %q and a duration", tc.want, rec, tc.status, tc.principal)
		}
	}
	grpcLogs := requestLogs(t, data, "grpc call")
	found := false
	for _, rec := range grpcLogs {
		if rec["method"] == "/switchyard.v1.EvaluationService/Evaluate" && rec["status"] == "OK" && rec["key_id"] != "" {
			found = true
		}
		if strings.HasPrefix(rec["method"].(string), "/switchyard.v1.FlagService/") {
			t.Errorf("a gateway call is logged twice: %v", rec)
		}
	}
	if !found {
		t.Errorf("no log of the gRPC Evaluate call in %v", grpcLogs)
	}
}
