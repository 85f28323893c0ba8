package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchyard/switchyard/server/servertest"
)

// startWithFlag starts a server whose default project has a bool flag
// new-checkout, switched off in production.
func startWithFlag(t *testing.T) *servertest.Server {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{
		"key": "new-checkout", "type": "bool", "description": "The new checkout flow",
	})
	srv.Admin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/production", map[string]any{
		"enabled": false, "default": map[string]any{"variant": "on"},
	})
	return srv
}

// ofrepValue evaluates new-checkout through OFREP with the SDK key.
func ofrepValue(t *testing.T, srv *servertest.Server) (value any, reason string) {
	t.Helper()
	r := srv.Call(t, "POST", "/ofrep/v1/evaluate/flags/new-checkout", srv.Creds.SDKKey, `{"context": {"targetingKey": "u1"}}`)
	var out struct {
		Value  any    `json:"value"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("OFREP answer %d %s: %v", r.Status, r.Body, err)
	}
	return out.Value, out.Reason
}

func TestBrowserSignIn(t *testing.T) {
	srv := startWithFlag(t)
	b := newTab(t, srv)
	b.open("/flags")
	if got := eval[string](b, "location.pathname"); got != "/signin" {
		t.Fatalf("an unsigned visit to /flags went to %s, want /signin", got)
	}
	b.shot("signin")
	b.signIn(srv.Creds.AdminToken)
	if got := b.text("h1"); !strings.HasPrefix(got, "Flags") {
		t.Errorf("after sign-in the page heading is %q, want Flags", got)
	}
	if got := eval[string](b, "document.cookie"); got != "" {
		t.Errorf("document.cookie = %q, want the session cookie hidden from scripts (HttpOnly)", got)
	}
	if got := eval[string](b, "location.href"); strings.Contains(got, srv.Creds.AdminToken) {
		t.Errorf("the token is in the URL %s", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.open("/flags")
	if got := eval[string](b, "location.pathname"); got != "/signin" {
		t.Errorf("after sign-out /flags went to %s, want /signin", got)
	}
}

func TestBrowserToggleFlagSeenThroughOFREP(t *testing.T) {
	srv := startWithFlag(t)
	if v, reason := ofrepValue(t, srv); v != false || reason != "DISABLED" {
		t.Fatalf("before the toggle OFREP = %v %s, want false DISABLED", v, reason)
	}
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/flags")
	b.shot("flags")
	sw := `button.switch[value$=" production new-checkout"]`
	if got := eval[string](b, `document.querySelector('`+sw+`').getAttribute("aria-checked")`); got != "false" {
		t.Fatalf("production switch aria-checked = %q, want false", got)
	}
	b.do(chromedp.Click(chromedp.CSS(sw)), chromedp.WaitVisible(chromedp.CSS(`button.switch[value="off production new-checkout"][aria-checked="true"]`)))
	if v, reason := ofrepValue(t, srv); v != true {
		t.Errorf("after the toggle OFREP = %v %s, want true", v, reason)
	}
	b.phone()
	b.shot("flags-phone")
}

func TestBrowserFlagListUpdatesLive(t *testing.T) {
	srv := startWithFlag(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/flags")
	b.do(chromedp.WaitVisible(chromedp.CSS(`button.switch[value="on staging new-checkout"]`)))
	eval[bool](b, `window.stayed = true`)
	srv.Admin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/staging?update_mask=enabled", map[string]any{"enabled": true})
	// The poller brings the change; the page is not reloaded.
	b.do(chromedp.WaitVisible(chromedp.CSS(`button.switch[value="off staging new-checkout"][aria-checked="true"]`)))
	if !eval[bool](b, `window.stayed === true`) {
		t.Error("the page was reloaded; want the rows refreshed in place")
	}
}

func TestBrowserCreateFlag(t *testing.T) {
	srv := startWithFlag(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/flags")
	b.do(chromedp.Click(chromedp.CSS("details.new-flag summary")), chromedp.WaitVisible(chromedp.CSS("#f-key")))
	b.setValue("#f-key", "bad key!")
	b.submit(`form[action="/flags"] button[type=submit]`)
	if got := b.text("#f-key-err"); got == "" {
		t.Fatal("no error next to the key field for \"bad key!\"")
	}
	b.shot("flags-new-invalid")
	b.setValue("#f-key", "theme")
	b.do(chromedp.SetValue(chromedp.CSS("#f-type"), "string"))
	b.setValue("#f-variants", "light: Light\ndark: \"Dark\"")
	b.submit(`form[action="/flags"] button[type=submit]`)
	if got := b.text("h1"); !strings.HasPrefix(got, "theme") {
		t.Fatalf("after creating, the page heading is %q, want the new flag", got)
	}
	if got := b.text("section.card table"); !strings.Contains(got, `"Light"`) || !strings.Contains(got, `"Dark"`) {
		t.Errorf("variants of the new flag = %q", got)
	}
}

// TestBrowserFlagListShowsLastEvaluationAndStale: each environment's cell
// says when the flag was last evaluated, a flag never evaluated is marked
// stale in text (not only colour), and "Stale only" lists just those.
func TestBrowserFlagListShowsLastEvaluationAndStale(t *testing.T) {
	srv := startWithFlag(t)
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "old-banner", "type": "bool"})
	ofrepValue(t, srv)
	srv = srv.Restart(t) // flushes the evaluation counts

	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/flags")
	cell := func(flag, env string) string {
		return eval[string](b, `document.querySelector('button.switch[value$=" `+env+` `+flag+`"]').closest("td").querySelector(".last-used").textContent.trim()`)
	}
	if got := cell("new-checkout", "production"); got != "Evaluated: just now" && !strings.HasSuffix(got, "min ago") {
		t.Errorf("new-checkout in production reads %q, want evaluated just now", got)
	}
	if got := cell("new-checkout", "staging"); got != "Evaluated: never" {
		t.Errorf("new-checkout in staging reads %q, want never", got)
	}
	stale := eval[string](b, `Array.from(document.querySelectorAll("tbody tr")).filter(tr => tr.querySelector(".badge.stale")).map(tr => tr.querySelector("th a").textContent + ":" + tr.querySelector(".badge.stale").textContent.trim()).join(",")`)
	if stale != "old-banner:⚠ Stale" {
		t.Errorf("stale rows = %q, want old-banner:⚠ Stale only", stale)
	}
	b.shot("flags-usage")

	b.do(chromedp.Click(chromedp.CSS(`input[name="stale"]`)))
	b.submit(`form.filters button[type=submit]`)
	if got := eval[string](b, `Array.from(document.querySelectorAll("tbody tr th a")).map(a => a.textContent).join(",")`); got != "old-banner" {
		t.Errorf("stale only lists %q, want old-banner", got)
	}
	if got := eval[string](b, "location.search"); got != "?q=&type=&tag=&stale=1" {
		t.Errorf("stale only is at %q", got)
	}
}

// TestBrowserFlagTagsEditShowFilter: tags are edited on the flag page (a
// bad one is refused next to its input), shown in the list, and filter it.
func TestBrowserFlagTagsEditShowFilter(t *testing.T) {
	srv := startWithFlag(t)
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "old-banner", "type": "bool", "tags": []string{"team-web"}})
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/flags/new-checkout")
	eval[bool](b, `document.querySelector("#f-tags").closest("details").open = true`)
	b.setValue("#f-tags", "team-pay, -bad")
	b.submit(`form[action="/flags/new-checkout"] button[type=submit]`)
	if got := b.text("#f-tags-err"); !strings.Contains(got, "tags[1]") {
		t.Errorf("a bad tag shows %q, want an error naming tags[1]", got)
	}
	b.setValue("#f-tags", "team-pay, q3-launch")
	b.submit(`form[action="/flags/new-checkout"] button[type=submit]`)
	if got := b.text(".flag-tags"); got != "Tags: #team-pay #q3-launch" {
		t.Errorf("flag page tags = %q", got)
	}
	b.open("/flags")
	if got := eval[string](b, `Array.from(document.querySelectorAll("tbody tr")).map(tr => tr.querySelector("th a").textContent + "=" + Array.from(tr.querySelectorAll(".flag-tags a")).map(a => a.textContent).join(" ")).join(",")`); got != "new-checkout=#team-pay #q3-launch,old-banner=#team-web" {
		t.Errorf("list tags = %q", got)
	}
	b.shot("flags-tags")
	b.submit(`.flag-tags a[href="/flags?tag=team-web"]`)
	if got := eval[string](b, `Array.from(document.querySelectorAll("tbody tr th > a")).map(a => a.textContent).join(",")`); got != "old-banner" {
		t.Errorf("tag team-web lists %q, want old-banner", got)
	}
	if got := eval[string](b, `document.querySelector('input[name="tag"]').value`); got != "team-web" {
		t.Errorf("tag filter input = %q", got)
	}
}
