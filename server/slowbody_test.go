package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/server"
	"github.com/switchyard/switchyard/server/servertest"
)

// testBodyTimeout is the body read bound of slowServer.
const testBodyTimeout = 500 * time.Millisecond

// slowServer serves with a short body read bound.
func slowServer(t *testing.T) *testServer {
	t.Helper()
	return wrap(servertest.Start(t, servertest.Options{Server: []server.Option{server.WithBodyReadTimeout(testBodyTimeout)}}))
}

// dribble sends a request whose headers announce a 64-byte body, then
// sends the body one byte at a time every gap (never, if gap is 0) until
// the server answers. It returns the answer, how long the answer took
// after the headers, and whether the server closed the connection after
// answering. The wait is bounded: a server that never answers fails the
// test after 60 s.
func dribble(t *testing.T, addr, method, path string, header map[string]string, gap time.Duration) (status int, took time.Duration, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 64\r\n", method, path, addr)
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	if gap > 0 {
		go func() {
			tick := time.NewTicker(gap)
			defer tick.Stop()
			for i := 0; i < 64; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
	}
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("%s %s: no answer: %v", method, path, err)
	}
	took = time.Since(start)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_, err = rd.ReadByte()
	return resp.StatusCode, took, err != nil
}

// TestSlowBodiesAreCutOff pins that a body dribbled slower than the bound
// is answered 408 and its connection closed, on the admin API and OFREP,
// and that a request without a valid key is answered 401 without its body
// being read (the client here never sends it).
func TestSlowBodiesAreCutOff(t *testing.T) {
	ts := slowServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	addr := strings.TrimPrefix(ts.httpURL, "http://")
	admin := map[string]string{"Authorization": "Bearer " + ts.creds.AdminToken}
	sdk := map[string]string{"X-API-Key": ts.creds.SDKKey}
	tests := []struct {
		name, method, path string
		header             map[string]string
		gap                time.Duration
		want               int
	}{
		{"admin API, dribbled", "PATCH", "/api/v1/projects/default/flags/new-checkout", admin, 200 * time.Millisecond, http.StatusRequestTimeout},
		{"admin API, no key, body never sent", "PATCH", "/api/v1/projects/default/flags/new-checkout", nil, 0, http.StatusUnauthorized},
		{"admin API, unknown key, body never sent", "POST", "/api/v1/documents:import", map[string]string{"Authorization": "Bearer sya_nope"}, 0, http.StatusUnauthorized},
		{"OFREP, dribbled", "POST", "/ofrep/v1/evaluate/flags/new-checkout", sdk, 200 * time.Millisecond, 0},
		{"OFREP, no key, body never sent", "POST", "/ofrep/v1/evaluate/flags/new-checkout", nil, 0, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, took, closed := dribble(t, addr, tc.method, tc.path, tc.header, tc.gap)
			if tc.want != 0 && status != tc.want || tc.want == 0 && status < 400 {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, status, tc.want)
			}
			if !closed {
				t.Errorf("%s %s: the connection stayed open after %d", tc.method, tc.path, status)
			}
			t.Logf("%s %s: %d after %v (bound %v)", tc.method, tc.path, status, took.Round(time.Millisecond), testBodyTimeout)
		})
	}
}

// TestEventStreamOutlivesTheBodyBound pins that the bound on request
// bodies leaves bodiless long-lived answers alone: an OFREP event stream
// still delivers a change made after the bound has passed.
func TestEventStreamOutlivesTheBodyBound(t *testing.T) {
	ts := slowServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	client := ts.newKey(t, map[string]any{"name": "web", "kind": "client", "project": "default", "environment": "production"})
	code, events := openStream(t, ts.httpURL+streamURI(t, bulk(t, ts, client, "")), nil)
	if code != http.StatusOK {
		t.Fatalf("GET stream = %d, want 200", code)
	}
	nextEvent(t, events)
	time.Sleep(3 * testBodyTimeout)
	changeFlag(t, ts, "on")
	if _, data := nextEvent(t, events); data["type"] != "refetchEvaluation" {
		t.Errorf("event after the bound = %v, want refetchEvaluation", data)
	}
}
