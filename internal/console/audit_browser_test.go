package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserAuditLogFiltersAndDiffs(t *testing.T) {
	srv := startWithRule(t)
	resp := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{"name": "eddie", "kind": "admin", "role": "editor"})
	eddie := resp["secret"].(string)
	if r := srv.Call(t, "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/staging", eddie, map[string]any{"enabled": true}); r.Status != 200 {
		t.Fatalf("eddie's change = %d %s", r.Status, r.Body)
	}
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", map[string]any{"key": "eu", "include": []any{"u1"}})

	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/audit")
	if n := eval[int](b, `document.querySelectorAll("ol.audit > li").length`); n < 3 {
		t.Fatalf("audit log shows %d entries, want at least 3", n)
	}
	b.shot("audit")

	b.open("/audit?actor=eddie")
	actors := eval[[]string](b, `Array.from(document.querySelectorAll("ol.audit > li .muted strong")).map(e => e.textContent)`)
	if len(actors) != 1 || actors[0] != "eddie" {
		t.Errorf("entries filtered by actor eddie are by %v, want [eddie]", actors)
	}
	b.do(chromedp.Click(chromedp.CSS("ol.audit > li details summary")))
	if diff := b.text("ol.audit > li details .diff"); !strings.Contains(diff, `"enabled": true`) {
		t.Errorf("eddie's entry diff = %q, want the enabled change", diff)
	}
	b.shot("audit-filtered")

	b.open("/audit?resource=" + "projects/default/segments")
	if got := b.text("ol.audit > li .audit-head"); !strings.Contains(got, "segments/eu") {
		t.Errorf("entries filtered by resource show %q, want the segment eu", got)
	}
}
