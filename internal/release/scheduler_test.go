package release_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

func newScheduler(e *env) *release.Scheduler {
	return release.NewScheduler(slog.New(slog.NewTextHandler(io.Discard, nil)), e.store, release.SchedulerOptions{LateAfter: time.Minute})
}

func runDue(t *testing.T, s *release.Scheduler) int {
	t.Helper()
	n, err := s.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSchedulerTakesWaitAndAtGates(t *testing.T) {
	e := newEnv(t)
	at := e.clock.Now().Add(3 * time.Hour)
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 5000, "gate": {"wait": {"duration": "1h"}}}, {"weight": 100000, "gate": {"at": {"time": "` + at.Format(time.RFC3339) + `"}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
	s := newScheduler(e)

	e.clock.Add(59 * time.Minute)
	if n := runDue(t, s); n != 0 || e.release("r").Stage != 1 {
		t.Fatalf("before the wait gate opens: %d steps, stage %d", n, e.release("r").Stage)
	}
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("r")) }); !isPrecondition(err) || !strings.Contains(err.Error(), "scheduler") {
		t.Errorf("Advance into a wait gate = %v, want a failed precondition naming the scheduler", err)
	}
	e.clock.Add(time.Minute + 10*time.Second)
	if n := runDue(t, s); n != 1 {
		t.Fatalf("at the wait gate: %d steps, want 1", n)
	}
	r := e.release("r")
	ev := r.Timeline[len(r.Timeline)-1]
	if r.Stage != 2 || ev.Action != "advance" || ev.ActorName != release.SchedulerName || ev.PlannedTime == nil ||
		ev.DelaySeconds != 10 || ev.Late {
		t.Fatalf("stage %d, event %+v: want stage 2 taken by the scheduler 10 s after plan, not late", r.Stage, ev)
	}
	e.clock.Add(2 * time.Hour)
	if n := runDue(t, s); n != 1 || e.release("r").Stage != 3 {
		t.Fatalf("at the at gate: %d steps, stage %d", n, e.release("r").Stage)
	}
	if ev := e.release("r").Timeline[len(e.release("r").Timeline)-1]; !ev.PlannedTime.Equal(at) {
		t.Errorf("planned time %v, want %v", ev.PlannedTime, at)
	}
	// Completion is never automatic.
	e.clock.Add(24 * time.Hour)
	if n := runDue(t, s); n != 0 || e.release("r").State != model.StateInProgress {
		t.Errorf("at the last stage: %d steps, state %s", n, e.release("r").State)
	}
}

func TestSchedulerStartsAndCatchesUpLate(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 5000, "gate": {"at": {"time": "2030-01-01T12:00:00Z"}}}, {"weight": 9000, "gate": {"at": {"time": "2030-01-01T13:00:00Z"}}}]}`)
	start := e.clock.Now().Add(time.Hour)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), start) })
	if r := e.release("r"); r.State != model.StateScheduled || !r.Timeline[1].PlannedTime.Equal(start) {
		t.Fatalf("Start with a start time: %s, %+v", r.State, r.Timeline[1])
	}
	if len(e.project().Overlays("production")) != 0 {
		t.Fatal("a scheduled release has an overlay")
	}
	// The server was down from before the start until 14:00: everything
	// due is taken, in order, and recorded late.
	e.clock.Add(5 * time.Hour)
	if n := runDue(t, newScheduler(e)); n != 3 {
		t.Fatalf("catching up: %d steps, want 3", n)
	}
	r := e.release("r")
	if r.Stage != 3 || !slices.Equal(actions(r), []string{"create", "schedule", "start", "advance", "advance"}) {
		t.Fatalf("after catching up: stage %d, timeline %v", r.Stage, actions(r))
	}
	for _, ev := range r.Timeline[2:] {
		if !ev.Late || ev.DelaySeconds < 3600 || ev.PlannedTime == nil {
			t.Errorf("caught-up event %+v: want late with its delay", ev)
		}
	}
}

func TestSchedulerPausesWhatItCannotAdvance(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "banner", "variant": "new"}],
	  "plan": [{"weight": 1000}, {"weight": 5000, "gate": {"wait": {"duration": "10m"}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
	e.update(root, func(tx *domain.Tx) error {
		tx.OverrideRelease("shop", "r", "incident")
		tg, _, _ := e.project().FlagTargeting("banner", "production")
		c := *tg
		c.Enabled = false // the kill switch
		return tx.SetFlagTargeting("shop", "banner", "production", &c, "")
	})
	e.clock.Add(time.Hour)
	rev := e.revision()
	if n := runDue(t, newScheduler(e)); n != 1 {
		t.Fatalf("%d steps, want 1 (a pause)", n)
	}
	r := e.release("r")
	ev := r.Timeline[len(r.Timeline)-1]
	if r.State != model.StatePaused || r.Stage != 1 || ev.Action != "pause" || !strings.Contains(ev.Note, "flags/banner") {
		t.Errorf("state %s stage %d event %+v: want paused at stage 1 with the drift in the note", r.State, r.Stage, ev)
	}
	if e.revision() != rev {
		t.Error("pausing changed the revision")
	}
}

func TestSchedulerStepIsTakenOnce(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 5000, "gate": {"wait": {"duration": "1m"}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
	_, meta, _ := e.project().Release("r")
	e.clock.Add(time.Hour)
	// A step computed from an etag that is no longer current is not taken.
	e.update(bob, func(tx *domain.Tx) error { return release.Pause(tx, req("r")) })
	e.update(bob, func(tx *domain.Tx) error { return release.Resume(tx, req("r")) })
	_, err := e.try(domain.Actor{Name: release.SchedulerName}, func(tx *domain.Tx) error {
		_, err := release.TakeDue(tx, release.Request{Project: "shop", ID: "r", Etag: meta.Etag}, time.Minute)
		return err
	})
	if err == nil {
		t.Fatal("TakeDue with a stale etag succeeded")
	}
	// Resuming restarted the wait: nothing is due yet.
	if n := runDue(t, newScheduler(e)); n != 0 {
		t.Errorf("%d steps right after Resume, want 0", n)
	}
}
