package experiment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/experiment"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// badTreatment sends n units to each variant of experiment id, with
// purchases at 20 % under off and 5 % under on.
func (r *rig) badTreatment(t *testing.T, id string, n int) {
	t.Helper()
	var events []eventlog.Event
	for i := range n {
		for _, v := range []struct {
			variant string
			every   int
		}{{"off", 5}, {"on", 20}} {
			unit := fmt.Sprintf("%s-%d", v.variant, i)
			events = append(events, r.exposure(unit, v.variant, id))
			if i%v.every == 0 {
				events = append(events, r.track(unit, "purchase", -1))
			}
		}
	}
	r.send(t, events...)
}

func (r *rig) guard() *experiment.Guard {
	return experiment.NewGuard(quiet, r.st, r.consumer, experiment.GuardOptions{})
}

func TestGuardrailStopsAWorseExperiment(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab", model.Guardrail{Metric: "purchase", Threshold: 0.1, Action: model.GuardStop}))
	r.badTreatment(t, "ab", 400)
	trips, err := r.guard().Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(trips) != 1 || trips[0].Kind != "experiment" || trips[0].Treatment != "on" {
		t.Fatalf("Check = %+v, want one trip of experiment ab's treatment", trips)
	}
	e := r.experiment(t, "ab")
	if e.Status != model.ExperimentStopped || e.Decision.Action != model.DecisionRevert || e.Decision.ActorName != experiment.GuardName ||
		!strings.Contains(e.Decision.Reason, "guardrail purchase tripped") {
		t.Errorf("experiment after the trip: %s, decision %+v; want stopped and reverted by the guardrail, saying why", e.Status, e.Decision)
	}
	notice := lastAudit(t, r, domain.ExperimentName("shop", "ab"))
	var trip experiment.Trip
	if notice.Action != experiment.NoticeGuardrailTripped || json.Unmarshal(notice.After, &trip) != nil || trip.Metric != "purchase" || trip.Units != [2]int64{400, 400} {
		t.Errorf("last audit event = %s %s, want %s with the trip", notice.Action, notice.After, experiment.NoticeGuardrailTripped)
	}
}

func TestGuardrailWaitsForItsMinimumSample(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab", model.Guardrail{Metric: "purchase", Action: model.GuardStop, MinSampleSize: 1000}))
	r.badTreatment(t, "ab", 400)
	if trips, err := r.guard().Check(context.Background()); err != nil || len(trips) != 0 {
		t.Errorf("Check = %+v, %v; want no trip below 1,000 units per group", trips, err)
	}
}

func TestReportOnlyGuardrailTakesNoStep(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab", model.Guardrail{Metric: "purchase"}))
	r.badTreatment(t, "ab", 400)
	if trips, err := r.guard().Check(context.Background()); err != nil || len(trips) != 0 {
		t.Errorf("Check = %+v, %v; want no step for a report-only guardrail", trips, err)
	}
	if got := r.results(t, "ab").Metrics[0].Tripped; len(got) != 1 {
		t.Errorf("tripped in the results = %v, want [on]", got)
	}
}

func TestGuardrailRollsBackAReleaseStage(t *testing.T) {
	r := newRig(t)
	rel := &model.Release{
		ID: "r1", Environment: "production", ReleaseNotes: "new checkout",
		Items: []model.ReleaseItem{{Flag: "checkout", Variant: "on"}},
		Plan:  []model.Stage{{Weight: 50000, Guardrail: &model.Guardrail{Metric: "purchase", Action: model.GuardRollback}}},
	}
	r.update(t, func(tx *domain.Tx) error { return release.Create(tx, "shop", rel) })
	r.update(t, func(tx *domain.Tx) error {
		return release.Start(tx, release.Request{Project: "shop", ID: "r1"}, r.clock.Now())
	})
	var events []eventlog.Event
	for i := range 400 {
		for _, g := range []struct {
			rule, variant string
			every         int
		}{{"default", "off", 5}, {"release:r1", "on", 20}} {
			unit := fmt.Sprintf("%s-%d", g.rule, i)
			events = append(events, eventlog.Event{Kind: eventlog.Exposure, Time: r.clock.Now(), Unit: unit, Flag: "checkout", Variant: g.variant, Rule: g.rule})
			if i%g.every == 0 {
				events = append(events, r.track(unit, "purchase", -1))
			}
		}
	}
	r.send(t, events...)
	trips, err := r.guard().Check(context.Background())
	if err != nil || len(trips) != 1 || trips[0].Action != "rollback" {
		t.Fatalf("Check = %+v, %v; want the release rolled back", trips, err)
	}
	ps, _ := r.st.State().Project("shop")
	got, _, _ := ps.Release("r1")
	last := got.Timeline[len(got.Timeline)-1]
	if got.State != model.StateRolledBack || last.ActorName != experiment.GuardName || !strings.Contains(last.Note, "guardrail purchase tripped at stage 1") {
		t.Errorf("release after the trip: %s, last event %+v; want ROLLED_BACK by the guardrail with the reason", got.State, last)
	}
}

// lastAudit returns the last audit event of a resource.
func lastAudit(t *testing.T, r *rig, resource string) domain.AuditEvent {
	t.Helper()
	events, _, err := r.st.ListAudit(context.Background(), domain.AuditFilter{Project: "shop", Resource: resource, Limit: 1})
	if err != nil || len(events) == 0 {
		t.Fatalf("audit of %s: %v, %v", resource, events, err)
	}
	return events[0]
}
