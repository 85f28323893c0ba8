package model

import "time"

// Experiment is an A/B (or A/B/n) experiment on one flag in one
// environment (DESIGN §1): while it runs, the units of its audience that
// fall inside its traffic share are split among its variants by bucketing
// with its own salt, and their exposures and track events feed its
// metrics. Experiments are not part of the declarative document: export
// never shows them. Evaluation sees a running experiment through its
// Overlay.
//
// The fields up to MinSampleSize are the experiment's definition, written
// by clients while it is a draft; the others are its lifecycle, written by
// the server.
type Experiment struct {
	ID          string `json:"id"`
	Title       string `json:"title,omitempty"`
	Hypothesis  string `json:"hypothesis,omitempty"`
	Owner       string `json:"owner,omitempty"`
	Environment string `json:"environment"`
	Flag        string `json:"flag"`
	// Control is the variant every treatment is compared with, and its
	// share of the experiment's units.
	Control    ExperimentArm   `json:"control"`
	Treatments []ExperimentArm `json:"treatments,omitempty"`
	// TrafficShare is the share of the audience in the experiment, 0 to
	// RolloutTotal (one unit is 0.001 %): the contexts whose bucket under
	// Salt is below it.
	TrafficShare int `json:"traffic_share"`
	// Segments is the audience: contexts in any of them (everyone when
	// none are listed).
	Segments []string `json:"segments,omitempty"`
	// Salt is the bucketing salt; default the id. The traffic share uses
	// bucket(Salt, unit), the allocation among variants the independent
	// bucket(Salt + ".alloc", unit).
	Salt string `json:"salt,omitempty"`
	// BucketBy is the context attribute whose value is bucketed; default
	// targetingKey.
	BucketBy string `json:"bucket_by,omitempty"`
	// PrimaryMetric is the key of the metric the experiment decides on.
	PrimaryMetric string `json:"primary_metric,omitempty"`
	// Guardrails are metrics that must not get worse, each with what the
	// server does when one does.
	Guardrails []Guardrail `json:"guardrails,omitempty"`
	// MinSampleSize is the number of exposed units each variant needs
	// before the results are conclusive; 0 means no minimum.
	MinSampleSize int `json:"min_sample_size,omitempty"`

	// Status is where the experiment is in its lifecycle.
	Status ExperimentStatus `json:"status,omitempty"`
	// StartTime and StopTime are when it started and stopped.
	StartTime *time.Time `json:"start_time,omitempty"`
	StopTime  *time.Time `json:"stop_time,omitempty"`
	// Decision is what stopping it decided.
	Decision *Decision `json:"decision,omitempty"`
	// Metrics are the definitions of the primary metric and then of each
	// guardrail's metric, as they were when the experiment started: what
	// its events are counted by, whatever happens to the definitions later.
	Metrics []Metric `json:"metrics,omitempty"`
}

// ExperimentArm is one variant of an experiment with its allocation weight;
// the weights of the control and the treatments sum to RolloutTotal.
type ExperimentArm struct {
	Variant string `json:"variant"`
	Weight  int    `json:"weight"`
}

// Arms returns the control and then the treatments, in a new slice: the
// order of an experiment's variants everywhere (allocation, results).
func (e *Experiment) Arms() []ExperimentArm {
	return append([]ExperimentArm{e.Control}, e.Treatments...)
}

// MetricKeys returns the primary metric's key and then each guardrail's, in
// a new slice, without repetitions.
func (e *Experiment) MetricKeys() []string {
	var keys []string
	add := func(k string) {
		for _, have := range keys {
			if have == k {
				return
			}
		}
		keys = append(keys, k)
	}
	if e.PrimaryMetric != "" {
		add(e.PrimaryMetric)
	}
	for _, g := range e.Guardrails {
		add(g.Metric)
	}
	return keys
}

// ExperimentStatus is an experiment's lifecycle state.
type ExperimentStatus string

// The experiment states: DRAFT → RUNNING → STOPPED.
const (
	ExperimentDraft   ExperimentStatus = "DRAFT"
	ExperimentRunning ExperimentStatus = "RUNNING"
	ExperimentStopped ExperimentStatus = "STOPPED"
)

// DecisionAction is what stopping an experiment does to its flag.
type DecisionAction string

// The decisions.
const (
	// DecisionShip ships the decision's variant through a release
	// (Decision.Release), created and started when the experiment stops.
	DecisionShip DecisionAction = "ship"
	// DecisionRevert leaves the flag as it was before the experiment.
	DecisionRevert DecisionAction = "revert"
)

// Decision is the outcome of an experiment: ship a variant, or revert.
type Decision struct {
	Action  DecisionAction `json:"action"`
	Variant string         `json:"variant,omitempty"`
	// Reason says why, in words: the stopper's note, or the guardrail that
	// stopped it.
	Reason    string `json:"reason,omitempty"`
	Actor     string `json:"actor,omitempty"`
	ActorName string `json:"actor_name,omitempty"`
	// Release is the id of the release that ships the variant, and
	// ReleaseModel the release model it was created from, if any.
	Release      string `json:"release,omitempty"`
	ReleaseModel string `json:"release_model,omitempty"`
}

// Guardrail names a metric that must not get worse under the treatment and
// what the server does when it does: the treatment is worse beyond the
// threshold when the whole 95 % confidence interval of its relative lift
// over the control lies on the bad side of −Threshold (for a metric where
// lower is better, of +Threshold), with at least MinSampleSize units in
// both groups.
type Guardrail struct {
	Metric string `json:"metric"`
	// Threshold is the relative change tolerated, e.g. 0.05 for 5 %; 0
	// trips on any significant degradation.
	Threshold float64 `json:"threshold,omitempty"`
	// Action is what the server does when the guardrail trips: on an
	// experiment "stop" (stop it, reverting the flag) or "" (report it in
	// the results only); on a release stage "pause" (the default) or
	// "rollback".
	Action GuardAction `json:"action,omitempty"`
	// MinSampleSize is the number of units each group needs before the
	// guardrail may trip; 0 means DefaultGuardrailMinSample.
	MinSampleSize int `json:"min_sample_size,omitempty"`
}

// GuardAction is what a tripped guardrail does.
type GuardAction string

// The guardrail actions.
const (
	GuardNone     GuardAction = ""
	GuardStop     GuardAction = "stop"
	GuardPause    GuardAction = "pause"
	GuardRollback GuardAction = "rollback"
)

// DefaultGuardrailMinSample is the units each group needs before a
// guardrail without a MinSampleSize may trip.
const DefaultGuardrailMinSample = 100

// MinSample returns the guardrail's minimum sample per group.
func (g Guardrail) MinSample() int {
	if g.MinSampleSize > 0 {
		return g.MinSampleSize
	}
	return DefaultGuardrailMinSample
}

// Metric is a project's definition of what an experiment measures: the
// track events with EventKey, counted per exposed unit.
type Metric struct {
	Key         string `json:"key"`
	Description string `json:"description,omitempty"`
	// EventKey is the key of the track events counted; default the
	// metric's key.
	EventKey string     `json:"event_key,omitempty"`
	Kind     MetricKind `json:"kind"`
	// Direction says which way is better; default higher.
	Direction Direction `json:"direction,omitempty"`
}

// Event returns the key of the track events the metric counts.
func (m *Metric) Event() string {
	if m.EventKey != "" {
		return m.EventKey
	}
	return m.Key
}

// LowerIsBetter reports whether a decrease of the metric is an improvement.
func (m *Metric) LowerIsBetter() bool { return m.Direction == DirectionLower }

// MetricKind says how a metric counts a unit's events.
type MetricKind string

// The metric kinds.
const (
	// MetricConversion: whether the unit sent the event after its first
	// exposure, counted once per unit.
	MetricConversion MetricKind = "conversion"
	// MetricMean: the sum of the values the unit sent after its first
	// exposure (0 when it sent none), averaged over exposed units.
	MetricMean MetricKind = "mean"
)

// Direction says whether higher or lower values of a metric are better.
type Direction string

// The directions.
const (
	DirectionHigher Direction = "higher"
	DirectionLower  Direction = "lower"
)

// ExperimentRule is the rule id an experiment's assignments carry:
// "experiment:{id}".
func ExperimentRule(id string) string { return "experiment:" + id }

// Overlay returns the experiment's overlay, or nil when it is not running.
// Its Release is "experiment:{id}", which no release id can be, so that
// whatever tells overlays apart by it (sync sections) tells experiments
// apart too. Its audience is the contexts in any of the segments whose bucket under
// the salt is below the traffic share; they are served a variant of the
// allocation by their bucket under salt + ".alloc".
func (e *Experiment) Overlay() *Overlay {
	if e == nil || e.Status != ExperimentRunning {
		return nil
	}
	o := &Overlay{
		Release:    ExperimentRule(e.ID),
		Experiment: e.ID,
		Salt:       e.Salt,
		BucketBy:   e.BucketBy,
		Audience:   []AudienceStage{{Segments: e.Segments, Weight: e.TrafficShare}},
		Items:      []ReleaseItem{{Flag: e.Flag}},
	}
	if o.Salt == "" {
		o.Salt = e.ID
	}
	for _, a := range e.Arms() {
		o.Allocation = append(o.Allocation, Weighted{Variant: a.Variant, Weight: a.Weight})
	}
	return o
}
