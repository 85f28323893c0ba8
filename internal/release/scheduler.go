package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// SchedulerOptions configures a Scheduler. Zero fields take the defaults.
type SchedulerOptions struct {
	// Interval is how often the Scheduler looks for due steps; default 1 s.
	Interval time.Duration
	// Convergence, when set, holds due steps until the current stage's
	// min_convergence is reached (see Request.Convergence).
	Convergence ConvergenceSource
	// LateAfter is the delay past its planned time after which a step is
	// recorded as late; default 1 minute.
	LateAfter time.Duration
}

// Default scheduler settings.
const (
	DefaultSchedulerInterval = time.Second
	DefaultLateAfter         = time.Minute
)

// Scheduler takes the timed steps of releases — scheduled starts and the
// stages behind wait and at gates — when they fall due by the store's
// clock (domain.Store.Now). Due steps live in the releases themselves, in
// bbolt, so a scheduler started after a restart catches up on what fell
// due while the server was down, and records those steps as late.
//
// A step is taken exactly once: it runs in a store transaction that
// compares the release's etag with the one the scheduler saw, so a step a
// person took meanwhile is not taken again. A due step that cannot be
// taken (an item changed outside the release, or no longer exists) pauses
// the release instead, with the reason in its timeline.
type Scheduler struct {
	store *domain.Store
	log   *slog.Logger
	opts  SchedulerOptions
}

// NewScheduler returns a Scheduler over st.
func NewScheduler(log *slog.Logger, st *domain.Store, opts SchedulerOptions) *Scheduler {
	if opts.Interval <= 0 {
		opts.Interval = DefaultSchedulerInterval
	}
	if opts.LateAfter <= 0 {
		opts.LateAfter = DefaultLateAfter
	}
	return &Scheduler{store: st, log: log, opts: opts}
}

// Run takes due steps now and then every Interval until ctx is done.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		if _, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("release scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunDue takes every step due by now, and the steps that become due by
// taking them, and returns how many it took (pauses included). It stops at
// the first error that is not about one release.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	taken := 0
	for {
		n := 0
		for _, ps := range s.store.State().Projects() {
			for _, r := range ps.Releases() {
				step, ok := Next(r)
				if !ok || !step.dueBy(s.store.Now()) {
					continue
				}
				_, meta, _ := ps.Release(r.ID)
				did, err := s.take(ctx, ps.Key(), r.ID, meta.Etag)
				if err != nil {
					return taken, err
				}
				if did {
					n++
				}
			}
		}
		if n == 0 {
			return taken, nil
		}
		taken += n
	}
}

// take runs one due step in its own transaction.
func (s *Scheduler) take(ctx context.Context, project, id, etag string) (bool, error) {
	did := false
	_, err := s.store.Update(ctx, domain.Actor{Name: SchedulerName}, func(tx *domain.Tx) error {
		var err error
		did, err = TakeDue(tx, Request{Project: project, ID: id, Etag: etag, Convergence: s.opts.Convergence}, s.opts.LateAfter)
		return err
	})
	switch {
	case errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound):
		return false, nil // someone else changed it first: look again next time
	case err != nil:
		return false, fmt.Errorf("release %s/%s: %w", project, id, err)
	}
	return did, nil
}

// TakeDue takes the release's next step if it is a timed step due by
// tx.Now(), recording its planned time, its delay and whether it is later
// than lateAfter (the time a freeze held it not counted). A step a freeze
// holds waits: a "hold" event records it once per freeze, and the step's
// event, once taken, records how long it was held. A step whose stage has not reached its min_convergence
// (or, when the release asks for it, a passed resolution check) waits: a
// "wait" event records it once. A step that cannot be taken pauses the
// release instead. It reports whether it changed the release.
func TakeDue(tx *domain.Tx, req Request, lateAfter time.Duration) (bool, error) {
	ps, r, etag, err := load(tx, req)
	if err != nil {
		return false, err
	}
	now := tx.Now()
	step, ok := Next(r)
	if !ok || !step.dueBy(now) || step.Completes() {
		return false, nil
	}
	if h, ok := frozen(ps, r, now); ok {
		return holdFor(tx, req.Project, r, etag, step.Due, h)
	}
	action := "advance"
	if r.Stage == 0 {
		action = "start"
	}
	ev := newEvent(tx, r, action, "")
	ev.PlannedTime = step.Due
	var held time.Duration
	if since, freezes := heldSince(r); len(freezes) > 0 {
		held = now.Sub(since)
		ev.HeldSeconds, ev.Freeze = held.Seconds(), strings.Join(freezes, ",")
		addNote(ev, fmt.Sprintf("held by freeze %s for %s", ev.Freeze, held.Round(time.Second)))
	}
	if delay := now.Sub(*step.Due); delay > 0 {
		ev.DelaySeconds = delay.Seconds()
		ev.Late = delay-held > lateAfter
	}
	wait, stuck, blocked := verifyStep(req, r, now, ev)
	if blocked == nil && wait != "" {
		if !stuck {
			return waitFor(tx, req.Project, r, etag, wait)
		}
		blocked = errors.New(wait)
	}
	if blocked == nil {
		blocked = checkDrift(ps, r, false, ev)
	}
	if blocked == nil {
		blocked = checkReady(ps, r)
	}
	if blocked != nil {
		ev.Action = "pause"
		addNote(ev, "the scheduler could not take "+stageName(r, step.Stage)+": "+reason(blocked))
		r.State = model.StatePaused
		return true, put(tx, req.Project, r, etag, ev)
	}
	enter(ps, r, now)
	return true, put(tx, req.Project, r, etag, ev)
}

// waitFor records, once per stage, that the Scheduler holds r's due step
// until its verification is done (wait says what for). It reports whether
// it wrote.
func waitFor(tx *domain.Tx, project string, r *model.Release, etag, wait string) (bool, error) {
	if n := len(r.Timeline); n > 0 && r.Timeline[n-1].Action == "wait" && r.Timeline[n-1].Stage == r.Stage {
		return false, nil
	}
	return true, put(tx, project, r, etag, newEvent(tx, r, "wait", wait))
}

// reason is an error's message without the resource name and sentinel
// prefix the lifecycle adds: a refused step's reason.
func reason(err error) string {
	var pe *domain.PreconditionError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}
