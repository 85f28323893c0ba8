package console_test

import (
	"strings"
	"testing"
)

func TestBrowserEvaluateExplainsTheMatchingRule(t *testing.T) {
	srv := startWithRule(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/evaluate")
	b.setValue("#ev-key", "user-7")
	b.setValue("#ev-attrs", `{"email": "ann@example.com"}`)
	b.submit(`form[action="/evaluate"] button[type=submit]`)
	row := b.text(".results tbody tr")
	for _, want := range []string{"new-checkout", "on", "true", "TARGETING_MATCH", "staff", `Rule "staff" matched`} {
		if !strings.Contains(row, want) {
			t.Errorf("result row %q lacks %q", row, want)
		}
	}
	b.shot("evaluate")

	b.setValue("#ev-attrs", `{"email": `)
	b.submit(`form[action="/evaluate"] button[type=submit]`)
	if got := b.text("#ev-attrs-err"); !strings.Contains(got, "not JSON") {
		t.Errorf("error next to the attributes = %q, want it to say the JSON is broken", got)
	}
}
