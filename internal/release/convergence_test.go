package release_test

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
	"github.com/switchyard/switchyard/internal/syncer"
)

// sdks is a settable convergence source: the release package's own seam
// (the server passes its sync hub).
type sdks struct {
	mu                   sync.Mutex
	connected, converged int
	asked                uint64 // the revision last asked about
}

func (s *sdks) set(connected, converged int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected, s.converged = connected, converged
}

func (s *sdks) Convergence(_, _ string, revision uint64, _ int) (syncer.Convergence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = revision
	return syncer.Convergence{Revision: revision, Connected: s.connected, Converged: s.converged}, nil
}

// convergentRelease needs 80 % of the SDKs on stage 1 before stage 2.
const convergentRelease = `{"id": "c", "environment": "production", "release_notes": "n",
  "items": [{"flag": "checkout", "variant": "on"}],
  "plan": [{"segments": ["staff"], "weight": 100000, "min_convergence": 0.8}, {"weight": 100000}]}`

func TestMeasureConvergence(t *testing.T) {
	cases := []struct {
		name                 string
		connected, converged int
		required             float64
		share                float64
		met                  bool
		note                 string
	}{
		{"no SDKs connected holds vacuously", 0, 0, 1, 1, true, "no SDKs connected"},
		{"4 of 5 meets 0.8", 5, 4, 0.8, 0.8, true, ""},
		{"1 of 2 misses 0.8", 2, 1, 0.8, 0.5, false, ""},
		{"no requirement", 3, 0, 0, 0, true, ""},
		{"all of them meet 1", 3, 3, 1, 1, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &model.Release{ID: "c", Environment: "production", State: model.StateInProgress, Stage: 1,
				Plan:     []model.Stage{{Weight: 100000, MinConvergence: tc.required}},
				Timeline: []model.ReleaseEvent{{Action: "start", To: model.StateInProgress, Stage: 1, Revision: 42}}}
			src := &sdks{connected: tc.connected, converged: tc.converged}
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			m, err := release.MeasureConvergence(src, "shop", r, now)
			if err != nil {
				t.Fatal(err)
			}
			if src.asked != 42 || m.Revision != 42 || m.Share != tc.share || m.Met != tc.met || m.Note != tc.note ||
				m.Required != tc.required || !m.Time.Equal(now) {
				t.Errorf("MeasureConvergence = %+v (asked revision %d), want share %v, met %v, note %q at revision 42",
					m, src.asked, tc.share, tc.met, tc.note)
			}
		})
	}
}

func TestAdvanceWaitsForConvergence(t *testing.T) {
	e := newEnv(t)
	e.create(convergentRelease)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("c"), time.Time{}) })
	src := &sdks{}
	src.set(2, 1)
	adv := req("c")
	adv.Convergence = src
	before := e.release("c")
	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, adv) })
	if !isPrecondition(err) || !strings.Contains(err.Error(), "waiting for convergence") ||
		!strings.Contains(err.Error(), "1 of 2 connected SDKs (50.0 %)") || !strings.Contains(err.Error(), "80.0 %") {
		t.Fatalf("Advance at 1 of 2 SDKs = %v, want a failed precondition showing 50.0 %% of 80.0 %%", err)
	}
	if got := e.release("c"); got.Stage != 1 || len(got.Timeline) != len(before.Timeline) {
		t.Fatalf("a refused Advance changed the release: stage %d, %d events", got.Stage, len(got.Timeline))
	}

	src.set(2, 2)
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, adv) })
	r := e.release("c")
	ev := r.Timeline[len(r.Timeline)-1]
	if r.Stage != 2 || !strings.Contains(ev.Note, "convergence: 2 of 2 connected SDKs (100.0 %)") {
		t.Fatalf("after convergence: stage %d, note %q", r.Stage, ev.Note)
	}
	if len(r.Verification) != 1 || r.Verification[0].Stage != 1 || r.Verification[0].Convergence == nil ||
		!r.Verification[0].Convergence.Met || r.Verification[0].Convergence.Converged != 2 {
		t.Errorf("verification %+v, want stage 1's convergence recorded as met by 2 SDKs", r.Verification)
	}
}

func TestAdvanceWithNoSDKsConnected(t *testing.T) {
	e := newEnv(t)
	e.create(convergentRelease)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("c"), time.Time{}) })
	adv := req("c")
	adv.Convergence = &sdks{}
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, adv) })
	r := e.release("c")
	if r.Stage != 2 || r.Verification[0].Convergence.Note != "no SDKs connected" || r.Verification[0].Convergence.Share != 1 {
		t.Errorf("stage %d, verification %+v: want stage 2 with stage 1 vacuously converged", r.Stage, r.Verification)
	}
}

func TestSchedulerWaitsForConvergence(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "c", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000, "min_convergence": 1}, {"weight": 100000, "gate": {"wait": {"duration": "1h"}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("c"), time.Time{}) })
	src := &sdks{}
	src.set(1, 0)
	s := release.NewScheduler(discard(), e.store, release.SchedulerOptions{Convergence: src, LateAfter: time.Minute})
	e.clock.Add(2 * time.Hour)
	if n := runDue(t, s); n != 1 {
		t.Fatalf("due but not converged: %d steps, want 1 (the wait)", n)
	}
	if n := runDue(t, s); n != 0 {
		t.Fatalf("waiting again: %d steps, want the wait recorded once", n)
	}
	r := e.release("c")
	ev := r.Timeline[len(r.Timeline)-1]
	if r.Stage != 1 || ev.Action != "wait" || ev.ActorName != release.SchedulerName || !strings.Contains(ev.Note, "waiting for convergence") {
		t.Fatalf("stage %d, last event %+v: want stage 1 and a wait for convergence", r.Stage, ev)
	}

	src.set(1, 1)
	if n := runDue(t, s); n != 1 {
		t.Fatalf("converged: %d steps, want 1", n)
	}
	r = e.release("c")
	ev = r.Timeline[len(r.Timeline)-1]
	if r.Stage != 2 || ev.Action != "advance" || !ev.Late || !strings.Contains(ev.Note, "convergence: 1 of 1") {
		t.Errorf("stage %d, last event %+v: want stage 2, late, noting the convergence", r.Stage, ev)
	}
}

func TestAdvanceNeedsAPassedResolutionCheckWhenAsked(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "c", "environment": "production", "release_notes": "n", "resolution_check": true,
	  "items": [{"flag": "checkout", "variant": "on"}], "plan": [{"weight": 1000}, {"weight": 100000}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("c"), time.Time{}) })
	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("c")) })
	if !isPrecondition(err) || !strings.Contains(err.Error(), "has not run yet") {
		t.Fatalf("Advance before the check = %v, want a failed precondition: the check has not run", err)
	}
	e.record("c", &model.ResolutionCheck{Stage: 1, Passed: false, Mismatches: 3, Evaluations: 200})
	_, err = e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("c")) })
	if !isPrecondition(err) || !strings.Contains(err.Error(), "3 of 200 evaluations") {
		t.Fatalf("Advance after a failed check = %v, want a failed precondition naming the mismatches", err)
	}
	e.record("c", &model.ResolutionCheck{Stage: 1, Passed: true, Evaluations: 200})
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("c")) })
	if r := e.release("c"); r.Stage != 2 {
		t.Errorf("after a passed check: stage %d, want 2", r.Stage)
	}
}

// record stores a resolution check in a release's verification of the
// check's stage, as the Verifier does.
func (e *env) record(id string, c *model.ResolutionCheck) {
	e.t.Helper()
	e.update(domain.Actor{Name: release.VerifierName}, func(tx *domain.Tx) error {
		ps, _ := tx.Project("shop")
		cur, _, _ := ps.Release(id)
		r := *cur
		r.Verification = []model.StageVerification{{Stage: c.Stage, Resolution: c}}
		return tx.PutReleaseVerification("shop", &r)
	})
}

// discard is a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestSchedulerPausesOnAFailedResolutionCheck(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "c", "environment": "production", "release_notes": "n", "resolution_check": true,
	  "items": [{"flag": "checkout", "variant": "on"}], "plan": [{"weight": 1000}, {"weight": 100000, "gate": {"wait": {"duration": "1h"}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("c"), time.Time{}) })
	e.record("c", &model.ResolutionCheck{Stage: 1, Passed: false, Mismatches: 1, Evaluations: 200})
	e.clock.Add(2 * time.Hour)
	if n := runDue(t, newScheduler(e)); n != 1 {
		t.Fatalf("due with a failed check: %d steps, want 1 (the pause)", n)
	}
	r := e.release("c")
	ev := r.Timeline[len(r.Timeline)-1]
	if r.State != model.StatePaused || r.Stage != 1 || ev.Action != "pause" || !strings.Contains(ev.Note, "resolution check") {
		t.Errorf("state %s, stage %d, last event %+v: want paused at stage 1 for the resolution check", r.State, r.Stage, ev)
	}
}
