package eval_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// abOverlay is a running experiment on the flag "plain" (variants a, b):
// control a and treatment b at 50/50, traffic share and segments as given.
func abOverlay(traffic int, segments ...string) *model.Overlay {
	e := &model.Experiment{
		ID: "ab", Environment: "prod", Flag: "plain", Status: model.ExperimentRunning,
		Control: model.ExperimentArm{Variant: "a", Weight: 50000}, Treatments: []model.ExperimentArm{{Variant: "b", Weight: 50000}},
		TrafficShare: traffic, Segments: segments,
	}
	return e.Overlay()
}

// experimentResult is what an experiment case checks of a result.
type experimentResult struct {
	variant    string
	reason     eval.Reason
	rule       string
	experiment string
}

func TestExperimentEvaluation(t *testing.T) {
	// Units inside and outside a 50 % traffic share under the salt "ab",
	// and units allocated to a and to b under "ab.alloc".
	inTraffic := unitWithBucket(t, "ab", func(b uint32) bool { return b < 50000 })
	outTraffic := unitWithBucket(t, "ab", func(b uint32) bool { return b >= 50000 })
	toA := unitWithBucket(t, "ab.alloc", func(b uint32) bool { return b < 50000 })
	toB := unitWithBucket(t, "ab.alloc", func(b uint32) bool { return b >= 50000 })
	inExp := func(u string) experimentResult {
		v := "a"
		if eval.Bucket("ab.alloc", u) >= 50000 {
			v = "b"
		}
		return experimentResult{v, eval.ReasonSplit, "experiment:ab", "ab"}
	}
	notIn := experimentResult{"a", eval.ReasonDefault, "default", ""}
	tests := []struct {
		name    string
		overlay *model.Overlay
		context string
		want    experimentResult
	}{
		{"everyone, allocated to control", abOverlay(100000), `{"targetingKey": "` + toA + `"}`, experimentResult{"a", eval.ReasonSplit, "experiment:ab", "ab"}},
		{"everyone, allocated to treatment", abOverlay(100000), `{"targetingKey": "` + toB + `"}`, experimentResult{"b", eval.ReasonSplit, "experiment:ab", "ab"}},
		{"inside the traffic share", abOverlay(50000), `{"targetingKey": "` + inTraffic + `"}`, inExp(inTraffic)},
		{"outside the traffic share", abOverlay(50000), `{"targetingKey": "` + outTraffic + `"}`, notIn},
		{"no unit is not in the experiment", abOverlay(100000), `{}`, notIn},
		{"traffic share 0 is nobody", abOverlay(0), `{"targetingKey": "` + toB + `"}`, notIn},
		{"in the audience segment", abOverlay(100000, "de"), `{"targetingKey": "` + toB + `", "country": "DE"}`, inExp(toB)},
		{"outside the audience segment", abOverlay(100000, "de"), `{"targetingKey": "` + toB + `", "country": "FR"}`, notIn},
	}
	doc := parseOverlayDoc(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := eval.CompileWith(doc, "prod", nil, []*model.Overlay{tc.overlay})
			if err != nil {
				t.Fatalf("CompileWith: %v", err)
			}
			r := rs.Evaluate("plain", mustContext(t, tc.context))
			got := experimentResult{r.Variant, r.Reason, r.Rule, r.Experiment}
			if got != tc.want {
				t.Errorf("Evaluate(plain, %s) = %+v, want %+v", tc.context, got, tc.want)
			}
		})
	}
}

func TestExperimentComesAfterTargets(t *testing.T) {
	e := &model.Experiment{
		ID: "ck", Flag: "checkout", Status: model.ExperimentRunning, TrafficShare: 100000,
		Control: model.ExperimentArm{Variant: "off", Weight: 1}, Treatments: []model.ExperimentArm{{Variant: "on", Weight: 99999}},
	}
	rs, err := eval.CompileWith(parseOverlayDoc(t), "prod", nil, []*model.Overlay{e.Overlay()})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs.Evaluate("checkout", eval.NewContext("pinned")); r.Rule != "targets" || r.Experiment != "" {
		t.Errorf("Evaluate(checkout, pinned) = rule %q experiment %q, want the target and no experiment", r.Rule, r.Experiment)
	}
	if r := rs.Evaluate("checkout", eval.NewContext("u").Bool("beta", true)); r.Rule != "experiment:ck" {
		t.Errorf("Evaluate(checkout, beta) = rule %q, want experiment:ck before the rules", r.Rule)
	}
}

// TestExperimentAllocationFollowsWeights checks the split of many units
// against the weights, and that the allocation bucket is independent of
// the traffic bucket: the units inside a 30 % traffic share split like
// everyone.
func TestExperimentAllocationFollowsWeights(t *testing.T) {
	e := &model.Experiment{
		ID: "abc", Flag: "plain", Status: model.ExperimentRunning, TrafficShare: 30000,
		Control: model.ExperimentArm{Variant: "a", Weight: 20000}, Treatments: []model.ExperimentArm{{Variant: "b", Weight: 80000}},
	}
	rs, err := eval.CompileWith(parseOverlayDoc(t), "prod", nil, []*model.Overlay{e.Overlay()})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	counts := map[string]int{}
	in := 0
	for i := range n {
		r := rs.Evaluate("plain", eval.NewContext(fmt.Sprintf("user-%d", i)))
		if r.Experiment == "" {
			continue
		}
		in++
		counts[r.Variant]++
	}
	if share := float64(in) / n; math.Abs(share-0.3) > 0.015 {
		t.Errorf("share in the experiment = %.4f, want 0.30 ± 0.015", share)
	}
	if share := float64(counts["a"]) / float64(in); math.Abs(share-0.2) > 0.02 {
		t.Errorf("share of control = %.4f of %d units, want 0.20 ± 0.02", share, in)
	}
}

func TestCompileWithRefusesBadExperiments(t *testing.T) {
	bad := abOverlay(100000)
	bad.Allocation = []model.Weighted{{Variant: "a", Weight: 50000}, {Variant: "zz", Weight: 50000}}
	short := abOverlay(100000)
	short.Allocation = short.Allocation[:1]
	release := &model.Overlay{Release: "r", Salt: "r", Audience: []model.AudienceStage{{Weight: 1}}, Items: []model.ReleaseItem{{Flag: "plain", Variant: "b"}}}
	tests := []struct {
		name     string
		overlays []*model.Overlay
		want     string
	}{
		{"unknown variant", []*model.Overlay{bad}, `experiment "ab": allocation: rollout[1]: unknown variant "zz"`},
		{"weights short of the total", []*model.Overlay{short}, "weights sum to 50000"},
		{"flag in a release too", []*model.Overlay{release, abOverlay(1)}, `experiment "ab": items[0]: flags/plain is in release "r" too`},
	}
	doc := parseOverlayDoc(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eval.CompileWith(doc, "prod", nil, tc.overlays)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CompileWith = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRulesetListsExperimentsApartFromReleases(t *testing.T) {
	doc := parseOverlayDoc(t)
	first, err := eval.CompileWith(doc, "prod", nil, []*model.Overlay{abOverlay(50000)})
	if err != nil {
		t.Fatal(err)
	}
	same, err := eval.CompileWith(doc, "prod", first, []*model.Overlay{abOverlay(50000)})
	if err != nil {
		t.Fatal(err)
	}
	if got := same.Experiments(); len(got) != 1 || got[0] != "ab" {
		t.Errorf("Experiments() = %v, want [ab]", got)
	}
	if got := same.Releases(); len(got) != 0 {
		t.Errorf("Releases() = %v, want none for an experiment", got)
	}
	u := unitWithBucket(t, "ab", func(b uint32) bool { return b < 50000 })
	a, b := first.Evaluate("plain", eval.NewContext(u)), same.Evaluate("plain", eval.NewContext(u))
	if a.Variant != b.Variant || a.Rule != b.Rule || a.Experiment != b.Experiment {
		t.Errorf("recompiled result = %+v, want %+v", b, a)
	}
}

func TestExperimentDoesNotAllocate(t *testing.T) {
	rs, err := eval.CompileWith(parseOverlayDoc(t), "prod", nil, []*model.Overlay{abOverlay(50000, "de", "staff")})
	if err != nil {
		t.Fatal(err)
	}
	ctxs := []*eval.Context{eval.NewContext("s1"), eval.NewContext("u").String("country", "DE"), new(eval.Context), new(eval.Context).Number("targetingKey", 7)}
	for i, ctx := range ctxs {
		if n := testing.AllocsPerRun(100, func() { rs.Evaluate("plain", ctx) }); n != 0 {
			t.Errorf("Evaluate(plain, ctxs[%d]) allocates %v times", i, n)
		}
	}
}
