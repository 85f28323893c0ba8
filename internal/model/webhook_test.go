package model

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateWebhook(t *testing.T) {
	ok := func() *Webhook {
		return &Webhook{ID: "ops", URL: "https://hooks.example.com/x", Secret: strings.Repeat("s", 16), Events: []string{"release.*", "flag.update", "*"}}
	}
	cases := []struct {
		name   string
		change func(w *Webhook)
		path   string // "" for valid
	}{
		{"valid", func(*Webhook) {}, ""},
		{"http allowed", func(w *Webhook) { w.URL = "http://127.0.0.1:8080/hook" }, ""},
		{"bad id", func(w *Webhook) { w.ID = "a/b" }, "id"},
		{"no url", func(w *Webhook) { w.URL = "" }, "url"},
		{"ftp url", func(w *Webhook) { w.URL = "ftp://example.com/x" }, "url"},
		{"file url", func(w *Webhook) { w.URL = "file:///etc/passwd" }, "url"},
		{"relative url", func(w *Webhook) { w.URL = "/hook" }, "url"},
		{"credentials in url", func(w *Webhook) { w.URL = "https://u:p@example.com/" }, "url"},
		{"short secret", func(w *Webhook) { w.Secret = "short" }, "secret"},
		{"bad event pattern", func(w *Webhook) { w.Events = []string{"release*"} }, "events[0]"},
		{"upper-case event", func(w *Webhook) { w.Events = []string{"Flag.*"} }, "events[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := ok()
			tc.change(w)
			err := ValidateWebhook(w)
			var fes Errors
			switch {
			case tc.path == "" && err != nil:
				t.Fatalf("ValidateWebhook = %v, want nil", err)
			case tc.path == "":
			case !errors.As(err, &fes) || fes[0].Path != tc.path:
				t.Fatalf("ValidateWebhook = %v, want an error at %q", err, tc.path)
			}
		})
	}
}

func TestWebhookMatches(t *testing.T) {
	cases := []struct {
		name     string
		events   []string
		disabled bool
		typ      string
		want     bool
	}{
		{"empty filter takes all", nil, false, "segment.update", true},
		{"star", []string{"*"}, false, "flag.create", true},
		{"kind wildcard", []string{"release.*"}, false, "release.advance", true},
		{"kind wildcard, deeper type", []string{"flag.*"}, false, "flag.targeting.update", true},
		{"kind wildcard, other kind", []string{"flag.*"}, false, "release.start", false},
		{"kind wildcard needs the dot", []string{"flag.*"}, false, "flags.update", false},
		{"exact", []string{"release.roll_back"}, false, "release.roll_back", true},
		{"exact, other", []string{"release.roll_back"}, false, "release.start", false},
		{"disabled", nil, true, "flag.create", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &Webhook{Events: tc.events, Disabled: tc.disabled}
			if got := w.Matches(tc.typ); got != tc.want {
				t.Errorf("Matches(%q) with %v = %v, want %v", tc.typ, tc.events, got, tc.want)
			}
		})
	}
}
