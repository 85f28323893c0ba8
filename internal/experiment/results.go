package experiment

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/stats"
)

// Alpha is the significance level of the results: a difference is
// significant when its two-sided p-value is below it, which is when its
// 95 % confidence interval excludes zero.
const Alpha = 0.05

// Results are an experiment's results at one moment: per variant its
// exposed units, and per metric each variant's value and each treatment's
// comparison with the control (DESIGN §6), the sample-ratio check and a
// verdict in words.
type Results struct {
	Experiment *model.Experiment
	// Arms are the variants, control first, with their exposed units.
	Arms []ArmResult
	// Metrics are the primary metric and then each guardrail's.
	Metrics []MetricResult
	// SRM checks the exposed units against the allocation weights.
	SRM stats.SRM
	// MinSampleReached is set when every variant has the experiment's
	// minimum sample size.
	MinSampleReached bool
	Verdict          string
	// Ignored counts the events that could not count, by reason.
	Ignored map[string]int64
}

// ArmResult is one variant of an experiment.
type ArmResult struct {
	Variant          string
	Weight           int
	Control          bool
	Units            int64
	MinSampleReached bool
}

// MetricResult is one metric of an experiment.
type MetricResult struct {
	Metric  model.Metric
	Primary bool
	// Guardrail is the metric's guardrail, if it has one.
	Guardrail *model.Guardrail
	// Variants are in the order of Results.Arms.
	Variants []VariantResult
	// Tripped lists the treatments worse than the control beyond the
	// guardrail's threshold.
	Tripped []string
}

// VariantResult is one variant's value of a metric and, for a treatment,
// its comparison with the control.
type VariantResult struct {
	Variant string
	Units   int64
	// Conversions are the converted units (conversion metrics).
	Conversions int64
	// Sum and SumSq are the sums of the units' values and of their squares
	// (mean metrics).
	Sum, SumSq float64
	// Value is the conversion rate or the mean.
	Value stats.Optional
	// Comparison is the treatment against the control; nil for the
	// control.
	Comparison *stats.Comparison
	// Outcome is "better", "worse" or "inconclusive" for a treatment (by
	// the metric's direction, at Alpha), "" for the control.
	Outcome string
}

// The outcomes of a treatment on a metric.
const (
	OutcomeBetter       = "better"
	OutcomeWorse        = "worse"
	OutcomeInconclusive = "inconclusive"
)

// Results returns the results of experiment id of project from the state
// counted so far; call CatchUp first for every event stored until now.
func (c *Consumer) Results(ctx context.Context, ps *domain.ProjectState, id string) (*Results, error) {
	e, _, ok := ps.Experiment(id)
	if !ok {
		return nil, fmt.Errorf("%s: %w", domain.ExperimentName(ps.Key(), id), domain.ErrNotFound)
	}
	s := experimentStudy(ps.Key(), e)
	if s == nil {
		return Compute(e, nil), nil
	}
	agg, err := c.readCounts(ctx, s)
	if err != nil {
		return nil, err
	}
	return Compute(e, agg), nil
}

// readCounts reads a study's aggregates (empty ones when it has none).
func (c *Consumer) readCounts(ctx context.Context, s *study) (*Counts, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	data, err := c.side.Get(ctx, aggPath(s.key))
	if err != nil {
		return nil, fmt.Errorf("experiment state %q: %w", s.key, err)
	}
	agg, err := decodeCounts(s, data)
	if err != nil {
		return nil, fmt.Errorf("experiment state %q: %w", s.key, err)
	}
	return agg, nil
}

// Compute computes an experiment's results from its counts (nil: none
// counted yet), shaped as e's variants and metrics (e.Metrics, recorded at
// Start; for a draft, e.MetricKeys as conversion metrics). It does no I/O.
func Compute(e *model.Experiment, agg *Counts) *Results {
	arms := e.Arms()
	metrics := e.Metrics
	if !started(e) || len(metrics) == 0 {
		metrics = placeholderMetrics(e)
	}
	s := &study{arms: make([]string, len(arms))}
	for i, a := range arms {
		s.arms[i] = a.Variant
	}
	s.setMetrics(metrics)
	if agg == nil {
		agg = newCounts(s)
	} else {
		agg = reshape(s, agg)
	}
	r := &Results{Experiment: e, Ignored: agg.Ignored, MinSampleReached: true}
	weights := make([]float64, len(arms))
	for i, a := range arms {
		ar := ArmResult{Variant: a.Variant, Weight: a.Weight, Control: i == 0, Units: agg.Units[i]}
		ar.MinSampleReached = ar.Units >= int64(max(e.MinSampleSize, 1))
		r.MinSampleReached = r.MinSampleReached && ar.MinSampleReached
		r.Arms = append(r.Arms, ar)
		weights[i] = float64(a.Weight)
	}
	r.SRM = stats.SampleRatio(agg.Units, weights)
	for m := range metrics {
		mr := MetricResult{Metric: metrics[m], Primary: metrics[m].Key == e.PrimaryMetric}
		for i := range e.Guardrails {
			if e.Guardrails[i].Metric == metrics[m].Key {
				mr.Guardrail = &e.Guardrails[i]
			}
		}
		for i := range arms {
			vr := variantResult(agg, m, i, &metrics[m])
			vr.Variant = arms[i].Variant
			if i > 0 {
				c := compare(agg, m, i, &metrics[m])
				vr.Comparison = &c
				vr.Outcome = outcome(c, &metrics[m])
				if mr.Guardrail != nil && trips(*mr.Guardrail, &metrics[m], c, agg.Units[i], agg.Units[0]) {
					mr.Tripped = append(mr.Tripped, arms[i].Variant)
				}
			}
			mr.Variants = append(mr.Variants, vr)
		}
		r.Metrics = append(r.Metrics, mr)
	}
	r.Verdict = verdict(r)
	return r
}

// started reports whether e has started: it runs or has stopped.
func started(e *model.Experiment) bool {
	return e.Status == model.ExperimentRunning || e.Status == model.ExperimentStopped
}

// placeholderMetrics stands for the metrics of an experiment that has not
// started: its keys, with no definition.
func placeholderMetrics(e *model.Experiment) []model.Metric {
	var out []model.Metric
	for _, k := range e.MetricKeys() {
		out = append(out, model.Metric{Key: k, Kind: model.MetricConversion})
	}
	return out
}

// variantResult is arm's value of metric m.
func variantResult(agg *Counts, m, arm int, metric *model.Metric) VariantResult {
	vr := VariantResult{Units: agg.Units[arm]}
	n := float64(vr.Units)
	switch metric.Kind {
	case model.MetricMean:
		vr.Sum, vr.SumSq = agg.Sum[m][arm], agg.SumSq[m][arm]
		if n > 0 {
			vr.Value = optional(vr.Sum / n)
		}
	default:
		vr.Conversions = agg.Conversions[m][arm]
		if n > 0 {
			vr.Value = optional(float64(vr.Conversions) / n)
		}
	}
	return vr
}

// compare compares arm with the control (arm 0) on metric m.
func compare(agg *Counts, m, arm int, metric *model.Metric) stats.Comparison {
	if metric.Kind == model.MetricMean {
		return stats.CompareMean(stats.Mean{
			ControlUnits: agg.Units[0], ControlSum: agg.Sum[m][0], ControlSumSq: agg.SumSq[m][0],
			TreatmentUnits: agg.Units[arm], TreatmentSum: agg.Sum[m][arm], TreatmentSumSq: agg.SumSq[m][arm],
		})
	}
	return stats.CompareConversion(stats.Conversion{
		ControlUnits: agg.Units[0], ControlConverted: agg.Conversions[m][0],
		TreatmentUnits: agg.Units[arm], TreatmentConverted: agg.Conversions[m][arm],
	})
}

// outcome says whether a treatment is significantly better or worse.
func outcome(c stats.Comparison, m *model.Metric) string {
	if !c.PValue.Valid || !c.AbsLift.Valid || c.PValue.Value >= Alpha || c.AbsLift.Value == 0 {
		return OutcomeInconclusive
	}
	if (c.AbsLift.Value > 0) != m.LowerIsBetter() {
		return OutcomeBetter
	}
	return OutcomeWorse
}

// trips reports whether a guardrail trips: both groups have its minimum
// sample, and the 95 % interval of the relative lift lies wholly beyond
// the threshold on the bad side.
func trips(g model.Guardrail, m *model.Metric, c stats.Comparison, treatment, control int64) bool {
	minN := int64(g.MinSample())
	if treatment < minN || control < minN || !c.RelCILow.Valid || !c.RelCIHigh.Valid {
		return false
	}
	if m.LowerIsBetter() {
		return c.RelCILow.Value > g.Threshold
	}
	return c.RelCIHigh.Value < -g.Threshold
}

func optional(v float64) stats.Optional {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return stats.Optional{}
	}
	return stats.Optional{Value: v, Valid: true}
}

// verdict says in words what the results mean, the most important thing
// first.
func verdict(r *Results) string {
	e := r.Experiment
	var total int64
	for _, a := range r.Arms {
		total += a.Units
	}
	switch {
	case !started(e):
		return "The experiment has not started."
	case total == 0:
		return "No units exposed yet."
	}
	var b strings.Builder
	if r.SRM.Mismatch {
		fmt.Fprintf(&b, "Sample ratio mismatch: the exposed units (%s) do not match the allocation (%s), %s. "+
			"Assignment or exposure logging is broken; do not trust these results until the cause is found. ",
			armCounts(r), armWeights(r), pClause(r.SRM.PValue))
	}
	for _, m := range r.Metrics {
		for _, v := range m.Tripped {
			fmt.Fprintf(&b, "Guardrail %s tripped: %s is worse than %s by more than %s. ", m.Metric.Key, v, r.Arms[0].Variant, percent(m.Guardrail.Threshold))
		}
	}
	if !r.MinSampleReached {
		low := r.Arms[0]
		for _, a := range r.Arms[1:] {
			if a.Units < low.Units {
				low = a
			}
		}
		fmt.Fprintf(&b, "Not enough data yet: each variant needs %d exposed units; %s has %d. ", max(e.MinSampleSize, 1), low.Variant, low.Units)
	}
	var primary *MetricResult
	for i := range r.Metrics {
		if r.Metrics[i].Primary {
			primary = &r.Metrics[i]
		}
	}
	if primary == nil {
		return strings.TrimSpace(b.String())
	}
	var better []VariantResult
	anyWorse := false
	for _, v := range primary.Variants[1:] {
		c := v.Comparison
		switch v.Outcome {
		case OutcomeBetter, OutcomeWorse:
			fmt.Fprintf(&b, "%s is %s than %s on %s: %s (95%% CI %s to %s), %s. ", v.Variant, v.Outcome, r.Arms[0].Variant,
				primary.Metric.Key, signedPercent(c.RelLift), signedPercent(c.RelCILow), signedPercent(c.RelCIHigh), pClause(c.PValue))
		default:
			fmt.Fprintf(&b, "No significant difference between %s and %s on %s (%s). ", v.Variant, r.Arms[0].Variant, primary.Metric.Key, pClause(c.PValue))
		}
		if v.Outcome == OutcomeBetter {
			better = append(better, v)
		}
		anyWorse = anyWorse || v.Outcome == OutcomeWorse
	}
	if r.SRM.Mismatch || !r.MinSampleReached {
		return strings.TrimSpace(b.String())
	}
	switch {
	case len(better) > 0:
		best := better[0]
		for _, v := range better[1:] {
			if v.Comparison.AbsLift.Value*sign(&primary.Metric) > best.Comparison.AbsLift.Value*sign(&primary.Metric) {
				best = v
			}
		}
		if len(primary.Tripped) == 0 {
			fmt.Fprintf(&b, "Recommendation: ship %s.", best.Variant)
		} else {
			fmt.Fprintf(&b, "Recommendation: %s wins on %s, but a guardrail tripped; look before shipping.", best.Variant, primary.Metric.Key)
		}
	case anyWorse:
		fmt.Fprintf(&b, "Recommendation: keep %s (revert).", r.Arms[0].Variant)
	default:
		fmt.Fprintf(&b, "No winner: keep %s, or run longer to detect a smaller effect.", r.Arms[0].Variant)
	}
	return strings.TrimSpace(b.String())
}

// sign is +1 when higher values of m are better, else −1.
func sign(m *model.Metric) float64 {
	if m.LowerIsBetter() {
		return -1
	}
	return 1
}

func armCounts(r *Results) string {
	parts := make([]string, len(r.Arms))
	for i, a := range r.Arms {
		parts[i] = fmt.Sprintf("%s %d", a.Variant, a.Units)
	}
	return strings.Join(parts, ", ")
}

func armWeights(r *Results) string {
	parts := make([]string, len(r.Arms))
	for i, a := range r.Arms {
		parts[i] = fmt.Sprintf("%s %s", a.Variant, percent(float64(a.Weight)/model.RolloutTotal))
	}
	return strings.Join(parts, ", ")
}

// percent formats a share as a percentage: 0.05 → "5%".
func percent(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", 100*v), "0"), ".") + "%"
}

// signedPercent formats a relative change with its sign: "+12.3%".
func signedPercent(o stats.Optional) string {
	if !o.Valid {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", 100*o.Value)
}

// pClause states a p-value: "p = 0.032", "p < 0.0001", "p n/a".
func pClause(o stats.Optional) string {
	switch {
	case !o.Valid:
		return "p n/a"
	case o.Value < 0.0001:
		return "p < 0.0001"
	case o.Value < 0.001:
		return fmt.Sprintf("p = %.4f", o.Value)
	}
	return fmt.Sprintf("p = %.3f", o.Value)
}
