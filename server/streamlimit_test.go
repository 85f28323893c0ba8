package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/server"
	"github.com/switchyard/switchyard/server/servertest"
)

// openEvents opens an OFREP event stream with key and returns its status
// and the function that closes it; the stream stays open until then.
func openEvents(t *testing.T, srv *servertest.Server, key string) (int, string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.HTTPURL+"/ofrep/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var body string
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		body = string(data)
	}
	closeFn := func() { cancel(); resp.Body.Close() }
	t.Cleanup(closeFn)
	return resp.StatusCode, body, closeFn
}

func TestStreamsPerKeyAreCapped(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Server: []server.Option{server.WithMaxStreamsPerKey(2)}})
	key := srv.Creds.SDKKey
	var closers []func()
	for i := range 2 {
		code, body, closeFn := openEvents(t, srv, key)
		if code != http.StatusOK {
			t.Fatalf("event stream %d = %d %s, want 200", i+1, code, body)
		}
		closers = append(closers, closeFn)
	}
	if code, body, _ := openEvents(t, srv, key); code != http.StatusTooManyRequests || !strings.Contains(body, "holds 2 streams") {
		t.Errorf("a third event stream = %d %s, want 429 saying the key holds 2 streams", code, body)
	}
	// Sync streams count with event streams.
	s := syncStream(t, srv, key, &sdkpb.Hello{SdkName: "test"})
	if _, err := s.Recv(); status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "holds 2 streams") {
		t.Errorf("a sync stream beyond the cap = %v, want RESOURCE_EXHAUSTED", err)
	}
	// Another key has its own streams.
	other := keyOf(t, srv, "sdk", "production")
	if code, body, _ := openEvents(t, srv, other); code != http.StatusOK {
		t.Errorf("another key's event stream = %d %s, want 200", code, body)
	}
	// A closed stream gives its slot back.
	closers[0]()
	for i := 0; ; i++ {
		s := syncStream(t, srv, key, &sdkpb.Hello{SdkName: "test"})
		_, err := s.Recv()
		if err == nil {
			break
		}
		if status.Code(err) != codes.ResourceExhausted || i == 500 {
			t.Fatalf("a sync stream after one closed = %v, want a ruleset", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
