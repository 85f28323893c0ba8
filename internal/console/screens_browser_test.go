package console_test

import (
	"testing"
)

// TestBrowserScreenshots saves the pages no other test covers, the dark
// scheme and the phone width, and checks what every page shares: a
// labelled control for every input, and a visible focus ring.
func TestBrowserScreenshots(t *testing.T) {
	srv := startWithComponent(t)
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "new-checkout", "type": "bool", "description": "The new checkout flow"})
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	pages := []struct{ name, path string }{
		{"styleguide", "/styleguide"},
		{"flags", "/flags"},
		{"flag", "/flags/new-checkout"},
		{"evaluate", "/evaluate"},
		{"segments", "/segments"},
		{"components", "/components"},
		{"component", "/components/ios-app"},
		{"audit", "/audit"},
		{"calendar", "/calendar"},
		{"notfound", "/no-such-page"},
	}
	for _, p := range pages {
		b.open(p.path)
		unlabelled := eval[[]string](b, `Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).filter(function (el) {
			return !(el.labels && el.labels.length) && !el.getAttribute("aria-label");
		}).map(function (el) { return el.name || el.id; })`)
		if len(unlabelled) > 0 {
			t.Errorf("%s: controls without a label: %v", p.path, unlabelled)
		}
	}
	b.open("/styleguide")
	b.shot("styleguide")
	b.dark()
	for _, p := range []string{"styleguide", "flags", "flag", "component"} {
		b.open(map[string]string{"styleguide": "/styleguide", "flags": "/flags", "flag": "/flags/new-checkout", "component": "/components/ios-app"}[p])
		b.shot(p + "-dark")
	}
	b.phone()
	for _, p := range []string{"flag", "component", "evaluate"} {
		b.open(map[string]string{"flag": "/flags/new-checkout", "component": "/components/ios-app", "evaluate": "/evaluate"}[p])
		b.shot(p + "-phone")
	}
	// Keyboard: the first Tab reaches the skip link, and focus is visible.
	b.open("/flags")
	eval[bool](b, `document.querySelector(".skip").focus(); true`)
	if got := eval[string](b, `getComputedStyle(document.activeElement).outlineStyle`); got != "solid" {
		t.Errorf("focused skip link outline = %q, want a visible (solid) focus ring", got)
	}
}
