package domain_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

// seedExperiment seeds shop and adds the metric purchase and a draft
// 50/50 experiment ab on new-checkout in production.
func seedExperiment(t *testing.T, s *domain.Store) {
	t.Helper()
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateMetric("shop", &model.Metric{Key: "purchase", Kind: model.MetricConversion}),
			tx.CreateExperiment("shop", draftExperiment()),
		)
	})
}

func draftExperiment() *model.Experiment {
	return &model.Experiment{
		ID: "ab", Environment: "production", Flag: "new-checkout", Status: model.ExperimentDraft,
		Control: model.ExperimentArm{Variant: "off", Weight: 50000}, Treatments: []model.ExperimentArm{{Variant: "on", Weight: 50000}},
		TrafficShare: 100000, PrimaryMetric: "purchase",
	}
}

func runningExperiment() *model.Experiment {
	e := draftExperiment()
	e.Status = model.ExperimentRunning
	return e
}

func TestExperimentOverlayBumpsTheRevisionOnlyWhenItChanges(t *testing.T) {
	s := domaintest.New(t)
	seedExperiment(t, s)
	c := update(t, s, func(tx *domain.Tx) error { return tx.PutExperiment("shop", runningExperiment(), "", "start") })
	ps := project(t, c.State, "shop")
	env, _ := ps.Environment("production")
	if c.Revision == 0 || env.Revision != c.Revision || c.Events[0].Action != "experiment.start" || c.Events[0].Revision != c.Revision {
		t.Errorf("start: commit revision %d, environment %d, event %+v; want one new revision", c.Revision, env.Revision, c.Events[0])
	}
	if got := ps.Overlays("production"); len(got) != 1 || got[0].Experiment != "ab" {
		t.Errorf("Overlays = %+v, want the experiment's", got)
	}
	retitled := runningExperiment()
	retitled.Title = "new title"
	if c := update(t, s, func(tx *domain.Tx) error { return tx.PutExperiment("shop", retitled, "", "") }); c.Revision != 0 {
		t.Errorf("a change outside the overlay bumped revision %d", c.Revision)
	}
}

func TestStoreRefusesBrokenExperiments(t *testing.T) {
	tests := []struct {
		name string
		fn   func(tx *domain.Tx) error
	}{
		{"deleting the flag of a running experiment", func(tx *domain.Tx) error { return tx.DeleteFlag("shop", "new-checkout", "") }},
		{"a release of the same flag", func(tx *domain.Tx) error {
			return tx.CreateRelease("shop", &model.Release{ID: "r", Environment: "production", State: model.StateScheduled,
				Items: []model.ReleaseItem{{Flag: "new-checkout", Variant: "on"}}})
		}},
		{"a second running experiment on the flag", func(tx *domain.Tx) error {
			e := runningExperiment()
			e.ID = "ab2"
			return tx.CreateExperiment("shop", e)
		}},
		{"deleting a metric the experiment counts", func(tx *domain.Tx) error { return tx.DeleteMetric("shop", "purchase", "") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := domaintest.New(t)
			seedExperiment(t, s)
			update(t, s, func(tx *domain.Tx) error { return tx.PutExperiment("shop", runningExperiment(), "", "start") })
			if _, err := s.Update(context.Background(), testActor, tc.fn); !errors.Is(err, domain.ErrFailedPrecondition) {
				t.Errorf("Update = %v, want a failed precondition", err)
			}
		})
	}
}

func TestExperimentsAndMetricsSurviveAReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := domaintest.Open(t, path, domain.Options{})
	seedExperiment(t, s)
	s.Close()
	s = domaintest.Open(t, path, domain.Options{})
	ps := project(t, s.State(), "shop")
	if _, _, ok := ps.Experiment("ab"); !ok {
		t.Error("experiment ab lost")
	}
	if m, meta, ok := ps.Metric("purchase"); !ok || m.Kind != model.MetricConversion || meta.Etag == "" {
		t.Errorf("metric purchase = %+v, %+v, %v", m, meta, ok)
	}
	if _, ok := ps.Meta(domain.ExperimentName("shop", "ab")); !ok {
		t.Error("Meta of the experiment not found")
	}
}
