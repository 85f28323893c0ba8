package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one server-sent event.
type sseEvent struct {
	id, event, data string
}

// openStream connects to an event stream and delivers its events on the
// channel, which is closed when the stream ends. The connection is closed
// when the test ends.
func openStream(t *testing.T, url string, header map[string]string) (int, <-chan sseEvent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	events := make(chan sseEvent, 16)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	if resp.StatusCode != http.StatusOK {
		close(events)
		close(done)
		return resp.StatusCode, events
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	go func() {
		defer close(done)
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.data != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return resp.StatusCode, events
}

// nextEvent waits up to a second for the next event.
func nextEvent(t *testing.T, events <-chan sseEvent) (sseEvent, map[string]any) {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended, want an event")
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
			t.Fatalf("event data %q is not JSON: %v", ev.data, err)
		}
		return ev, data
	case <-time.After(time.Second):
		t.Fatal("no event within a second")
	}
	panic("unreachable")
}

// bulk evaluates every flag over OFREP and returns the answer.
func bulk(t *testing.T, ts *testServer, key, query string) map[string]any {
	t.Helper()
	r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags"+query, "X-API-Key", key, `{"context":{"targetingKey":"user-1"}}`)
	if r.status != http.StatusOK {
		t.Fatalf("bulk = %d %s", r.status, r.body)
	}
	return r.json(t)
}

// streamURI returns the event stream address a bulk answer advertises.
func streamURI(t *testing.T, answer map[string]any) string {
	t.Helper()
	streams, _ := answer["eventStreams"].([]any)
	if len(streams) != 1 {
		t.Fatalf("eventStreams = %v, want one", answer["eventStreams"])
	}
	s := streams[0].(map[string]any)
	endpoint, _ := s["endpoint"].(map[string]any)
	uri, _ := endpoint["requestUri"].(string)
	if s["type"] != "sse" || s["inactivityDelaySec"] != float64(120) || !strings.HasPrefix(uri, "/ofrep/v1/events?token=") {
		t.Fatalf("eventStreams[0] = %v, want an sse endpoint on /ofrep/v1/events with a token", s)
	}
	return uri
}

// revisionETag is the etag a refetchEvaluation event carries for a bulk
// answer's revision.
func revisionETag(answer map[string]any) string {
	return `"` + strconv.FormatFloat(answer["metadata"].(map[string]any)["revision"].(float64), 'f', -1, 64) + `"`
}

// changeFlag makes a REST change to the production environment.
func changeFlag(t *testing.T, ts *testServer, variant string) {
	t.Helper()
	ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/production",
		map[string]any{"enabled": true, "off_variant": "off", "default": map[string]any{"variant": variant}})
}

func TestOFREPEventStreamSendsRefetchOnChange(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	client := ts.newKey(t, map[string]any{"name": "web", "kind": "client", "project": "default", "environment": "production"})
	answer := bulk(t, ts, client, "")
	code, events := openStream(t, ts.httpURL+streamURI(t, answer), nil)
	if code != http.StatusOK {
		t.Fatalf("GET stream = %d, want 200", code)
	}
	// On connect: the current revision, so a change between the bulk fetch
	// and the connect is not missed.
	ev, data := nextEvent(t, events)
	if data["type"] != "refetchEvaluation" || data["etag"] != revisionETag(answer) || ev.event != "message" {
		t.Errorf("first event = %+v %v, want refetchEvaluation with etag %s", ev, data, revisionETag(answer))
	}

	start := time.Now()
	changeFlag(t, ts, "on")
	ev, data = nextEvent(t, events)
	after := bulk(t, ts, client, "?flagConfigEtag="+ev.id)
	if data["type"] != "refetchEvaluation" || data["etag"] != revisionETag(after) || data["etag"] == revisionETag(answer) {
		t.Errorf("event after the change = %+v %v, want refetchEvaluation with the new etag %s", ev, data, revisionETag(after))
	}
	if lm, ok := data["lastModified"].(float64); !ok || int64(lm) < start.Unix()-1 || int64(lm) > time.Now().Unix()+1 {
		t.Errorf("lastModified = %v, want about %d", data["lastModified"], start.Unix())
	}
	t.Logf("change reached the stream in %v", time.Since(start))
}

func TestOFREPEventStreamLastEventID(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	answer := bulk(t, ts, ts.creds.SDKKey, "")
	current := strings.Trim(revisionETag(answer), `"`)
	_, events := openStream(t, ts.httpURL+streamURI(t, answer), map[string]string{"Last-Event-ID": current})
	changeFlag(t, ts, "off")
	ev, _ := nextEvent(t, events)
	if ev.id == current {
		t.Errorf("first event id = %s, want the new revision only (Last-Event-ID was current)", ev.id)
	}
}

func TestOFREPEventStreamAuthentication(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	created := ts.mustAdmin(t, "POST", "/api/v1/keys", map[string]any{"name": "web", "kind": "client", "project": "default", "environment": "production"})
	client, id := created["secret"].(string), created["key"].(map[string]any)["id"].(string)
	uri := streamURI(t, bulk(t, ts, client, ""))
	token := uri[strings.Index(uri, "token=")+len("token="):]
	tests := []struct {
		name   string
		path   string
		header map[string]string
		want   int
	}{
		{"token", uri, nil, 200},
		{"client key header", "/ofrep/v1/events", map[string]string{"X-API-Key": client}, 200},
		{"bearer header", "/ofrep/v1/events", map[string]string{"Authorization": "Bearer " + client}, 200},
		{"admin token with scope", "/ofrep/v1/events?project=default&environment=staging", map[string]string{"Authorization": "Bearer " + ts.creds.AdminToken}, 200},
		{"admin token without scope", "/ofrep/v1/events", map[string]string{"Authorization": "Bearer " + ts.creds.AdminToken}, 400},
		{"client key for another environment", "/ofrep/v1/events?environment=staging", map[string]string{"X-API-Key": client}, 403},
		{"no key", "/ofrep/v1/events", nil, 401},
		{"malformed token", "/ofrep/v1/events?token=garbage", nil, 401},
		{"tampered token", "/ofrep/v1/events?token=" + strings.Replace(token, token[:4], "AAAA", 1), nil, 401},
		{"unknown environment", "/ofrep/v1/events?project=default&environment=nope", map[string]string{"Authorization": "Bearer " + ts.creds.AdminToken}, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := openStream(t, ts.httpURL+tc.path, tc.header); code != tc.want {
				t.Errorf("GET %s = %d, want %d", tc.path, code, tc.want)
			}
		})
	}

	// Revoking the key ends its open streams at the next change and
	// invalidates its tokens.
	_, events := openStream(t, ts.httpURL+uri, nil)
	nextEvent(t, events)
	ts.mustAdmin(t, "DELETE", "/api/v1/keys/"+id, nil)
	changeFlag(t, ts, "on")
	select {
	case ev, ok := <-events:
		if ok {
			t.Errorf("revoked key's stream got %+v, want it ended", ev)
		}
	case <-time.After(time.Second):
		t.Error("revoked key's stream still open a second after a change")
	}
	if code, _ := openStream(t, ts.httpURL+uri, nil); code != http.StatusUnauthorized {
		t.Errorf("GET with a revoked key's token = %d, want 401", code)
	}
}

func TestOFREPEventStreamEndsOnShutdown(t *testing.T) {
	ts := startServer(t)
	_, events := openStream(t, ts.httpURL+"/ofrep/v1/events", map[string]string{"X-API-Key": ts.creds.SDKKey})
	nextEvent(t, events)
	start := time.Now()
	ts.stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("server stopped %v after shutdown began with an open event stream, want promptly", d)
	}
	select {
	case _, ok := <-events:
		if ok {
			t.Error("stream sent an event during shutdown")
		}
	case <-time.After(time.Second):
		t.Error("event stream still open after the server stopped")
	}
}
