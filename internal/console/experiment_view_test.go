package console

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

func f64(v float64) *float64 { return &v }

func sampleExperiment(status string) *pb.Experiment {
	return &pb.Experiment{
		Id: "checkout-ab", Title: "Checkout A/B", Hypothesis: "One page converts better", Environment: "production",
		Flag: "new-checkout", Status: status, TrafficShare: 100000, PrimaryMetric: "purchase", MinSampleSize: 1000,
		Control:    &pb.ExperimentArm{Variant: "off", Weight: 50000},
		Treatments: []*pb.ExperimentArm{{Variant: "on", Weight: 50000}},
	}
}

func sampleResults(mismatch bool) *pb.ExperimentResults {
	return &pb.ExperimentResults{
		Arms: []*pb.ExperimentArmResult{
			{Variant: "off", Weight: 50000, Control: true, Units: 1200, MinSampleReached: true},
			{Variant: "on", Weight: 50000, Units: 600},
		},
		Srm: &pb.SampleRatioCheck{ChiSquare: f64(200), Df: f64(1), PValue: f64(1e-9), Mismatch: mismatch},
		Metrics: []*pb.MetricResult{{
			Metric: "purchase", Kind: "conversion", Primary: true,
			Variants: []*pb.MetricVariantResult{
				{Variant: "off", Units: 1200, Conversions: 120, Rate: f64(0.1)},
				{Variant: "on", Units: 600, Conversions: 78, Rate: f64(0.13), AbsLift: f64(0.03), AbsCiLow: f64(-0.001), AbsCiHigh: f64(0.061),
					RelLift: f64(0.3), RelCiLow: f64(-0.01), RelCiHigh: f64(0.61), PValue: f64(0.052), Outcome: "inconclusive"},
			},
		}},
		IgnoredEvents: map[string]int64{"before_start": 3, "after_stop": 1},
		Verdict:       "Inconclusive so far.",
	}
}

func TestExperimentViewShowsTheSRMBanner(t *testing.T) {
	v := experimentView(sampleExperiment(experimentRunning), sampleResults(true), false)
	if !v.SRM.Mismatch || !strings.HasPrefix(v.SRM.Text, "The exposed units do not match the allocation (χ² = 200 with 1 df, p < 0.001)") {
		t.Errorf("SRM = %+v, want a mismatch naming χ² and p", v.SRM)
	}
	if v := experimentView(sampleExperiment(experimentRunning), sampleResults(false), false); v.SRM.Mismatch {
		t.Errorf("SRM = %+v without a mismatch", v.SRM)
	}
	if v := experimentView(sampleExperiment(experimentDraft), &pb.ExperimentResults{}, false); v.SRM.Mismatch || !strings.Contains(v.SRM.Text, "not enough exposures") {
		t.Errorf("SRM without data = %+v", v.SRM)
	}
}

func TestExperimentViewFormatsResults(t *testing.T) {
	v := experimentView(sampleExperiment(experimentRunning), sampleResults(false), false)
	if a := v.Arms[1]; a.Progress != 60 || a.Reached || a.Weight != "50 %" {
		t.Errorf("arm on = %+v, want 60 %% of the minimum sample", a)
	}
	m := v.Metrics[0]
	if m.Role != "primary" || len(m.Rows) != 2 {
		t.Fatalf("metric = %+v", m)
	}
	want := MetricRowView{
		Variant: "on", Units: 600, Value: "13.00 % (78 of 600)", AbsLift: "+3.00 pp", AbsCI: "[−0.10 pp, +6.10 pp]",
		RelLift: "+30 %", RelCI: "[−1 %, +61 %]", PValue: "0.052", Outcome: "● inconclusive", OutcomeKey: "inconclusive",
	}
	if m.Rows[1] != want {
		t.Errorf("treatment row = %+v, want %+v", m.Rows[1], want)
	}
	if m.Rows[0].Value != "10.00 % (120 of 1200)" || m.Rows[0].AbsLift != "" {
		t.Errorf("control row = %+v", m.Rows[0])
	}
	for _, s := range []string{"on vs off: +30 % (95 % CI −1 % to +61 %)", "● inconclusive, p = 0.052"} {
		if !strings.Contains(string(m.Forest), s) {
			t.Errorf("forest plot lacks %q", s)
		}
	}
	if !slices.Equal(v.Ignored, []string{"after stop: 1", "before start: 3"}) {
		t.Errorf("ignored = %v", v.Ignored)
	}
}

func TestExperimentViewUndefinedQuantities(t *testing.T) {
	res := sampleResults(false)
	res.Metrics[0].Variants[1] = &pb.MetricVariantResult{Variant: "on", Outcome: "inconclusive"}
	m := experimentView(sampleExperiment(experimentRunning), res, false).Metrics[0]
	if r := m.Rows[1]; r.Value != "– (0 of 0)" || r.RelLift != "–" || r.RelCI != "–" || r.PValue != "–" {
		t.Errorf("undefined row = %+v", r)
	}
	if !strings.Contains(string(m.Forest), "not enough data") {
		t.Errorf("forest plot does not mark the undefined estimate")
	}
}

func TestExperimentActionsFollowStatusAndRole(t *testing.T) {
	cases := []struct {
		status     string
		canRelease bool
		want       []string
	}{
		{experimentDraft, false, nil},
		{experimentDraft, true, []string{"start"}},
		{experimentRunning, false, nil},
		{experimentRunning, true, []string{"ship", "revert"}},
		{experimentStopped, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.status+"/"+strconv.FormatBool(tc.canRelease), func(t *testing.T) {
			var got []string
			for _, a := range experimentActions(sampleExperiment(tc.status), tc.canRelease) {
				got = append(got, a.Name)
				if !experimentActionNames[a.Name] || a.Confirm == "" {
					t.Errorf("action %q not postable or without confirmation", a.Name)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("experimentActions = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExperimentRows(t *testing.T) {
	e := sampleExperiment(experimentStopped)
	e.TrafficShare = 20000
	e.Decision = &pb.ExperimentDecision{Action: "ship", Variant: "on", ActorName: "bob", Reason: "won"}
	rows := experimentRows([]*pb.Experiment{e})
	if r := rows[0]; r.Allocation != "off 50 % · on 50 % of 20 %" || r.Decision != "ship on by bob: won" || r.Status.Label != "Stopped" {
		t.Errorf("row = %+v", r)
	}
}

func TestExperimentViewChartsExposuresOverTime(t *testing.T) {
	res := sampleResults(false)
	res.StartTime = ts(0)
	res.Exposures = []*pb.ExposureCount{{Time: ts(time.Hour), Units: []int64{10, 8}}, {Time: ts(2 * time.Hour), Units: []int64{25, 20}}}
	v := experimentView(sampleExperiment(experimentRunning), res, false)
	want := "Cumulative exposed units. off: 25 units by 2026-03-01 11:00 UTC; on: 20 units by 2026-03-01 11:00 UTC."
	if v.ExposuresDesc != want {
		t.Errorf("exposures desc = %q, want %q", v.ExposuresDesc, want)
	}
	for _, s := range []string{"off: 25 at 2026-03-01 11:00 UTC", "on: 0 at 2026-03-01 09:00 UTC", ">on</text>"} {
		if !strings.Contains(string(v.Exposures), s) {
			t.Errorf("exposures chart lacks %q", s)
		}
	}
	if v := experimentView(sampleExperiment(experimentDraft), &pb.ExperimentResults{}, false); v.ExposuresDesc != "No exposures recorded yet." {
		t.Errorf("draft exposures desc = %q", v.ExposuresDesc)
	}
}
