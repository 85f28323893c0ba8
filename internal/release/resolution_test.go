package release_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// runningRelease is at its second stage: staff, then half of the EU.
func runningRelease(items ...model.ReleaseItem) *model.Release {
	return &model.Release{
		ID: "r", Environment: "production", Salt: "r", State: model.StateInProgress, Stage: 2,
		Items: items,
		Plan: []model.Stage{
			{Segments: []string{"staff"}, Weight: 100000},
			{Segments: []string{"eu"}, Weight: 50000},
			{Weight: 100000},
		},
	}
}

var (
	checkoutOn = model.ReleaseItem{Flag: "checkout", Variant: "on"}
	bannerNew  = model.ReleaseItem{Flag: "banner", Variant: "new"}
	app2       = model.ReleaseItem{Component: "app", Version: "2.0.0"}
	darkOn     = model.ReleaseItem{Flag: "dark", Variant: "on"}
)

// compiled compiles testDoc's production with overlays, at revision 7.
func compiled(t *testing.T, overlays ...*model.Overlay) (*model.Document, *eval.Ruleset) {
	t.Helper()
	doc, err := model.Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := eval.CompileWith(doc, "production", nil, overlays)
	if err != nil {
		t.Fatal(err)
	}
	rs.Revision = 7
	return doc, rs
}

func TestCheckResolutionPassesOnTheServedOverlay(t *testing.T) {
	r := runningRelease(checkoutOn, bannerNew, app2)
	doc, published := compiled(t, r.Overlay())
	c := release.CheckResolution(doc, r, nil, published, time.Now())
	if !c.Passed || c.Error != "" || c.Mismatches != 0 || c.Revision != 7 || c.Stage != 2 {
		t.Fatalf("check = %+v, want passed at revision 7, stage 2", c)
	}
	// 200 synthetic keys, the 2 staff keys, 20 EU contexts of which
	// about half are in the 50 %.
	if c.Contexts != 222 || c.Evaluations != 3*c.Contexts || c.InAudience <= 2 || c.InAudience >= 22 {
		t.Errorf("check sampled %d contexts (%d in, %d out), %d evaluations; want 222 contexts, staff and about half the EU in",
			c.Contexts, c.InAudience, c.OutOfAudience, c.Evaluations)
	}
}

func TestCheckResolutionFindsAStaleRuleset(t *testing.T) {
	r := runningRelease(checkoutOn, app2)
	doc, stale := compiled(t) // the overlay never reached the ruleset
	c := release.CheckResolution(doc, r, nil, stale, time.Now())
	if c.Passed || c.Mismatches != 2*c.InAudience || len(c.First) != release.MaxMismatches {
		t.Fatalf("check = %+v, want every in-audience evaluation a mismatch, %d listed", c, release.MaxMismatches)
	}
	m := c.First[0]
	if !m.InAudience || m.Want != "on (TARGETING_MATCH, release:r)" || m.Got != "off (STATIC, default)" {
		t.Errorf("first mismatch %+v, want on by release:r, got off by default", m)
	}
}

func TestCheckResolutionFindsALeakOutsideTheAudience(t *testing.T) {
	r := runningRelease(checkoutOn)
	wide := *r
	wide.Stage = 3 // the ruleset serves everyone, the plan half the EU
	doc, published := compiled(t, wide.Overlay())
	c := release.CheckResolution(doc, r, nil, published, time.Now())
	if c.Passed || c.Mismatches != c.OutOfAudience || c.First[0].InAudience {
		t.Errorf("check = %+v, want each out-of-audience context a mismatch", c)
	}
}

func TestCheckResolutionLeavesDisabledFlagsAlone(t *testing.T) {
	r := runningRelease(darkOn)
	doc, published := compiled(t, r.Overlay())
	c := release.CheckResolution(doc, r, nil, published, time.Now())
	if !c.Passed {
		t.Errorf("check = %+v, want passed: a disabled flag serves its off variant to the audience too", c)
	}
}

func TestCheckResolutionAfterRollBack(t *testing.T) {
	r := runningRelease(checkoutOn, app2)
	r.State = model.StateRolledBack
	cases := []struct {
		name     string
		overlays []*model.Overlay
		passed   bool
	}{
		{"overlay gone", nil, true},
		{"overlay left behind", []*model.Overlay{runningRelease(checkoutOn, app2).Overlay()}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, published := compiled(t, tc.overlays...)
			c := release.CheckResolution(doc, r, nil, published, time.Now())
			if c.Passed != tc.passed || c.Action != "roll_back" || c.InAudience != 0 || c.Contexts != 222 {
				t.Errorf("check = %+v, want passed %v for roll_back with no one in the audience", c, tc.passed)
			}
		})
	}
}

func TestCheckResolutionAfterCompletion(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "done", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "checkout", "variant": "on"}, {"component": "app", "version": "2.0.0"}],
	  "plan": [{"segments": ["staff"], "weight": 100000}, {"segments": ["eu"], "weight": 100000}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("done"), time.Time{}) })
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("done")) })
	running, _ := eval.CompileWith(e.project().Document(), "production", nil, e.project().Overlays("production"))
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("done")) })
	r := e.release("done")
	completed, err := eval.CompileWith(e.project().Document(), "production", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := release.CheckResolution(e.project().Document(), r, nil, completed, time.Now())
	if !c.Passed || c.Action != "complete" || c.InAudience == 0 {
		t.Fatalf("check of the completed targeting = %+v, want passed", c)
	}
	// The ruleset from before completion still serves the overlay's rule.
	c = release.CheckResolution(e.project().Document(), r, nil, running, time.Now())
	if c.Passed || !strings.Contains(c.First[0].Got, "release:done") {
		t.Errorf("check of a stale ruleset = %+v, want mismatches served by release:done", c)
	}
}

// BenchmarkCheckResolution measures one check of three items: the
// compilation without the release and 222 contexts × 3 items × 2
// evaluations.
func BenchmarkCheckResolution(b *testing.B) {
	r := runningRelease(checkoutOn, bannerNew, app2)
	doc, err := model.Parse([]byte(testDoc))
	if err != nil {
		b.Fatal(err)
	}
	published, err := eval.CompileWith(doc, "production", nil, []*model.Overlay{r.Overlay()})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for b.Loop() {
		if c := release.CheckResolution(doc, r, nil, published, now); !c.Passed {
			b.Fatal("check failed")
		}
	}
}

func TestCheckResolutionBucketsByAPointer(t *testing.T) {
	r := runningRelease(checkoutOn)
	r.BucketBy = "/device/id"
	doc, published := compiled(t, r.Overlay())
	c := release.CheckResolution(doc, r, nil, published, time.Now())
	// The 50 % of the EU stage needs the unit under /device/id: without it
	// only the 2 staff keys would be in the audience.
	if !c.Passed || c.InAudience <= 2 {
		t.Fatalf("check = %+v, want passed with staff and about half the EU in", c)
	}
}
