package experiment_test

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/experiment"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/stats"
)

// running returns a running 50/50 experiment with the metrics given
// (primary first) and min sample size 100.
func running(metrics ...model.Metric) *model.Experiment {
	e := abTest("ab")
	e.Status, e.MinSampleSize, e.Metrics, e.PrimaryMetric = model.ExperimentRunning, 100, metrics, metrics[0].Key
	for _, m := range metrics[1:] {
		e.Guardrails = append(e.Guardrails, model.Guardrail{Metric: m.Key})
	}
	return e
}

var (
	purchase = model.Metric{Key: "purchase", Kind: model.MetricConversion}
	revenue  = model.Metric{Key: "revenue", Kind: model.MetricMean}
	latency  = model.Metric{Key: "latency", Kind: model.MetricMean, Direction: model.DirectionLower}
)

func TestVerdicts(t *testing.T) {
	draft := abTest("ab")
	tests := []struct {
		name   string
		e      *model.Experiment
		counts *experiment.Counts
		want   []string // in the verdict, in order
		not    string   // not in the verdict
	}{
		{"draft", draft, nil, []string{"has not started"}, "Recommendation"},
		{"no units", running(purchase), nil, []string{"No units exposed yet"}, "Recommendation"},
		{"winner", running(purchase), &experiment.Counts{Units: []int64{5000, 5000}, Conversions: [][]int64{{500, 650}}},
			[]string{"on is better than off on purchase", "Recommendation: ship on."}, "mismatch"},
		{"loser", running(purchase), &experiment.Counts{Units: []int64{5000, 5000}, Conversions: [][]int64{{650, 500}}},
			[]string{"on is worse than off", "Recommendation: keep off (revert)."}, "ship"},
		{"no difference", running(purchase), &experiment.Counts{Units: []int64{5000, 5000}, Conversions: [][]int64{{500, 505}}},
			[]string{"No significant difference between on and off", "No winner"}, "Recommendation"},
		{"too few units", running(purchase), &experiment.Counts{Units: []int64{50, 5000}, Conversions: [][]int64{{5, 650}}},
			[]string{"Not enough data yet: each variant needs 100 exposed units; off has 50"}, "Recommendation"},
		{"sample ratio mismatch first", running(purchase), &experiment.Counts{Units: []int64{5000, 4500}, Conversions: [][]int64{{500, 650}}},
			[]string{"Sample ratio mismatch", "on is better"}, "Recommendation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := experiment.Compute(tc.e, tc.counts).Verdict
			at := 0
			for _, w := range tc.want {
				i := strings.Index(v[at:], w)
				if i < 0 {
					t.Fatalf("verdict %q lacks %q (after position %d)", v, w, at)
				}
				at += i + len(w)
			}
			if tc.not != "" && strings.Contains(v, tc.not) {
				t.Errorf("verdict %q says %q", v, tc.not)
			}
		})
	}
}

func TestMeanMetricResultsAreDesignStatistics(t *testing.T) {
	counts := &experiment.Counts{
		Units: []int64{400, 420}, Conversions: [][]int64{{40, 50}, {0, 0}},
		Sum: [][]float64{{0, 0}, {4000, 4620}}, SumSq: [][]float64{{0, 0}, {4000*10 + 400*9, 4620*11 + 420*16}},
	}
	res := experiment.Compute(running(purchase, revenue), counts)
	got := *res.Metrics[1].Variants[1].Comparison
	want := stats.CompareMean(stats.Mean{ControlUnits: 400, ControlSum: 4000, ControlSumSq: 4000*10 + 400*9,
		TreatmentUnits: 420, TreatmentSum: 4620, TreatmentSumSq: 4620*11 + 420*16})
	if got != want {
		t.Errorf("revenue comparison = %+v, want stats.CompareMean's %+v", got, want)
	}
	if m := res.Metrics[1].Variants[1].Value; !m.Valid || m.Value != 11 {
		t.Errorf("mean revenue of on = %v, want 11", m)
	}
}

func TestLowerIsBetterTurnsTheOutcome(t *testing.T) {
	counts := &experiment.Counts{
		Units: []int64{1000, 1000}, Conversions: [][]int64{{100, 100}, {0, 0}},
		// Latency: control 200 ms ± 20, treatment 150 ms ± 20.
		Sum: [][]float64{{0, 0}, {200000, 150000}}, SumSq: [][]float64{{0, 0}, {1000 * (200*200 + 400), 1000 * (150*150 + 400)}},
	}
	res := experiment.Compute(running(purchase, latency), counts)
	if got := res.Metrics[1].Variants[1].Outcome; got != experiment.OutcomeBetter {
		t.Errorf("outcome of a 25 %% lower latency = %s, want better", got)
	}
}

func TestReportOnlyGuardrailIsFlaggedInTheResults(t *testing.T) {
	e := running(purchase, latency)
	e.Guardrails[0].Threshold = 0.1
	counts := &experiment.Counts{
		Units: []int64{1000, 1000}, Conversions: [][]int64{{100, 100}, {0, 0}},
		Sum: [][]float64{{0, 0}, {150000, 200000}}, SumSq: [][]float64{{0, 0}, {1000 * (150*150 + 400), 1000 * (200*200 + 400)}},
	}
	res := experiment.Compute(e, counts)
	if got := res.Metrics[1].Tripped; len(got) != 1 || got[0] != "on" {
		t.Errorf("tripped = %v, want [on]: latency up 33 %%, beyond 10 %%", got)
	}
	if !strings.Contains(res.Verdict, "Guardrail latency tripped: on is worse than off by more than 10%") {
		t.Errorf("verdict = %q, want the tripped guardrail named", res.Verdict)
	}
}
