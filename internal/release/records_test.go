package release_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

func TestAddIncidentRecordsItWithDefaults(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	var ids []int
	for _, in := range []model.Incident{
		{Severity: model.SeverityHigh, Note: "checkout errors up"},
		{Severity: model.SeverityLow, Note: "typo", Author: "carol", Time: e.clock.Now().Add(-time.Hour)},
	} {
		e.update(bob, func(tx *domain.Tx) error {
			id, err := release.AddIncident(tx, req("spring"), in)
			ids = append(ids, id)
			return err
		})
	}
	r := e.release("spring")
	want := []model.Incident{
		{ID: 1, Severity: model.SeverityHigh, Note: "checkout errors up", Time: e.clock.Now(), Author: "bob", Stage: 1},
		{ID: 2, Severity: model.SeverityLow, Note: "typo", Time: e.clock.Now().Add(-time.Hour), Author: "carol", Stage: 1},
	}
	if jsonString(t, r.Incidents) != jsonString(t, want) || ids[0] != 1 || ids[1] != 2 {
		t.Errorf("incidents %s (ids %v), want %s", jsonString(t, r.Incidents), ids, jsonString(t, want))
	}
	if last := r.Timeline[len(r.Timeline)-1]; last.Action != "incident" || last.ActorName != "bob" || last.To != model.StateInProgress {
		t.Errorf("last event %+v, want an incident event by bob", last)
	}
}

func TestAddIncidentRefusals(t *testing.T) {
	tests := []struct {
		name  string
		start bool
		in    model.Incident
		check func(error) bool
	}{
		{"a draft", false, model.Incident{Severity: model.SeverityLow, Note: "n"}, isPrecondition},
		{"no severity", true, model.Incident{Note: "n"}, isFieldError("severity")},
		{"an unknown severity", true, model.Incident{Severity: "sev1", Note: "n"}, isFieldError("severity")},
		{"no note", true, model.Incident{Severity: model.SeverityLow}, isFieldError("note")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.create(staged)
			if tc.start {
				e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
			}
			_, err := e.try(bob, func(tx *domain.Tx) error {
				_, err := release.AddIncident(tx, req("spring"), tc.in)
				return err
			})
			if !tc.check(err) {
				t.Errorf("AddIncident(%+v) = %v", tc.in, err)
			}
			if n := len(e.release("spring").Incidents); n != 0 {
				t.Errorf("%d incidents recorded, want none", n)
			}
		})
	}
}

func TestSetReviewOnlyOnceEnded(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	review := model.Review{Outcome: model.OutcomePartial, LessonsLearned: "canary first"}
	setReview := func() error {
		_, err := e.try(bob, func(tx *domain.Tx) error { return release.SetReview(tx, req("spring"), review) })
		return err
	}
	if err := setReview(); !isPrecondition(err) {
		t.Errorf("SetReview(draft) = %v, want a failed precondition", err)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	if err := setReview(); !isPrecondition(err) {
		t.Errorf("SetReview(in progress) = %v, want a failed precondition", err)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.RollBack(tx, req("spring")) })
	if err := setReview(); err != nil {
		t.Fatalf("SetReview(rolled back) = %v", err)
	}
	r := e.release("spring")
	want := &model.Review{Outcome: model.OutcomePartial, LessonsLearned: "canary first", Author: "bob", Time: e.clock.Now()}
	if jsonString(t, r.Review) != jsonString(t, want) || r.Timeline[len(r.Timeline)-1].Action != "review" {
		t.Errorf("review %s, last event %+v; want %s", jsonString(t, r.Review), r.Timeline[len(r.Timeline)-1], jsonString(t, want))
	}
	review.Outcome = "meh"
	if err := setReview(); !isFieldError("outcome")(err) {
		t.Errorf("SetReview(outcome meh) = %v, want a field error at outcome", err)
	}
}

// isFieldError returns a check that err is a model.Errors whose first
// problem is at path.
func isFieldError(path string) func(error) bool {
	return func(err error) bool {
		var fes model.Errors
		return errors.As(err, &fes) && fes[0].Path == path
	}
}
