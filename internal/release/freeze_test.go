package release_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// freeze adds a freeze of the project from now+from for d.
func (e *env) freeze(key string, from, d time.Duration, mod func(f *model.Freeze)) {
	e.t.Helper()
	start := e.clock.Now().Add(from)
	f := &model.Freeze{Key: key, StartTime: start, EndTime: start.Add(d), Reason: "year-end"}
	if mod != nil {
		mod(f)
	}
	e.update(root, func(tx *domain.Tx) error { return tx.CreateFreeze("shop", f) })
}

func asFrozen(err error) *release.FrozenError {
	var fe *release.FrozenError
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

func TestFreezeRefusesManualStartAndAdvance(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.freeze("year-end", 0, 2*time.Hour, nil)

	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	fe := asFrozen(err)
	if fe == nil || fe.Freeze != "year-end" || fe.Step != "start" || !fe.Until.Equal(e.clock.Now().Add(2*time.Hour)) ||
		!strings.Contains(err.Error(), `freeze "year-end"`) {
		t.Fatalf("Start inside a freeze = %v, want a FrozenError naming year-end until its end", err)
	}
	if r := e.release("spring"); r.State != model.StateDraft {
		t.Fatalf("refused Start left the release %s, want DRAFT", r.State)
	}
	// Scheduling for after the freeze is planning, not a step.
	e.update(alice, func(tx *domain.Tx) error {
		return release.Start(tx, req("spring"), e.clock.Now().Add(3*time.Hour))
	})
	e.clock.Add(3 * time.Hour)
	if n := runDue(t, newScheduler(e)); n != 1 || e.release("spring").Stage != 1 {
		t.Fatalf("after the freeze: %d steps, stage %d; want the scheduled start taken", n, e.release("spring").Stage)
	}

	e.freeze("audit", 0, time.Hour, nil)
	_, err = e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
	if fe := asFrozen(err); fe == nil || fe.Freeze != "audit" || fe.Step != "advance" {
		t.Fatalf("Advance inside a freeze = %v, want a FrozenError naming audit", err)
	}
	// Pause, resume and roll back are never held.
	e.update(alice, func(tx *domain.Tx) error { return release.Pause(tx, req("spring")) })
	e.update(alice, func(tx *domain.Tx) error { return release.Resume(tx, req("spring")) })
	e.update(alice, func(tx *domain.Tx) error { return release.RollBack(tx, req("spring")) })
	if r := e.release("spring"); r.State != model.StateRolledBack {
		t.Errorf("state %s, want ROLLED_BACK", r.State)
	}
}

func TestFreezeNarrowedToOtherEnvironmentOrComponentDoesNotHold(t *testing.T) {
	e := newEnv(t)
	e.create(staged) // production; checkout, banner and app
	e.freeze("staging-only", 0, time.Hour, func(f *model.Freeze) { f.Environments = []string{"staging"} })
	e.update(root, func(tx *domain.Tx) error {
		return tx.CreateComponent("shop", &model.Component{Key: "web", Versions: []model.Version{{Version: "1.0.0"}}})
	})
	e.freeze("web-only", 0, time.Hour, func(f *model.Freeze) { f.Components = []string{"web"} })
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	e.freeze("app", 0, time.Hour, func(f *model.Freeze) { f.Components = []string{"app"} })
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) }); asFrozen(err) == nil {
		t.Errorf("Advance of a release of app inside a freeze of app = %v, want a FrozenError", err)
	}
}

func TestRecurringFreezeFollowsItsTimeZone(t *testing.T) {
	e := newEnv(t) // 2030-01-01 09:00 UTC, a Tuesday
	berlin, _ := time.LoadLocation("Europe/Berlin")
	e.create(staged)
	// Every weekday from 17:00 to 09:00 Berlin time, from the first of January.
	e.update(root, func(tx *domain.Tx) error {
		return tx.CreateFreeze("shop", &model.Freeze{Key: "nights", Reason: "no releases at night",
			StartTime: time.Date(2030, 1, 1, 17, 0, 0, 0, berlin), EndTime: time.Date(2030, 1, 2, 9, 0, 0, 0, berlin),
			RRule: "FREQ=DAILY", TimeZone: "Europe/Berlin"})
	})
	// 09:00 UTC is 10:00 in Berlin: not frozen.
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	// 2030-07-01 16:30 UTC is 18:30 in Berlin (summer time): frozen.
	e.clock.Add(time.Date(2030, 7, 1, 16, 30, 0, 0, time.UTC).Sub(e.clock.Now()))
	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
	if fe := asFrozen(err); fe == nil || !fe.Until.Equal(time.Date(2030, 7, 2, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("Advance at 18:30 Berlin = %v, want frozen until 09:00 Berlin (07:00 UTC)", err)
	}
	// 2030-07-02 07:00 UTC is 09:00 in Berlin: the window has ended.
	e.clock.Add(14*time.Hour + 30*time.Minute)
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
}

func TestFreezeHoldsAScheduledStepAcrossARestart(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 100000, "gate": {"wait": {"duration": "1h"}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
	e.freeze("sale", 30*time.Minute, 2*time.Hour, nil) // 09:30 to 11:30

	e.clock.Add(time.Hour) // 10:00: the wait gate opens inside the freeze
	s := newScheduler(e)
	if n := runDue(t, s); n != 1 {
		t.Fatalf("due step inside a freeze: %d writes, want 1 (the hold)", n)
	}
	r := e.release("r")
	hold := r.Timeline[len(r.Timeline)-1]
	if r.Stage != 1 || hold.Action != "hold" || hold.Freeze != "sale" || !strings.Contains(hold.Note, "11:30") {
		t.Fatalf("stage %d, last event %+v: want stage 1 held by sale until 11:30", r.Stage, hold)
	}
	e.clock.Add(time.Minute)
	if n := runDue(t, s); n != 0 {
		t.Fatalf("still frozen: %d writes, want the hold recorded once", n)
	}

	// Restart: a new store on the same file, a new scheduler.
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.store = domaintest.Open(t, e.path, domain.Options{Now: e.clock.Now})
	s = newScheduler(e)
	e.clock.Add(time.Hour) // 11:01: still frozen
	if n := runDue(t, s); n != 0 || e.release("r").Stage != 1 {
		t.Fatalf("after a restart, still frozen: %d writes, stage %d", n, e.release("r").Stage)
	}
	e.clock.Add(29 * time.Minute) // 11:30: the window ends
	if n := runDue(t, s); n != 1 {
		t.Fatalf("when the freeze ends: %d steps, want 1", n)
	}
	r = e.release("r")
	ev := r.Timeline[len(r.Timeline)-1]
	if r.Stage != 2 || ev.Action != "advance" || ev.Freeze != "sale" || ev.HeldSeconds != 90*60 || ev.DelaySeconds != 90*60 ||
		ev.Late || !strings.Contains(ev.Note, "held by freeze sale for 1h30m0s") {
		t.Errorf("stage %d, event %+v: want stage 2 taken at 11:30, held 90 minutes by sale, not late", r.Stage, ev)
	}
}

func TestFreezeOverrideNeedsAnotherPerson(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.freeze("year-end", 0, 2*time.Hour, nil)
	withReason := func(note string) release.Request { r := req("spring"); r.Note = note; return r }

	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.RequestFreezeOverride(tx, req("spring"), "year-end") }); err == nil {
		t.Fatal("an override without a reason was accepted")
	}
	e.update(alice, func(tx *domain.Tx) error {
		return release.RequestFreezeOverride(tx, withReason("INC-9: payment outage fix"), "year-end")
	})
	// Asked for, not approved: still frozen.
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) }); asFrozen(err) == nil {
		t.Fatalf("Start with an unapproved override = %v, want frozen", err)
	}
	// The requester, with another key of theirs, may not approve it.
	alice2 := e.mint(alice, "k-alice-2", "alice", domain.PrincipalPerson, domain.RoleReleaseManager)
	for _, a := range []domain.Actor{alice, alice2} {
		if _, err := e.try(a, func(tx *domain.Tx) error { return release.ApproveFreezeOverride(tx, req("spring"), "year-end") }); !errors.Is(err, auth.ErrPermissionDenied) {
			t.Errorf("approval by the requester's key %s = %v, want permission denied", a.KeyID, err)
		}
	}
	c := e.update(bob, func(tx *domain.Tx) error { return release.ApproveFreezeOverride(tx, req("spring"), "year-end") })
	r := e.release("spring")
	o := r.FreezeOverrides[0]
	ev := r.Timeline[len(r.Timeline)-1]
	if o.ApproverPrincipal != "bob" || o.RequesterPrincipal != "alice" || ev.Action != "approve_override" || ev.Freeze != "year-end" ||
		!strings.Contains(ev.Note, "INC-9") {
		t.Fatalf("override %+v, event %+v: want asked by alice, approved by bob, on the timeline", o, ev)
	}
	var audited bool
	for _, a := range c.Events {
		audited = audited || a.Action == "release.approve_override"
	}
	if !audited {
		t.Errorf("audit events %+v, want release.approve_override", c.Events)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	if r := e.release("spring"); r.Stage != 1 {
		t.Fatalf("Start with an approved override: stage %d, want 1", r.Stage)
	}
}

func TestApprovedOverrideReleasesAHeldStep(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 100000, "gate": {"wait": {"duration": "1h"}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
	e.freeze("sale", 0, 4*time.Hour, nil)
	e.clock.Add(time.Hour)
	s := newScheduler(e)
	runDue(t, s)
	if r := e.release("r"); r.Stage != 1 || r.Timeline[len(r.Timeline)-1].Action != "hold" {
		t.Fatalf("stage %d, timeline %v: want held", r.Stage, actions(r))
	}
	asked := req("r")
	asked.Note = "INC-3"
	e.update(alice, func(tx *domain.Tx) error { return release.RequestFreezeOverride(tx, asked, "sale") })
	e.clock.Add(10 * time.Minute)
	if n := runDue(t, s); n != 0 {
		t.Fatalf("with the override not approved: %d writes, want the step still held", n)
	}
	e.update(bob, func(tx *domain.Tx) error { return release.ApproveFreezeOverride(tx, req("r"), "sale") })
	if n := runDue(t, s); n != 1 {
		t.Fatalf("with the override approved: %d steps, want 1", n)
	}
	r := e.release("r")
	if ev := r.Timeline[len(r.Timeline)-1]; r.Stage != 2 || ev.Freeze != "sale" || ev.HeldSeconds != 600 {
		t.Errorf("stage %d, event %+v: want stage 2, held 10 minutes by sale", r.Stage, ev)
	}
	want := []string{"create", "start", "hold", "request_override", "approve_override", "advance"}
	if got := actions(r); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("timeline %v, want %v", got, want)
	}
}
