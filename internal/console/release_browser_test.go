package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// dialogs accepts every confirmation dialog of a tab and keeps their
// messages.
type dialogs struct {
	mu   sync.Mutex
	msgs []string
}

// acceptDialogs answers "OK" to every dialog the tab opens from now on.
func acceptDialogs(b *tab) *dialogs {
	d := &dialogs{}
	events := chromedp.Events(b.ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.msgs = append(d.msgs, ev.Message)
			d.mu.Unlock()
			if _, err := chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	}()
	return d
}

func (d *dialogs) last() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.msgs) == 0 {
		return ""
	}
	return d.msgs[len(d.msgs)-1]
}

// releaseDoc is a project with a bool flag new-checkout, off in production.
const releaseDoc = `{"document": {"version": 1, "project": "default", "environments": ["production", "staging"],
  "flags": [{"key": "new-checkout", "type": "bool", "description": "The new checkout flow",
    "environments": {"production": {"enabled": true, "default": {"variant": "off"}}}}]}}`

// createRelease drafts release spring through the new-release form: a
// release of new-checkout in two stages, 10 % behind a manual gate, then
// everyone behind an approval (the form's defaults). A wait gate without a
// valid duration is refused first, with the API's error next to its
// field.
func (b *tab) createRelease() {
	b.t.Helper()
	b.open("/new/release")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#f-id"), "spring"),
		chromedp.SendKeys(chromedp.CSS("#f-title"), "Spring launch"),
		chromedp.SendKeys(chromedp.CSS("#f-owner"), "release-team"),
		chromedp.SendKeys(chromedp.CSS("#f-release_notes"), "The new checkout for everyone."),
		chromedp.SendKeys(chromedp.CSS("#item-0-flag"), "new-checkout"),
		chromedp.SendKeys(chromedp.CSS("#item-0-variant"), "on"),
		chromedp.SendKeys(chromedp.CSS("#plan-1-wait"), "soon"),
	)
	b.set("#plan-1-gate", "wait")
	b.do(
		chromedp.Click(chromedp.CSS(`form.new-release button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#plan-1-wait-err")),
	)
	if got := b.text("#plan-1-wait-err"); !strings.Contains(got, "plan[1].gate.wait.duration") || !strings.Contains(got, `"soon"`) {
		b.t.Errorf("the wait's error reads %q, want the API's plan[1].gate.wait.duration error", got)
	}
	if got := eval[string](b, `document.querySelector("#plan-1-wait").getAttribute("aria-invalid")`); got != "true" {
		b.t.Errorf("the invalid wait has aria-invalid %q", got)
	}
	if got := eval[string](b, `document.querySelector("#f-id").value`); got != "spring" {
		b.t.Errorf("the refused form kept id %q, want spring", got)
	}
	b.shot("release-new-invalid")
	b.set("#plan-1-gate", "approval")
	b.set("#plan-1-wait", "")
	b.do(
		chromedp.Click(chromedp.CSS(`form.new-release button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.release-state[data-state="DRAFT"]`)),
	)
}

// startReleaseServer serves releaseDoc and returns the admin tokens of
// two people, alice and bob, both created by the bootstrap admin and so
// unrelated to each other: one may approve what the other requests.
func startReleaseServer(t *testing.T) (srv *servertest.Server, alice, bob string) {
	t.Helper()
	srv = servertest.Start(t, servertest.Options{})
	srv.Call(t, "POST", "/api/v1/documents:import", srv.Creds.AdminToken, json.RawMessage(releaseDoc))
	person := func(name string) string {
		key := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{"name": name, "kind": "admin", "role": "admin", "principal": name})
		return key["secret"].(string)
	}
	return srv, person("alice"), person("bob")
}

// draftSpring drafts release spring of new-checkout → on in production
// with the named stages: 10 % each, the last one everyone.
func draftSpring(t *testing.T, srv *servertest.Server, stages ...string) {
	t.Helper()
	plan := make([]any, len(stages))
	for i, name := range stages {
		weight := 10000
		if i == len(stages)-1 {
			weight = 100000
		}
		plan[i] = map[string]any{"name": name, "weight": weight}
	}
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", map[string]any{
		"id": "spring", "environment": "production", "release_notes": "n",
		"items": []any{map[string]any{"flag": "new-checkout", "variant": "on"}},
		"plan":  plan,
	})
}

// connectSDK connects a real Go SDK to srv's production and waits until
// it has the ruleset.
func connectSDK(t *testing.T, srv *servertest.Server) {
	t.Helper()
	c, err := sdk.New(context.Background(), sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, Name: "console-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// set sets the value of the form control sel.
func (b *tab) set(sel, value string) {
	b.t.Helper()
	eval[bool](b, `(() => { const el = document.querySelector(`+strconv.Quote(sel)+`); el.value = `+strconv.Quote(value)+`; return true })()`)
}

// ofrepCheckout evaluates new-checkout for unit through OFREP.
func ofrepCheckout(t *testing.T, srv *servertest.Server, unit string) any {
	t.Helper()
	r := srv.Call(t, "POST", "/ofrep/v1/evaluate/flags/new-checkout", srv.Creds.SDKKey, `{"context": {"targetingKey": "`+unit+`"}}`)
	var out struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("OFREP answer %d %s: %v", r.Status, r.Body, err)
	}
	return out.Value
}

// act clicks a release or experiment action's button and waits for the
// page that follows to show sel.
func (b *tab) act(action, sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(`form[action$="/`+action+`"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// actions are the names of the action buttons on the page.
func (b *tab) actions() []string {
	b.t.Helper()
	return eval[[]string](b, `Array.from(document.querySelectorAll("form.release-action, form.experiment-action")).map(f => f.action.split("/").pop())`)
}

func TestBrowserStagedReleaseStartApproveRollBack(t *testing.T) {
	srv, alice, approver := startReleaseServer(t)

	requester := newTab(t, srv)
	confirms := acceptDialogs(requester)
	requester.signIn(alice)
	requester.createRelease()
	requester.open("/releases")
	if got := requester.text("main table tbody th a"); got != "spring" {
		t.Errorf("releases list shows %q, want spring", got)
	}
	// A real SDK streams production, so the page shows its convergence.
	connectSDK(t, srv)
	requester.open("/releases/spring?project=default")
	if got := requester.actions(); !slices.Equal(got, []string{"start", "cancel"}) {
		t.Errorf("draft actions = %v, want start, cancel", got)
	}
	requester.act("start", `.release-state[data-stage="1"]`)
	requester.do(chromedp.Poll[chromedp.Void](`document.querySelector("#release-status").textContent.includes("1 of 1 SDKs")`,
		chromedp.WithPollingInterval(200*time.Millisecond)))
	if got := confirms.last(); !strings.HasPrefix(got, "Start spring in production: stage 1 (canary: 10 % of everyone) gets 1 item(s)") {
		t.Errorf("start confirmation = %q, want it to name the consequence", got)
	}
	if got := requester.text(".release-state"); !strings.Contains(got, "In progress") || !strings.Contains(got, "approval of everyone (0 of 1)") {
		t.Errorf("after start the state reads %q, want in progress, waiting for approval", got)
	}

	// The requester may not approve their own release: the page offers
	// no Approve button (and the server would refuse it).
	if got := requester.actions(); slices.Contains(got, "approve") {
		t.Errorf("the requester is offered %v, want no approve", got)
	}

	// Another principal approves in their own session.
	other := newTab(t, srv)
	acceptDialogs(other)
	other.signIn(approver)
	other.open("/releases/spring?project=default")
	other.act("approve", `form[action$="/advance"]`)
	if got := other.text(".release-state"); !strings.Contains(got, "(1 of 1)") {
		t.Errorf("after approval the state reads %q, want 1 of 1 approvals", got)
	}

	// The requester's page shows the approval without a reload: its
	// poller brings the Advance button.
	requester.do(chromedp.WaitVisible(chromedp.CSS(`form[action$="/advance"]`)))
	requester.act("advance", `.release-state[data-stage="2"]`)
	if v := ofrepCheckout(t, srv, "u1"); v != true {
		t.Errorf("at stage everyone OFREP new-checkout = %v, want true", v)
	}
	requester.shot("release")

	requester.act("rollback", `.release-state[data-state="ROLLED_BACK"]`)
	if got := confirms.last(); !strings.HasPrefix(got, "Roll back spring: in one revision, everyone in production") {
		t.Errorf("rollback confirmation = %q", got)
	}
	if v := ofrepCheckout(t, srv, "u1"); v != false {
		t.Errorf("after the roll-back OFREP new-checkout = %v, want false", v)
	}
	events := eval[string](requester, `Array.from(document.querySelectorAll("#events-h ~ .table-wrap tbody tr td:nth-child(2)")).map(td => td.textContent.trim()).join(",")`)
	if events != "create,start,approve,advance,roll back" {
		t.Errorf("timeline events = %q, want create,start,approve,advance,roll back", events)
	}
	if got := eval[int](requester, `document.querySelectorAll("#release-timeline .sy-stage-bar").length`); got != 2 {
		t.Errorf("timeline chart has %d stage bars, want 2", got)
	}
	requester.shot("release-rolled-back")

	// The other pages, in a tab of their own (each tab's budget is a minute).
	requester = newTab(t, srv)
	requester.signIn(alice)
	requester.open("/releases")
	requester.shot("releases")
	requester.open("/reports")
	requester.shot("report")
	if got := requester.text(".kpis"); !strings.Contains(got, "Rollbacks") {
		t.Errorf("report KPIs = %q", got)
	}
	for _, path := range []string{"/releases", "/releases/spring?project=default", "/new/release", "/reports"} {
		requester.open(path)
		if got := requester.unlabelled(); len(got) > 0 {
			t.Errorf("%s: controls without a label: %v", path, got)
		}
	}
	requester.dark()
	requester.open("/releases/spring?project=default")
	requester.shot("release-dark")
	requester.open("/reports")
	requester.shot("report-dark")
	requester.phone()
	requester.open("/releases/spring?project=default")
	requester.shot("release-phone")
}

// unlabelled names the page's form controls that have no label.
func (b *tab) unlabelled() []string {
	b.t.Helper()
	return eval[[]string](b, `Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).filter(function (el) {
		return !(el.labels && el.labels.length) && !el.getAttribute("aria-label");
	}).map(function (el) { return el.name || el.id; })`)
}

func TestViewerSeesNoReleaseOrExperimentActionsAndIsRefused(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	draftSpring(t, srv, "everyone")
	secret := viewerToken(t, srv)

	b := newTab(t, srv)
	b.signIn(secret)
	for _, path := range []string{"/releases", "/releases/spring?project=default"} {
		b.open(path)
		if n := eval[int](b, `document.querySelectorAll('main form[method=post], a[href^="/new/release"]').length`); n != 0 {
			t.Errorf("a viewer's %s has %d mutating forms or links, want 0", path, n)
		}
	}
	b.shot("release-viewer")

	viewer := signInHTTP(t, srv, secret)
	start := url.Values{"project": {"default"}}
	if status, body := viewer.post("/releases/spring/start", start, ""); status != http.StatusForbidden {
		t.Errorf("a start without a CSRF token = %d %.200s, want 403", status, body)
	}
	start.Set("csrf", viewer.csrf())
	if status, body := viewer.post("/releases/spring/start", start, ""); status != http.StatusForbidden || !strings.Contains(body, "Your role may not do this") {
		t.Errorf("a viewer's start with a valid CSRF token = %d %.300s, want 403 naming the role", status, body)
	}
	if got := srv.Admin(t, "GET", "/api/v1/projects/default/releases/spring", nil)["state"]; got != "DRAFT" {
		t.Errorf("after the viewer's start the release is %v, want DRAFT", got)
	}
}

// TestBrowserNewReleaseWithAtGateGuardrailAndLinks drafts a push release
// whose first stage opens at a time (UTC), waits for convergence and
// connected SDKs and carries a guardrail; an invalid metric key is refused
// first with the API's error next to the metric.
func TestBrowserNewReleaseWithAtGateGuardrailAndLinks(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/new/release")
	if got := eval[string](b, `document.querySelector("#plan-0-at").type`); got != "datetime-local" {
		t.Errorf("the at input has type %q, want datetime-local", got)
	}
	if got := b.text(`label[for="plan-0-at"]`); !strings.Contains(got, "UTC") {
		t.Errorf("the at label reads %q, want the time zone named", got)
	}
	b.do(
		chromedp.SendKeys(chromedp.CSS("#f-id"), "autumn"),
		chromedp.SendKeys(chromedp.CSS("#f-title"), "Autumn launch"),
		chromedp.SendKeys(chromedp.CSS("#f-ticket"), "OPS-42"),
		chromedp.SendKeys(chromedp.CSS("#f-change_record"), "CHG-7"),
		chromedp.SendKeys(chromedp.CSS("#item-0-flag"), "new-checkout"),
		chromedp.SendKeys(chromedp.CSS("#item-0-variant"), "on"),
		chromedp.SendKeys(chromedp.CSS("#plan-0-convergence"), "90"),
		chromedp.SendKeys(chromedp.CSS("#plan-0-connected"), "2"),
		chromedp.SendKeys(chromedp.CSS("#plan-0-metric"), "Not A Metric!"),
		chromedp.SendKeys(chromedp.CSS("#plan-0-threshold"), "5"),
	)
	b.set("#f-mode", "push")
	b.set("#plan-0-gate", "at")
	b.set("#plan-0-at", "2031-05-04T09:30")
	b.set("#plan-0-action", "rollback")
	b.do(
		chromedp.Click(chromedp.CSS(`form.new-release button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#plan-0-metric-err")),
	)
	if got := b.text("#plan-0-metric-err"); !strings.Contains(got, "plan[0].guardrail.metric") {
		t.Errorf("the metric's error reads %q, want the API's plan[0].guardrail.metric error", got)
	}
	if got := eval[string](b, `document.querySelector("#plan-0-at").value + " " + document.querySelector("#f-mode").value + " " + document.querySelector("#plan-0-action").value`); got != "2031-05-04T09:30 push rollback" {
		t.Errorf("the refused form kept at, mode and action %q", got)
	}
	b.shot("release-new-guardrail-invalid")
	b.set("#plan-0-metric", "checkout-errors")
	b.do(
		chromedp.Click(chromedp.CSS(`form.new-release button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.release-state[data-state="DRAFT"]`)),
	)
	rel := srv.Admin(t, "GET", "/api/v1/projects/default/releases/autumn", nil)
	got, _ := json.Marshal(map[string]any{"mode": rel["mode"], "links": rel["links"], "stage": rel["plan"].([]any)[0]})
	for _, want := range []string{`"mode":"push"`, `"ticket":"OPS-42"`, `"change_record":"CHG-7"`, `"time":"2031-05-04T09:30:00Z"`,
		`"min_convergence":0.9`, `"min_connected":2`, `"metric":"checkout-errors"`, `"threshold":0.05`, `"action":"rollback"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the drafted release %s lacks %s", got, want)
		}
	}
}

// TestBrowserReleaseChartsKeepTheirSizeOnAPhone opens a release on a
// phone's width: its charts keep a readable width and scroll sideways
// inside their container instead of shrinking their text or widening the
// page.
func TestBrowserReleaseChartsKeepTheirSizeOnAPhone(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	draftSpring(t, srv, "canary", "everyone")
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.phone()
	b.open("/releases/spring?project=default")
	charts := eval[[]map[string]float64](b, `Array.from(document.querySelectorAll(".chart")).map(c => ({
		svg: c.querySelector("svg").getBoundingClientRect().width, box: c.clientWidth, scroll: c.scrollWidth,
		overflow: getComputedStyle(c).overflowX === "auto" ? 1 : 0}))`)
	if len(charts) == 0 {
		t.Fatal("the release page shows no chart")
	}
	for i, c := range charts {
		if c["svg"] < 560 {
			t.Errorf("chart %d is %.0f px wide on a phone, want at least 560 so its text stays readable", i, c["svg"])
		}
		if c["overflow"] != 1 || c["scroll"] <= c["box"] {
			t.Errorf("chart %d does not scroll inside its container: %v", i, c)
		}
	}
	if w := eval[float64](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the page is %.0f px wide on a 390 px phone", w)
	}
	b.shot("release-charts-phone")
}

// TestBrowserAddIncidentFromTheReleasePage records an incident on a
// started release from its page: it shows in the incidents card with its
// severity, time (UTC) and summary; a draft offers no incident form.
func TestBrowserAddIncidentFromTheReleasePage(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	draftSpring(t, srv, "canary", "everyone")
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/releases/spring?project=default")
	if n := eval[int](b, `document.querySelectorAll("form.incident-form").length`); n != 0 {
		t.Errorf("a draft offers %d incident forms, want none", n)
	}
	srv.Admin(t, "POST", "/api/v1/projects/default/releases/spring:start", map[string]any{})
	b.open("/releases/spring?project=default")
	b.set("#incident-severity", "high")
	b.set("#incident-time", "2026-03-01T14:05")
	b.do(chromedp.SendKeys(chromedp.CSS("#incident-note"), "checkout errors spiked"))
	b.do(
		chromedp.Click(chromedp.CSS(`form.incident-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("ul.incidents li")),
	)
	got := b.text("ul.incidents li")
	for _, want := range []string{"high", "2026-03-01 14:05", "checkout errors spiked"} {
		if !strings.Contains(got, want) {
			t.Errorf("the incident reads %q, want %q in it", got, want)
		}
	}
	incs := srv.Admin(t, "GET", "/api/v1/projects/default/releases/spring", nil)["incidents"]
	if b, _ := json.Marshal(incs); !strings.Contains(string(b), `"severity":"high"`) || !strings.Contains(string(b), `"2026-03-01T14:05:00Z"`) {
		t.Errorf("the release's incidents are %s", b)
	}
	b.shot("release-incident")
}

// TestBrowserWriteReviewOfAnEndedRelease writes the review of a cancelled
// release from its page: an outcome the API does not know is refused with
// its error next to the form, then a failure with its lessons shows in the
// review card.
func TestBrowserWriteReviewOfAnEndedRelease(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	draftSpring(t, srv, "everyone")
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/releases/spring?project=default")
	if n := eval[int](b, `document.querySelectorAll("form.review-form").length`); n != 0 {
		t.Errorf("a draft offers %d review forms, want none", n)
	}
	srv.Admin(t, "POST", "/api/v1/projects/default/releases/spring:cancel", map[string]any{})
	b.open("/releases/spring?project=default")
	eval[bool](b, `(() => { const o = document.createElement("option"); o.text = "meh"; document.querySelector("#review-outcome").add(o); return true })()`)
	b.set("#review-outcome", "meh")
	b.do(
		chromedp.Click(chromedp.CSS(`form.review-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#review-err")),
	)
	if got := b.text("#review-err"); !strings.Contains(got, "review.outcome") {
		t.Errorf("the refused review reads %q, want the API's review.outcome error", got)
	}
	b.set("#review-outcome", "failure")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#review-notes"), "Plan the canary earlier."),
		chromedp.Click(chromedp.CSS(`form.review-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("p.review")),
	)
	if got := b.text("p.review"); !strings.Contains(got, "failure") || !strings.Contains(got, "Plan the canary earlier.") {
		t.Errorf("the review reads %q", got)
	}
	rv := srv.Admin(t, "GET", "/api/v1/projects/default/releases/spring", nil)["review"]
	if got, _ := json.Marshal(rv); !strings.Contains(string(got), `"outcome":"failure"`) {
		t.Errorf("the release's review is %s", got)
	}
	b.shot("release-review")
}

// TestBrowserNewReleaseOfAComponentVersion drafts a release of a
// registered component version picked from the form's list.
func TestBrowserNewReleaseOfAComponentVersion(t *testing.T) {
	srv := startWithComponent(t)
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/new/release")
	opts := eval[[]string](b, `Array.from(document.querySelectorAll("#item-3-version option")).map(o => o.value)`)
	if !slices.Contains(opts, "ios-app@2.5.0") || !slices.Contains(opts, "ios-app@2.3.0") {
		t.Fatalf("the version picker offers %q, want ios-app's registered versions", opts)
	}
	b.do(
		chromedp.SendKeys(chromedp.CSS("#f-id"), "ios-25"),
		chromedp.SendKeys(chromedp.CSS("#f-release_notes"), "iOS 2.5.0"),
	)
	b.set("#item-3-version", "ios-app@2.5.0")
	b.do(
		chromedp.Click(chromedp.CSS(`form.new-release button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.release-state[data-state="DRAFT"]`)),
	)
	items, _ := json.Marshal(srv.Admin(t, "GET", "/api/v1/projects/default/releases/ios-25", nil)["items"])
	if !strings.Contains(string(items), `"component":"ios-app"`) || !strings.Contains(string(items), `"version":"2.5.0"`) {
		t.Errorf("the drafted release's items are %s, want ios-app 2.5.0", items)
	}
	b.shot("release-new-component")
}

// TestBrowserNewReleaseFromAReleaseModel picks a release model on the
// new-release form: its stages, more than the form's default rows, fill
// the plan and the drafted release names the model.
func TestBrowserNewReleaseFromAReleaseModel(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	srv.Admin(t, "POST", "/api/v1/projects/default/release-models", map[string]any{
		"key": "three-step", "title": "Three steps", "mode": "push",
		"stages": []any{
			map[string]any{"name": "one", "weight": 1000, "min_convergence": 0.5},
			map[string]any{"name": "half", "weight": 50000, "gate": map[string]any{"wait": map[string]any{"duration": "2h"}}},
			map[string]any{"name": "most", "weight": 75000},
			map[string]any{"name": "more", "weight": 90000},
			map[string]any{"name": "all", "weight": 100000, "gate": map[string]any{"approval": map[string]any{}}},
		},
	})
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/new/release")
	b.set("#from-model", "three-step")
	b.submit(`form.from-model button[type=submit]`)
	got := eval[string](b, `["#plan-0-name", "#plan-0-percent", "#plan-0-convergence", "#plan-1-name", "#plan-1-gate", "#plan-1-wait", "#plan-4-gate", "#f-mode"].map(s => document.querySelector(s).value).join(" ")`)
	if got != "one 1 50 half wait 2h approval push" {
		t.Errorf("the model filled the plan with %q", got)
	}
	b.shot("release-new-from-model")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#f-id"), "modelled"),
		chromedp.SendKeys(chromedp.CSS("#item-0-flag"), "new-checkout"),
		chromedp.SendKeys(chromedp.CSS("#item-0-variant"), "on"),
		chromedp.Click(chromedp.CSS(`form.new-release button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.release-state[data-state="DRAFT"]`)),
	)
	rel := srv.Admin(t, "GET", "/api/v1/projects/default/releases/modelled", nil)
	if rel["model"] != "three-step" || rel["mode"] != "push" || len(rel["plan"].([]any)) != 5 {
		t.Errorf("the drafted release has model %v, mode %v and %d stages, want three-step, push, 5", rel["model"], rel["mode"], len(rel["plan"].([]any)))
	}
}
