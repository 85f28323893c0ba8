package experiment_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/experiment"
	"github.com/switchyard/switchyard/internal/model"
)

func TestCreateDraftsWithDefaults(t *testing.T) {
	r := newRig(t)
	e := abTest("ab")
	e.Status = model.ExperimentRunning // ignored: lifecycle fields are the server's
	c := r.update(t, func(tx *domain.Tx) error { return experiment.Create(tx, "shop", e) })
	got := r.experiment(t, "ab")
	if got.Status != model.ExperimentDraft || got.Salt != "ab" || got.BucketBy != eval.TargetingKeyAttribute {
		t.Errorf("created = status %s, salt %q, bucket_by %q; want DRAFT, ab, targetingKey", got.Status, got.Salt, got.BucketBy)
	}
	if c.Revision != 0 {
		t.Errorf("creating a draft bumped the revision to %d", c.Revision)
	}
}

func TestCreateRefusesWhatTheProjectLacks(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *model.Experiment)
		path string
	}{
		{"unknown flag", func(e *model.Experiment) { e.Flag = "nope" }, "flag"},
		{"unknown variant", func(e *model.Experiment) { e.Treatments[0].Variant = "maybe" }, "treatments[0].variant"},
		{"unknown segment", func(e *model.Experiment) { e.Segments = []string{"nope"} }, "segments[0]"},
		{"unknown metric", func(e *model.Experiment) { e.PrimaryMetric = "nope" }, "primary_metric"},
		{"unknown guardrail metric", func(e *model.Experiment) { e.Guardrails = []model.Guardrail{{Metric: "nope"}} }, "guardrails[0].metric"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			e := abTest("ab")
			tc.edit(e)
			err := r.try(func(tx *domain.Tx) error { return experiment.Create(tx, "shop", e) })
			var fes model.Errors
			if !errors.As(err, &fes) || fes[0].Path != tc.path {
				t.Errorf("Create = %v, want a field error at %s", err, tc.path)
			}
		})
	}
}

func TestStartRefusesAnIncompleteOrBlockedExperiment(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, r *rig, e *model.Experiment)
		want  string
	}{
		{"weights short of the total", func(_ *testing.T, _ *rig, e *model.Experiment) { e.Treatments[0].Weight = 40000 }, "weights sum to 90000"},
		{"no traffic", func(_ *testing.T, _ *rig, e *model.Experiment) { e.TrafficShare = 0 }, "positive traffic share"},
		{"no primary metric", func(_ *testing.T, _ *rig, e *model.Experiment) { e.PrimaryMetric = "" }, "primary metric is required"},
		{"disabled flag", func(_ *testing.T, r *rig, _ *model.Experiment) {
			r.try(func(tx *domain.Tx) error {
				return tx.SetFlagTargeting("shop", "checkout", "production", &model.Targeting{Default: &model.Serve{Variant: "off"}}, "")
			})
		}, "not enabled"},
		{"flag in a running experiment", func(t *testing.T, r *rig, _ *model.Experiment) { r.start(t, abTest("first")) }, `experiment "first"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			e := abTest("ab")
			tc.setup(t, r, e)
			r.update(t, func(tx *domain.Tx) error { return experiment.Create(tx, "shop", e) })
			err := r.try(func(tx *domain.Tx) error { return experiment.Start(tx, experiment.Request{Project: "shop", ID: "ab"}) })
			if !errors.Is(err, domain.ErrFailedPrecondition) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start = %v, want a failed precondition saying %q", err, tc.want)
			}
		})
	}
}

func TestStartRecordsTheMetricsInOneRevision(t *testing.T) {
	r := newRig(t)
	r.update(t, func(tx *domain.Tx) error {
		return experiment.Create(tx, "shop", abTest("ab", model.Guardrail{Metric: "latency", Threshold: 0.1, Action: model.GuardStop}))
	})
	c := r.update(t, func(tx *domain.Tx) error { return experiment.Start(tx, experiment.Request{Project: "shop", ID: "ab"}) })
	e := r.experiment(t, "ab")
	if c.Revision == 0 || e.Status != model.ExperimentRunning || e.StartTime == nil || !e.StartTime.Equal(r.clock.Now()) {
		t.Errorf("after Start: revision %d, status %s, start %v; want a new revision, RUNNING, now", c.Revision, e.Status, e.StartTime)
	}
	if len(e.Metrics) != 2 || e.Metrics[0].Key != "purchase" || e.Metrics[1].Key != "latency" || e.Metrics[1].Direction != model.DirectionLower {
		t.Errorf("recorded metrics = %+v, want purchase then latency (lower is better)", e.Metrics)
	}
	if c.Events[0].Action != "experiment.start" {
		t.Errorf("audit action = %s, want experiment.start", c.Events[0].Action)
	}
}

func TestOnlyADraftCanBeEdited(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	err := r.try(func(tx *domain.Tx) error { return experiment.Update(tx, "shop", abTest("ab"), "") })
	if !errors.Is(err, domain.ErrFailedPrecondition) {
		t.Errorf("Update of a running experiment = %v, want a failed precondition", err)
	}
}

func TestARunningExperimentCannotBeDeleted(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	err := r.try(func(tx *domain.Tx) error { return experiment.Delete(tx, experiment.Request{Project: "shop", ID: "ab"}) })
	if !errors.Is(err, domain.ErrFailedPrecondition) {
		t.Errorf("Delete of a running experiment = %v, want a failed precondition", err)
	}
}

func TestStopWithShipStartsAReleaseInOneRevision(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	c := r.update(t, func(tx *domain.Tx) error {
		return experiment.Stop(tx, experiment.Request{Project: "shop", ID: "ab", Note: "on wins"}, model.Decision{Action: model.DecisionShip, Variant: "on"})
	})
	ps, _ := c.State.Project("shop")
	tg, _, _ := ps.FlagTargeting("checkout", "production")
	env, _ := ps.Environment("production")
	if tg.Default.Variant != "off" || env.Revision != c.Revision || len(c.Revisions) != 1 {
		t.Errorf("after ship: default %+v, revision %d of commit %d (%d environments); want the flag's own targeting untouched, in one revision",
			tg.Default, env.Revision, c.Revision, len(c.Revisions))
	}
	rel, _, ok := ps.Release("ab-ship")
	if !ok {
		t.Fatal("after ship: no release ab-ship")
	}
	if rel.State != model.StateInProgress || rel.Stage != 1 || len(rel.Items) != 1 || rel.Items[0] != (model.ReleaseItem{Flag: "checkout", Variant: "on"}) ||
		rel.RequesterName != "test" || len(rel.Plan) != 1 || rel.Plan[0].Weight != model.RolloutTotal {
		t.Errorf("release ab-ship = %s stage %d, items %+v, plan %+v, requester %q; want checkout=on to everyone in progress, requested by test",
			rel.State, rel.Stage, rel.Items, rel.Plan, rel.RequesterName)
	}
	e := r.experiment(t, "ab")
	if e.Status != model.ExperimentStopped || e.Decision.Reason != "on wins" || e.Decision.ActorName != "test" || e.Decision.Release != "ab-ship" || e.Overlay() != nil {
		t.Errorf("after ship: %s, decision %+v; want STOPPED with the reason, actor and release", e.Status, e.Decision)
	}
}

func TestStopWithShipRefusesABadReleaseWholly(t *testing.T) {
	tests := []struct {
		name  string
		d     model.Decision
		field string
	}{
		{"an unknown release model", model.Decision{Action: model.DecisionShip, Variant: "on", ReleaseModel: "nope"}, "release_model"},
		{"a bad release id", model.Decision{Action: model.DecisionShip, Variant: "on", Release: "Not An Id"}, "release_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.start(t, abTest("ab"))
			err := r.try(func(tx *domain.Tx) error {
				return experiment.Stop(tx, experiment.Request{Project: "shop", ID: "ab"}, tc.d)
			})
			var fes model.Errors
			if !errors.As(err, &fes) || fes[0].Path != tc.field {
				t.Fatalf("Stop = %v, want an error at %s", err, tc.field)
			}
			if e := r.experiment(t, "ab"); e.Status != model.ExperimentRunning {
				t.Errorf("after a refused ship: %s, want still RUNNING", e.Status)
			}
		})
	}
}

func TestStopWithRevertLeavesTheFlag(t *testing.T) {
	r := newRig(t)
	ps, _ := r.st.State().Project("shop")
	before, _, _ := ps.FlagTargeting("checkout", "production")
	r.start(t, abTest("ab"))
	c := r.update(t, func(tx *domain.Tx) error {
		return experiment.Stop(tx, experiment.Request{Project: "shop", ID: "ab"}, model.Decision{Action: model.DecisionRevert})
	})
	ps, _ = c.State.Project("shop")
	after, _, _ := ps.FlagTargeting("checkout", "production")
	if after != before {
		t.Errorf("revert changed the targeting: %+v, want %+v", after, before)
	}
	if len(ps.Overlays("production")) != 0 {
		t.Errorf("overlays after revert = %v, want none", ps.Overlays("production"))
	}
}

func TestStopRefusesAVariantOutsideTheExperiment(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	err := r.try(func(tx *domain.Tx) error {
		return experiment.Stop(tx, experiment.Request{Project: "shop", ID: "ab"}, model.Decision{Action: model.DecisionShip, Variant: "maybe"})
	})
	var fes model.Errors
	if !errors.As(err, &fes) || fes[0].Path != "variant" {
		t.Errorf("Stop shipping an unknown variant = %v, want a field error at variant", err)
	}
}
