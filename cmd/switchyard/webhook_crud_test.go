package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestWebhookCRUD(t *testing.T) {
	url, _ := serveInBackground(t, filepath.Join(t.TempDir(), "s.db"), "--webhook-allow-private")
	s := &cliServer{url: url, token: "sya_test_admin"}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(receiver.Close)
	hook := func(args ...string) string { return s.must(t, "webhook", args...) }

	out := hook("create", "--url", receiver.URL+"/hooks", "--event", "flag.*", "--id", "ops", "--description", "Ops channel")
	if lineWith(out, "created webhook ops to "+receiver.URL+"/hooks") == "" || len(strings.Fields(lineWith(out, "secret"))[1]) != 64 {
		t.Errorf("webhook create printed\n%s\nwant the webhook and a made secret", out)
	}
	js := decodeJSON(t, hook("create", "--url", receiver.URL, "--secret", "0123456789abcdef", "-o", "json"))
	if id, _ := js["id"].(string); !strings.HasPrefix(id, "wh-") || js["secret"] != nil {
		t.Errorf("webhook create -o json = %v, want a made ID and no secret", js)
	}
	list := hook("list")
	if fields(lineWith(list, "ops")) != "ops "+receiver.URL+"/hooks flag.* enabled Ops channel" {
		t.Errorf("webhook list printed\n%s", list)
	}
	if msg := s.fails(t, exitFailure, "webhook create", "--url", "ftp://x"); !strings.Contains(msg, "webhook.url") {
		t.Errorf("webhook create with an ftp URL = %q, want webhook.url named", msg)
	}
	if msg := s.fails(t, exitFailure, "webhook create", "--url", receiver.URL, "--secret", "short"); !strings.Contains(msg, "webhook.secret") {
		t.Errorf("webhook create with a short secret = %q, want webhook.secret named", msg)
	}
	if got := hook("delete", "ops"); got != "deleted webhook ops\n" {
		t.Errorf("webhook delete printed %q", got)
	}
	if msg := s.fails(t, exitFailure, "webhook delete", "ops"); !strings.Contains(msg, "NOT_FOUND") {
		t.Errorf("webhook delete twice = %q", msg)
	}
}
