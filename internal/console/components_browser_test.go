package console_test

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/server/servertest"
)

// startWithComponent starts a server with component ios-app: 2.3.0,
// 2.3.1 (required), 2.4.0 (served by default in production) and 2.5.0
// (deployed, not served).
func startWithComponent(t *testing.T) *servertest.Server {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/components", map[string]any{
		"key": "ios-app", "description": "The iPhone app", "min_supported": "2.2.0",
		"versions": []any{
			map[string]any{"version": "2.3.0", "notes": "Spring"},
			map[string]any{"version": "2.3.1", "notes": "Security fix", "required": true},
			map[string]any{"version": "2.4.0", "notes": "New checkout"},
			map[string]any{"version": "2.5.0", "notes": "Next"},
		},
	})
	srv.Admin(t, "PATCH", "/api/v1/projects/default/components/ios-app/environments/production", map[string]any{
		"default": map[string]any{"version": "2.4.0"},
	})
	return srv
}

func TestBrowserComponentVersionsSimulatorRegisterWithdraw(t *testing.T) {
	srv := startWithComponent(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/components")
	b.shot("components")
	b.open("/components/ios-app")
	if got := b.text(".versions tbody tr:nth-child(3)"); !strings.Contains(got, "2.4.0") || !strings.Contains(got, "RELEASED") || !strings.Contains(got, "production") {
		t.Errorf("row of 2.4.0 = %q, want RELEASED in production", got)
	}

	// The simulator: a client on 2.3.0 must update to 2.4.0 (2.3.1 is required).
	b.setValue("#f-current_version", "2.3.0")
	b.setValue("#sim-key", "device-1")
	b.submit(`form[action="/components/ios-app/simulate"] button[type=submit]`)
	answer := b.text(".answer")
	for _, want := range []string{"REQUIRED", "2.4.0", "Security fix", "New checkout"} {
		if !strings.Contains(answer, want) {
			t.Errorf("simulator answer %q lacks %q", answer, want)
		}
	}
	b.shot("component")

	// Registering an invalid version shows the error next to its field.
	b.setValue("#f-version", "2.x")
	b.submit(`form[action="/components/ios-app/versions"] button[type=submit]`)
	if got := b.text("#f-version-err"); got == "" {
		t.Error("no error next to the version field for 2.x")
	}
	b.setValue("#f-version", "2.6.0")
	b.setValue("#f-notes", "Faster")
	b.submit(`form[action="/components/ios-app/versions"] button[type=submit]`)
	if got := b.text(".banner.ok"); !strings.Contains(got, "Registered version 2.6.0") {
		t.Errorf("after registering the banner reads %q", got)
	}

	// Withdrawing 2.5.0 after confirming.
	eval[bool](b, `window.confirm = function () { return true; }; true`)
	b.submit(`form[action="/components/ios-app/versions/2.5.0/withdraw"] button`)
	if got := b.text(".banner.ok"); !strings.Contains(got, "Withdrew version 2.5.0") {
		t.Errorf("after withdrawing the banner reads %q", got)
	}
	got := srv.Admin(t, "GET", "/api/v1/projects/default/components/ios-app/versions/2.5.0", nil)
	if v := got["version"].(map[string]any); v["withdrawn"] != true {
		t.Errorf("stored 2.5.0 = %v, want withdrawn", v)
	}
	b.shot("component-withdrawn")
}
