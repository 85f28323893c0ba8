package console_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchyard/switchyard/server/servertest"
)

// startWithRule starts a server whose flag new-checkout has, in
// production, a rule "staff" matching e-mail addresses by regex.
func startWithRule(t *testing.T) *servertest.Server {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "new-checkout", "type": "bool"})
	srv.Admin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/production", map[string]any{
		"enabled": true,
		"rules": []any{map[string]any{
			"id":         "staff",
			"conditions": []any{map[string]any{"attribute": "email", "op": "matches", "values": []any{`@example\.com$`}}},
			"serve":      map[string]any{"variant": "on"},
		}},
		"default": map[string]any{"rollout": []any{
			map[string]any{"variant": "on", "weight": 10000}, map[string]any{"variant": "off", "weight": 90000},
		}},
	})
	return srv
}

const valuesInput = "#f-rules-0-conditions-0-values"

// setValue replaces an input's value as a user would.
func (b *tab) setValue(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// click clicks and waits for the next page's main element.
func (b *tab) submit(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel)), chromedp.WaitReady(chromedp.CSS("main")))
}

func TestBrowserInvalidRegexShownNextToField(t *testing.T) {
	srv := startWithRule(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/flags/new-checkout")
	b.shot("flag")
	if got := eval[string](b, `document.querySelector("#f-default-rollout-0-weight").value`); got != "10" {
		t.Errorf("default rollout 'on' share = %q, want 10 (percent)", got)
	}

	b.setValue(valuesInput, "(unclosed")
	b.submit(`button[name=step][value=review]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(".review")))
	if diff := b.text(".review .diff"); !regexp.MustCompile(`(?m)^\+\s+"\(unclosed"`).MatchString(diff) {
		t.Errorf("review diff does not show the new value:\n%s", diff)
	}
	b.shot("flag-review")
	b.submit(`button[name=step][value=save]`)
	errText := b.text(valuesInput + "-err")
	if !strings.Contains(errText, "regular expression") && !strings.Contains(errText, "regexp") {
		t.Errorf("error next to the values field = %q, want it to name the invalid regular expression", errText)
	}
	if got := eval[string](b, `document.querySelector("`+valuesInput+`").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("values field aria-invalid = %q, want true", got)
	}
	if got := eval[string](b, `document.querySelector("`+valuesInput+`").value`); got != "(unclosed" {
		t.Errorf("after the refused save the field holds %q, want the user's input kept", got)
	}
	b.shot("flag-invalid")

	// Fixing the value saves it.
	b.setValue(valuesInput, `@corp\.example$`)
	b.submit(`button[name=step][value=review]`)
	b.submit(`button[name=step][value=save]`)
	if got := b.text(".banner.ok"); !strings.Contains(got, "Saved") {
		t.Errorf("after saving the banner reads %q, want Saved", got)
	}
	got := srv.Admin(t, "GET", "/api/v1/projects/default/flags/new-checkout/environments/production", nil)
	rules := got["targeting"].(map[string]any)["rules"].([]any)
	values := rules[0].(map[string]any)["conditions"].([]any)[0].(map[string]any)["values"].([]any)
	if values[0] != `@corp\.example$` {
		t.Errorf("stored values = %v, want the edited regex", values)
	}
}

func TestBrowserStaleEtagIsShownNeverOverwritten(t *testing.T) {
	srv := startWithRule(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/flags/new-checkout")
	b.setValue("#f-rules-0-id", "employees")
	b.submit(`button[name=step][value=review]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[name=step][value=save]`)))

	// Someone else changes the targeting meanwhile.
	srv.Admin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/production?update_mask=enabled", map[string]any{"enabled": false})

	b.submit(`button[name=step][value=save]`)
	if got := b.text(".banner.stale"); !strings.Contains(got, "Changed by someone else") {
		t.Fatalf("after a concurrent change the page shows %q, want the stale banner", got)
	}
	b.shot("flag-stale")
	if n := eval[int](b, `document.querySelectorAll("button[name=step][value=save]").length`); n != 0 {
		t.Errorf("the stale page still offers Save (%d buttons)", n)
	}
	got := srv.Admin(t, "GET", "/api/v1/projects/default/flags/new-checkout/environments/production", nil)
	tg := got["targeting"].(map[string]any)
	if tg["enabled"] == true || tg["rules"].([]any)[0].(map[string]any)["id"] != "staff" {
		t.Errorf("stored targeting = %v, want the other change kept and the stale edit not saved", tg)
	}

	// Reload shows the current version.
	b.do(chromedp.Click(chromedp.CSS(".banner.stale a")), chromedp.WaitVisible(chromedp.CSS("#f-rules-0-id")))
	if got := eval[bool](b, `document.querySelector("#f-enabled").checked`); got {
		t.Errorf("after reload the enabled box is checked, want the other change (disabled) shown")
	}
}

func TestBrowserEditFlagVariants(t *testing.T) {
	srv := startWithRule(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/flags/new-checkout")
	b.do(chromedp.Click(chromedp.CSS("section.card details summary")), chromedp.WaitVisible(chromedp.CSS("#f-variants")))
	b.setValue("#f-variants", "on: \"yes\"\noff: false")
	b.submit(`form[action="/flags/new-checkout"] button[type=submit]`)
	if got := b.text("#f-variants-err"); got == "" {
		t.Fatal("no error next to the variants for a string value in a bool flag")
	}
	b.setValue("#f-description", "Checkout, new")
	eval[bool](b, `document.querySelector("#f-variants").value = ""; true`) // implicit on/off again
	b.submit(`form[action="/flags/new-checkout"] button[type=submit]`)
	if got := b.text(".banner.ok"); !strings.Contains(got, "Saved the description") {
		t.Fatalf("after saving the banner reads %q; variants error %q", got, eval[string](b, `(document.querySelector("#f-variants-err")||{}).textContent`))
	}
	if got := srv.Admin(t, "GET", "/api/v1/projects/default/flags/new-checkout", nil); got["description"] != "Checkout, new" {
		t.Errorf("stored description = %v", got["description"])
	}
}
