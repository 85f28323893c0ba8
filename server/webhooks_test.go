package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/webhook"
	"github.com/switchyard/switchyard/server/servertest"
)

const webhookSecret = "whsec-0123456789abcdef"

// hookReceiver is a webhook receiver on 127.0.0.1 that checks every
// request's signature and timestamp, answers the statuses given in turn
// (the last from then on) and keeps the verified events.
type hookReceiver struct {
	url      string
	mu       sync.Mutex
	statuses []int
	n        int
	events   []webhook.Event
	bad      []string // why a request failed verification
}

func newHookReceiver(t *testing.T, secret string, statuses ...int) *hookReceiver {
	t.Helper()
	h := &hookReceiver{statuses: statuses}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.n++
		status := h.statuses[min(h.n, len(h.statuses))-1]
		ts := r.Header.Get(webhook.HeaderTimestamp)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		sent, err := time.Parse(time.RFC3339, time.Unix(atoi(ts), 0).UTC().Format(time.RFC3339))
		switch {
		case !hmac.Equal([]byte(r.Header.Get(webhook.HeaderSignature)), []byte(want)):
			h.bad = append(h.bad, "signature "+r.Header.Get(webhook.HeaderSignature))
		case err != nil || time.Since(sent).Abs() > 5*time.Minute:
			h.bad = append(h.bad, "timestamp "+ts)
		default:
			var ev webhook.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				h.bad = append(h.bad, "body "+string(body))
			} else if status/100 == 2 {
				h.events = append(h.events, ev)
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func atoi(s string) int64 {
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1 << 40
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// types returns the types of the events received so far.
func (h *hookReceiver) types() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, ev := range h.events {
		out = append(out, ev.Type)
	}
	return out
}

// fastWebhooks retries after 10 ms and allows the receivers on loopback.
func fastWebhooks() servertest.Options {
	return servertest.Options{Runtime: runtime.Options{Webhooks: webhook.Options{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, AllowPrivate: true}}}
}

func TestWebhookSecretIsNeverReturned(t *testing.T) {
	srv := servertest.Start(t, fastWebhooks())
	base := "/api/v1/projects/default/webhooks"
	created := srv.Admin(t, "POST", base, map[string]any{"id": "ops", "url": "https://hooks.example.com/x", "secret": webhookSecret, "events": []string{"release.*"}})
	answers := map[string]map[string]any{
		"create": created,
		"get":    srv.Admin(t, "GET", base+"/ops", nil),
		"list":   srv.Admin(t, "GET", base, nil),
		"update": srv.Admin(t, "PATCH", base+"/ops", map[string]any{"events": []string{"flag.*"}}),
	}
	for name, a := range answers {
		if raw, _ := json.Marshal(a); strings.Contains(string(raw), webhookSecret) || strings.Contains(string(raw), `"secret"`) {
			t.Errorf("%s answered %s, want no secret", name, raw)
		}
	}
	if got := answers["update"]; got["etag"] == created["etag"] || len(got["events"].([]any)) != 1 || got["events"].([]any)[0] != "flag.*" {
		t.Errorf("update answered %v, want the new filter and etag", got)
	}
	r := srv.Call(t, "GET", "/api/v1/audit-events?project=default", srv.Creds.AdminToken, nil)
	if strings.Contains(string(r.Body), webhookSecret) || !strings.Contains(string(r.Body), "webhook.update") {
		t.Errorf("audit log = %d %s, want webhook events without the secret", r.Status, r.Body)
	}
}

func TestWebhookRequestsAreValidated(t *testing.T) {
	srv := servertest.Start(t, fastWebhooks())
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"file url", map[string]any{"url": "file:///etc/passwd", "secret": webhookSecret}, "webhook.url"},
		{"no secret", map[string]any{"url": "https://example.com/"}, "webhook.secret"},
		{"bad filter", map[string]any{"url": "https://example.com/", "secret": webhookSecret, "events": []string{"flag*"}}, "webhook.events[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Call(t, "POST", "/api/v1/projects/default/webhooks", srv.Creds.AdminToken, tc.body)
			if r.Status != http.StatusBadRequest || r.JSON(t)["field"] != tc.field {
				t.Errorf("create = %d %s, want 400 at %s", r.Status, r.Body, tc.field)
			}
		})
	}
}

func TestWebhooksAreForAdmins(t *testing.T) {
	srv := servertest.Start(t, fastWebhooks())
	srv.Admin(t, "POST", "/api/v1/projects/default/webhooks", map[string]any{"id": "ops", "url": "https://example.com/", "secret": webhookSecret})
	calls := []struct{ method, path string }{
		{"GET", "/api/v1/projects/default/webhooks"},
		{"GET", "/api/v1/projects/default/webhooks/ops"},
		{"GET", "/api/v1/projects/default/webhooks/ops/deliveries"},
		{"POST", "/api/v1/projects/default/webhooks"},
		{"PATCH", "/api/v1/projects/default/webhooks/ops"},
		{"DELETE", "/api/v1/projects/default/webhooks/ops"},
	}
	for _, role := range []string{"viewer", "editor", "release-manager"} {
		key := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{"name": role, "kind": "admin", "role": role})["secret"].(string)
		for _, c := range calls {
			t.Run(role+" "+c.method+" "+c.path, func(t *testing.T) {
				r := srv.Call(t, c.method, c.path, key, map[string]any{"url": "https://example.com/", "secret": webhookSecret})
				if r.Status != http.StatusForbidden {
					t.Errorf("%s as %s = %d %s, want 403", c.method, role, r.Status, r.Body)
				}
			})
		}
	}
}

func TestWebhookDeliversReleaseEventsSignedAndRetried(t *testing.T) {
	srv := servertest.Start(t, fastWebhooks())
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseDoc)
	rcv := newHookReceiver(t, webhookSecret, http.StatusInternalServerError, http.StatusOK)
	srv.Admin(t, "POST", "/api/v1/projects/default/webhooks", map[string]any{
		"id": "ops", "url": rcv.url, "secret": webhookSecret, "events": []string{"release.create", "release.start", "release.advance"}})

	srv.Admin(t, "POST", "/api/v1/projects/default/releases", convergedRelease)
	srv.Admin(t, "PATCH", "/api/v1/projects/default/flags/sidebar/environments/production", map[string]any{"enabled": false})
	// The 500 and the retry of release.create, before the release starts.
	created := deliveries(t, srv, "ops", func(ds []any) bool { return len(ds) == 1 && ds[0].(map[string]any)["state"] == "DELIVERED" })[0].(map[string]any)
	attempts := created["attempts"].([]any)
	if created["event_type"] != "release.create" || len(attempts) != 2 ||
		attempts[0].(map[string]any)["status_code"] != float64(500) || attempts[0].(map[string]any)["error"] != "HTTP 500" ||
		attempts[1].(map[string]any)["status_code"] != float64(200) || attempts[0].(map[string]any)["duration"] == nil ||
		created["last_error"] != nil || created["next_retry_time"] != nil {
		t.Errorf("first delivery %v, want release.create delivered after a 500 and a 200", created)
	}

	srv.Admin(t, "POST", "/api/v1/projects/default/releases/conv:start", `{}`)
	deliveries(t, srv, "ops", func(ds []any) bool { return len(ds) == 2 && ds[0].(map[string]any)["state"] == "DELIVERED" })
	rcv.mu.Lock()
	bad, events := rcv.bad, rcv.events
	rcv.mu.Unlock()
	if len(bad) > 0 || len(events) != 2 || events[0].Type != "release.create" || events[1].Type != "release.start" {
		t.Fatalf("received %v (refused: %v), want release.create then release.start, verified", rcv.types(), bad)
	}
	start := events[1]
	if start.Project != "default" || start.Environment != "production" || start.Resource != "projects/default/releases/conv" ||
		start.Revision == 0 || start.Actor.Name == "" || len(start.Data.After) == 0 {
		t.Errorf("release.start event %+v, want the release's resource, revision, actor and data", start)
	}
}

// deliveries polls a webhook's delivery log over REST until cond holds
// (5 s at most) and returns it, newest first.
func deliveries(t *testing.T, srv *servertest.Server, id string, cond func([]any) bool) []any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds, _ := srv.Admin(t, "GET", "/api/v1/projects/default/webhooks/"+id+"/deliveries", nil)["deliveries"].([]any)
		if cond(ds) {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log of %s never as expected: %v", id, ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhookTargetsOnPrivateAddressesAreRefused(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	base := "/api/v1/projects/default/webhooks"
	srv.Admin(t, "POST", base, map[string]any{"id": "ops", "url": "https://93.184.215.14/hook", "secret": webhookSecret})
	urls := []string{
		"http://127.0.0.1:8080/hook",
		"http://localhost/hook", // a name that resolves to loopback
		"http://10.1.2.3/hook",
		"http://172.16.0.1/hook",
		"http://192.168.1.1/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]/hook",
		"http://[fd00::1]/hook",
		"http://[fe80::1]/hook",
		"http://[::ffff:127.0.0.1]/hook",
		"http://0.0.0.0/hook",
		"http://224.0.0.1/hook",
	}
	for _, u := range urls {
		t.Run(u, func(t *testing.T) {
			create := srv.Call(t, "POST", base, srv.Creds.AdminToken, map[string]any{"url": u, "secret": webhookSecret})
			update := srv.Call(t, "PATCH", base+"/ops", srv.Creds.AdminToken, map[string]any{"url": u})
			for name, r := range map[string]servertest.Response{"create": create, "update": update} {
				if r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "webhook.url" || !strings.Contains(string(r.Body), "--webhook-allow-private") {
					t.Errorf("%s = %d %s, want 400 at webhook.url", name, r.Status, r.Body)
				}
			}
		})
	}
	if got := srv.Admin(t, "GET", base+"/ops", nil); got["url"] != "https://93.184.215.14/hook" {
		t.Errorf("webhook after the refused updates: %v, want it unchanged", got)
	}

	allowed := servertest.Start(t, servertest.Options{Runtime: runtime.Options{Webhooks: webhook.Options{AllowPrivate: true}}})
	allowed.Admin(t, "POST", base, map[string]any{"url": "http://127.0.0.1:8080/hook", "secret": webhookSecret})
}

func TestWebhookRedeliverOverREST(t *testing.T) {
	srv := servertest.Start(t, fastWebhooks())
	rcv := newHookReceiver(t, webhookSecret, http.StatusOK)
	base := "/api/v1/projects/default/webhooks/ops"
	srv.Admin(t, "POST", "/api/v1/projects/default/webhooks", map[string]any{"id": "ops", "url": rcv.url, "secret": webhookSecret, "events": []string{"flag.*"}})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "a", "type": "bool"})
	first := deliveries(t, srv, "ops", func(ds []any) bool { return len(ds) == 1 && ds[0].(map[string]any)["state"] == "DELIVERED" })[0].(map[string]any)

	again := srv.Admin(t, "POST", base+"/deliveries/"+first["id"].(string)+":redeliver", map[string]any{})
	if again["redelivery_of"] != first["id"] || again["id"] == first["id"] || again["event_id"] != first["event_id"] {
		t.Errorf("redeliver answered %v, want a new delivery of event %v", again, first["event_id"])
	}
	deliveries(t, srv, "ops", func(ds []any) bool { return len(ds) == 2 && ds[0].(map[string]any)["state"] == "DELIVERED" })
	if types := rcv.types(); len(types) != 2 || types[0] != "flag.create" || types[1] != "flag.create" {
		t.Errorf("received %v, want flag.create twice", types)
	}
	if r := srv.Call(t, "POST", base+"/deliveries/nope:redeliver", srv.Creds.AdminToken, map[string]any{}); r.Status != http.StatusNotFound {
		t.Errorf("redeliver of an unknown delivery = %d %s, want 404", r.Status, r.Body)
	}
}
