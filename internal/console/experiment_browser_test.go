package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// sendExposures sends, through the events API, an exposure of n units to
// variant of new-checkout in experiment ab, and a purchase by every
// converted-th of them.
func sendExposures(t *testing.T, b *tab, variant string, n, converted int) {
	t.Helper()
	var events []any
	for i := range n {
		unit := fmt.Sprintf("%s-%d", variant, i)
		events = append(events, map[string]any{"exposure": map[string]any{"flag": "new-checkout", "variant": variant, "unit": unit, "experiment": "ab"}})
		if i%converted == 0 {
			events = append(events, map[string]any{"track": map[string]any{"key": "purchase", "unit": unit}})
		}
	}
	b.srv.Admin(t, "POST", "/api/v1/events", map[string]any{"project": "default", "environment": "production", "events": events})
}

func TestBrowserExperimentWithSampleRatioMismatchShowsTheBanner(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	srv.Admin(t, "POST", "/api/v1/projects/default/metrics", map[string]any{"key": "purchase", "kind": "conversion", "description": "Completed a purchase"})
	srv.Admin(t, "POST", "/api/v1/projects/default/experiments", map[string]any{
		"id": "ab", "title": "One-page checkout", "hypothesis": "A one-page checkout converts more visitors into buyers.",
		"environment": "production", "flag": "new-checkout", "owner": "growth",
		"control": map[string]any{"variant": "off", "weight": 50000}, "treatments": []any{map[string]any{"variant": "on", "weight": 50000}},
		"traffic_share": 100000, "primary_metric": "purchase", "min_sample_size": 500,
	})

	b := newTab(t, srv)
	confirms := acceptDialogs(b)
	b.signIn(srv.Creds.AdminToken)
	b.open("/experiments/ab?project=default")
	b.act("start", `form[action$="/ship"]`)
	if got := confirms.last(); !strings.HasPrefix(got, "Start ab: 100 % of everyone in production is split off 50 % · on 50 %") {
		t.Errorf("start confirmation = %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll(".banner.srm").length`); n != 0 {
		t.Errorf("an experiment without exposures shows %d SRM banners", n)
	}

	// 400 units against a 50/50 split: 300 and 100 is no chance.
	sendExposures(t, b, "off", 300, 10)
	sendExposures(t, b, "on", 100, 5)
	// The page's poller brings the results in without a reload.
	b.do(chromedp.WaitVisible(chromedp.CSS(".banner.srm")))
	if got := b.text(".banner.srm"); !strings.Contains(got, "Sample ratio mismatch") || !strings.Contains(got, "p < 0.001") {
		t.Errorf("SRM banner = %q", got)
	}
	if got := eval[string](b, `document.querySelector(".banner.srm").getAttribute("role")`); got != "alert" {
		t.Errorf("SRM banner role = %q, want alert", got)
	}
	rows := eval[string](b, `Array.from(document.querySelectorAll("#sample-h ~ .table-wrap tbody td:nth-child(3)")).map(td => td.textContent).join(",")`)
	if rows != "300,100" {
		t.Errorf("exposed units = %q, want 300,100", rows)
	}
	if got := eval[int](b, `document.querySelectorAll("#forest-purchase .sy-point").length`); got != 1 {
		t.Errorf("forest plot has %d estimates, want 1", got)
	}
	if got := eval[int](b, `document.querySelectorAll("#experiment-exposures .sy-series").length`); got != 2 {
		t.Errorf("exposures chart has %d series, want 2", got)
	}
	b.shot("experiment")
	if got := b.unlabelled(); len(got) > 0 {
		t.Errorf("experiment page: controls without a label: %v", got)
	}
	b.dark()
	b.open("/experiments/ab?project=default")
	b.shot("experiment-dark")
	b.phone()
	b.open("/experiments/ab?project=default")
	b.shot("experiment-phone")
	b.do(chromedp.EmulateViewport(1280, 800))
	b.open("/experiments/ab?project=default")

	b.set("#ship-variant", "on")
	b.act("ship", `h1 [data-status="STOPPED"]`)
	if v := ofrepCheckout(t, srv, "someone-new"); v != true {
		t.Errorf("after shipping on, OFREP new-checkout = %v, want true", v)
	}
	b.open("/experiments")
	b.shot("experiments")
}
