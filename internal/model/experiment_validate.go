package model

import (
	"fmt"
	"math"
	"slices"
)

// MaxExperimentMetrics bounds the metrics of one experiment (its primary
// metric and its guardrails): the experiment state keeps one bit per
// metric for every unit.
const MaxExperimentMetrics = 16

// MaxExperimentVariants bounds the variants of one experiment, control
// included.
const MaxExperimentVariants = 16

// MaxExperimentIDLength bounds an experiment id like a release id.
const MaxExperimentIDLength = MaxReleaseIDLength

// ValidateExperiment checks an experiment's definition on its own: keys,
// variants and weights, traffic share, audience, metrics and guardrails. It
// reports every problem with its path ("treatments[1].weight") as an Errors
// value, and nil for a valid definition. A draft may be incomplete (see
// CheckExperimentStartable); what it names is looked up by
// CheckExperimentRefs.
func ValidateExperiment(e *Experiment) error {
	var errs Errors
	if e == nil {
		errs.add("", "an experiment is required")
		return errs
	}
	switch {
	case !ValidKey(e.ID):
		errs.add("id", "%q is not a valid key (pattern %s)", e.ID, KeyPattern)
	case len(e.ID) > MaxExperimentIDLength:
		errs.add("id", "is longer than %d characters", MaxExperimentIDLength)
	}
	if !ValidKey(e.Environment) {
		errs.add("environment", "%q is not a valid environment key", e.Environment)
	}
	if !ValidKey(e.Flag) {
		errs.add("flag", "%q is not a valid flag key", e.Flag)
	}
	if e.Control.Variant != "" && !ValidKey(e.Control.Variant) {
		errs.add("control.variant", "%q is not a valid variant key", e.Control.Variant)
	}
	seen := map[string]string{e.Control.Variant: "control"}
	validateWeight(&errs, "control.weight", e.Control.Weight)
	if n := 1 + len(e.Treatments); n > MaxExperimentVariants {
		errs.add("treatments", "an experiment has at most %d variants, control included; this one has %d", MaxExperimentVariants, n)
	}
	for i, t := range e.Treatments {
		path := fmt.Sprintf("treatments[%d]", i)
		if !ValidKey(t.Variant) {
			errs.add(path+".variant", "%q is not a valid variant key", t.Variant)
		} else if prior, dup := seen[t.Variant]; dup {
			errs.add(path+".variant", "variant %q is already the %s", t.Variant, prior)
		}
		seen[t.Variant] = path
		validateWeight(&errs, path+".weight", t.Weight)
	}
	if e.TrafficShare < 0 || e.TrafficShare > RolloutTotal {
		errs.add("traffic_share", "%d is not in [0, %d]", e.TrafficShare, RolloutTotal)
	}
	for j, seg := range e.Segments {
		if !ValidKey(seg) {
			errs.add(fmt.Sprintf("segments[%d]", j), "%q is not a valid segment key", seg)
		} else if slices.Index(e.Segments, seg) != j {
			errs.add(fmt.Sprintf("segments[%d]", j), "segment %q is listed twice", seg)
		}
	}
	if e.Salt != "" && !ValidKey(e.Salt) {
		errs.add("salt", "%q is not a valid salt (pattern %s)", e.Salt, KeyPattern)
	}
	if e.BucketBy != "" && !ValidKey(e.BucketBy) {
		errs.add("bucket_by", "%q is not a valid attribute name", e.BucketBy)
	}
	if e.PrimaryMetric != "" && !ValidKey(e.PrimaryMetric) {
		errs.add("primary_metric", "%q is not a valid metric key", e.PrimaryMetric)
	}
	for i, g := range e.Guardrails {
		path := fmt.Sprintf("guardrails[%d]", i)
		validateGuardrail(&errs, path, g, GuardNone, GuardStop)
		if slices.IndexFunc(e.Guardrails, func(o Guardrail) bool { return o.Metric == g.Metric }) != i {
			errs.add(path+".metric", "metric %q already has a guardrail", g.Metric)
		}
	}
	if n := len(e.MetricKeys()); n > MaxExperimentMetrics {
		errs.add("guardrails", "an experiment has at most %d metrics, primary included; this one has %d", MaxExperimentMetrics, n)
	}
	if e.MinSampleSize < 0 {
		errs.add("min_sample_size", "%d is negative", e.MinSampleSize)
	}
	switch e.Status {
	case "", ExperimentDraft, ExperimentRunning, ExperimentStopped:
	default:
		errs.add("status", "unknown status %q", e.Status)
	}
	if d := e.Decision; d != nil {
		switch {
		case d.Action == DecisionShip && !ValidKey(d.Variant):
			errs.add("decision.variant", "shipping needs the variant to ship")
		case d.Action == DecisionRevert && d.Variant != "":
			errs.add("decision.variant", "a revert ships no variant")
		case d.Action != DecisionShip && d.Action != DecisionRevert:
			errs.add("decision.action", "unknown decision %q; want ship or revert", d.Action)
		}
	}
	return errs.err()
}

// validateWeight checks one allocation weight.
func validateWeight(errs *Errors, path string, w int) {
	if w < 0 || w > RolloutTotal {
		errs.add(path, "%d is not in [0, %d]", w, RolloutTotal)
	}
}

// validateGuardrail checks a guardrail whose action must be one of actions.
func validateGuardrail(errs *Errors, path string, g Guardrail, actions ...GuardAction) {
	if !ValidKey(g.Metric) {
		errs.add(path+".metric", "%q is not a valid metric key", g.Metric)
	}
	if math.IsNaN(g.Threshold) || math.IsInf(g.Threshold, 0) || g.Threshold < 0 || g.Threshold > 10 {
		errs.add(path+".threshold", "%v is not a relative change in [0, 10] (0.05 is 5 %%)", g.Threshold)
	}
	if !slices.Contains(actions, g.Action) {
		want := ""
		for i, a := range actions {
			if i > 0 {
				want += ", "
			}
			if a == "" {
				want += `"" (report only)`
			} else {
				want += string(a)
			}
		}
		errs.add(path+".action", "unknown action %q; want %s", g.Action, want)
	}
	if g.MinSampleSize < 0 {
		errs.add(path+".min_sample_size", "%d is negative", g.MinSampleSize)
	}
}

// validateStageGuardrail checks a release stage's guardrail.
func validateStageGuardrail(errs *Errors, path string, g *Guardrail) {
	if g != nil {
		validateGuardrail(errs, path, *g, GuardNone, GuardPause, GuardRollback)
	}
}

// CheckExperimentStartable checks what an experiment needs before it may
// start, beyond ValidateExperiment: a control, at least one treatment,
// positive weights summing to RolloutTotal, a traffic share and a primary
// metric.
func CheckExperimentStartable(e *Experiment) error {
	var errs Errors
	if e.Control.Variant == "" {
		errs.add("control.variant", "the control variant is required")
	}
	if len(e.Treatments) == 0 {
		errs.add("treatments", "an experiment needs at least one treatment to start")
	}
	total := 0
	for i, a := range e.Arms() {
		total += a.Weight
		if a.Weight <= 0 {
			path := "control.weight"
			if i > 0 {
				path = fmt.Sprintf("treatments[%d].weight", i-1)
			}
			errs.add(path, "every variant needs a positive weight")
		}
	}
	if total != RolloutTotal {
		errs.add("treatments", "the weights sum to %d, not %d", total, RolloutTotal)
	}
	if e.TrafficShare <= 0 {
		errs.add("traffic_share", "an experiment needs a positive traffic share to start")
	}
	if e.PrimaryMetric == "" {
		errs.add("primary_metric", "a primary metric is required before the experiment starts")
	}
	return errs.err()
}

// CheckExperimentRefs checks that what an experiment names exists in doc:
// its environment, its flag, every variant (the control and the
// treatments) and every segment. Metrics are not part of the document; the
// store checks them.
func CheckExperimentRefs(doc *Document, e *Experiment) error {
	var errs Errors
	if !slices.Contains(doc.Environments, e.Environment) {
		errs.add("environment", "project %q has no environment %q", doc.Project, e.Environment)
	}
	i := slices.IndexFunc(doc.Flags, func(f *Flag) bool { return f.Key == e.Flag })
	if i < 0 {
		errs.add("flag", "unknown flag %q", e.Flag)
	} else {
		f := doc.Flags[i]
		for j, a := range e.Arms() {
			if a.Variant == "" || flagHasVariant(f, a.Variant) {
				continue
			}
			path := "control.variant"
			if j > 0 {
				path = fmt.Sprintf("treatments[%d].variant", j-1)
			}
			errs.add(path, "flag %q has no variant %q", e.Flag, a.Variant)
		}
	}
	for j, seg := range e.Segments {
		if !slices.ContainsFunc(doc.Segments, func(m *Segment) bool { return m.Key == seg }) {
			errs.add(fmt.Sprintf("segments[%d]", j), "unknown segment %q", seg)
		}
	}
	return errs.err()
}

// flagHasVariant reports whether f has the variant, implicit ones included.
func flagHasVariant(f *Flag, variant string) bool {
	if f.Type == TypeBool && len(f.Variants) == 0 {
		return variant == "on" || variant == "off"
	}
	return hasVariant(f.Variants, variant)
}

// ValidateMetric checks a metric definition. It reports every problem with
// its path ("kind") as an Errors value, and nil for a valid metric.
func ValidateMetric(m *Metric) error {
	var errs Errors
	if m == nil {
		errs.add("", "a metric is required")
		return errs
	}
	if !ValidKey(m.Key) {
		errs.add("key", "%q is not a valid key (pattern %s)", m.Key, KeyPattern)
	}
	if m.EventKey != "" && !ValidKey(m.EventKey) {
		errs.add("event_key", "%q is not a valid event key (pattern %s)", m.EventKey, KeyPattern)
	}
	switch m.Kind {
	case MetricConversion, MetricMean:
	default:
		errs.add("kind", "unknown kind %q; want conversion or mean", m.Kind)
	}
	switch m.Direction {
	case "", DirectionHigher, DirectionLower:
	default:
		errs.add("direction", "unknown direction %q; want higher or lower", m.Direction)
	}
	return errs.err()
}
