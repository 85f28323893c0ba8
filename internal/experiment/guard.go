package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
	"github.com/switchyard/switchyard/internal/stats"
)

// GuardName is the actor name of the steps the Guard takes.
const GuardName = release.GuardrailActor

// NoticeGuardrailTripped is the audit action recorded, in the same commit
// as the step it took, when a guardrail trips; its After holds a Trip.
const NoticeGuardrailTripped = "guardrail.tripped"

// GuardOptions configures a Guard. Zero fields take the defaults.
type GuardOptions struct {
	// Interval is how often the Guard evaluates the guardrails; default 1
	// minute.
	Interval time.Duration
}

// DefaultGuardInterval is how often guardrails are evaluated by default.
const DefaultGuardInterval = time.Minute

// Guard evaluates, on a schedule, the guardrails of running experiments
// (those with action "stop") and of the current stage of releases in
// progress; when the treatment is worse than the control beyond a
// guardrail's threshold (see model.Guardrail) it stops the experiment
// (reverting its flag), or pauses or rolls back the release through the
// release lifecycle, with the reason in the timeline or the decision, and
// records a NoticeGuardrailTripped audit event in the same commit. Every
// step runs in a store transaction that compares the etag the Guard saw,
// so a change someone made meanwhile wins; times come from the store's
// clock.
type Guard struct {
	store    *domain.Store
	consumer *Consumer
	log      *slog.Logger
	opts     GuardOptions
}

// NewGuard returns a Guard over st reading the state c counts.
func NewGuard(log *slog.Logger, st *domain.Store, c *Consumer, opts GuardOptions) *Guard {
	if opts.Interval <= 0 {
		opts.Interval = DefaultGuardInterval
	}
	return &Guard{store: st, consumer: c, log: log, opts: opts}
}

// Trip is what a NoticeGuardrailTripped event records.
type Trip struct {
	// Kind is "experiment" or "release"; ID its id.
	Kind        string `json:"kind"`
	ID          string `json:"id"`
	Environment string `json:"environment"`
	Flag        string `json:"flag"`
	// Stage is the release stage, from 1.
	Stage     int            `json:"stage,omitempty"`
	Metric    string         `json:"metric"`
	Threshold float64        `json:"threshold"`
	Action    string         `json:"action"`
	Treatment string         `json:"treatment"`
	Control   string         `json:"control"`
	Units     [2]int64       `json:"units"` // control, treatment
	Lift      stats.Optional `json:"relative_lift"`
	CILow     stats.Optional `json:"relative_ci_low"`
	CIHigh    stats.Optional `json:"relative_ci_high"`
	PValue    stats.Optional `json:"p_value"`
	Time      time.Time      `json:"time"`
	Reason    string         `json:"reason"`
}

// Run evaluates the guardrails now and then every Interval until ctx is
// done.
func (g *Guard) Run(ctx context.Context) {
	t := time.NewTicker(g.opts.Interval)
	defer t.Stop()
	for {
		if _, err := g.Check(ctx); err != nil && ctx.Err() == nil {
			g.log.Error("guardrails", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check counts the events stored so far, evaluates every guardrail once
// and acts on those that trip. It returns the steps it took.
func (g *Guard) Check(ctx context.Context) ([]Trip, error) {
	if err := g.consumer.CatchUp(ctx); err != nil {
		return nil, err
	}
	var taken []Trip
	for _, ps := range g.store.State().Projects() {
		for _, e := range ps.Experiments() {
			trip, err := g.checkExperiment(ctx, ps, e)
			if err != nil {
				return taken, err
			}
			if trip != nil {
				taken = append(taken, *trip)
			}
		}
		for _, r := range ps.Releases() {
			trip, err := g.checkRelease(ctx, ps, r)
			if err != nil {
				return taken, err
			}
			if trip != nil {
				taken = append(taken, *trip)
			}
		}
	}
	return taken, nil
}

// checkExperiment stops a running experiment one of whose "stop"
// guardrails trips.
func (g *Guard) checkExperiment(ctx context.Context, ps *domain.ProjectState, e *model.Experiment) (*Trip, error) {
	if e.Status != model.ExperimentRunning || !hasAction(e.Guardrails, model.GuardStop) {
		return nil, nil
	}
	s := experimentStudy(ps.Key(), e)
	agg, err := g.consumer.readCounts(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, gr := range e.Guardrails {
		if gr.Action != model.GuardStop {
			continue
		}
		m := metricIndex(e.Metrics, gr.Metric)
		if m < 0 {
			continue
		}
		for arm := 1; arm < len(s.arms); arm++ {
			c := compare(agg, m, arm, &e.Metrics[m])
			if !trips(gr, &e.Metrics[m], c, agg.Units[arm], agg.Units[0]) {
				continue
			}
			trip := newTrip("experiment", e.ID, e.Environment, e.Flag, gr, s.arms[arm], s.arms[0], agg, arm, c, g.store.Now())
			trip.Reason = fmt.Sprintf("guardrail %s tripped: %s; the experiment was stopped and %s reverted", gr.Metric, trip.describe(), e.Flag)
			_, meta, _ := ps.Experiment(e.ID)
			err := g.act(ctx, ps.Key(), trip, func(tx *domain.Tx) error {
				return Stop(tx, Request{Project: ps.Key(), ID: e.ID, Etag: meta.Etag}, model.Decision{Action: model.DecisionRevert, Reason: trip.Reason})
			})
			return tripOrNil(trip, err)
		}
	}
	return nil, nil
}

// checkRelease pauses or rolls back a release in progress whose current
// stage's guardrail trips.
func (g *Guard) checkRelease(ctx context.Context, ps *domain.ProjectState, r *model.Release) (*Trip, error) {
	if r.State != model.StateInProgress {
		return nil, nil
	}
	s := releaseStudy(ps, r)
	if s == nil {
		return nil, nil
	}
	gr := *r.Plan[r.Stage-1].Guardrail
	agg, err := g.consumer.readCounts(ctx, s)
	if err != nil {
		return nil, err
	}
	c := compare(agg, 0, armTreatment, &s.metrics[0])
	if !trips(gr, &s.metrics[0], c, agg.Units[armTreatment], agg.Units[armControl]) {
		return nil, nil
	}
	action := gr.Action
	if action == model.GuardNone {
		action = model.GuardPause
	}
	gr.Action = action
	trip := newTrip("release", r.ID, r.Environment, s.flag, gr, "release "+r.ID, "the rest of "+s.flag, agg, armTreatment, c, g.store.Now())
	trip.Stage = r.Stage
	verb := "paused"
	if action == model.GuardRollback {
		verb = "rolled back"
	}
	trip.Reason = fmt.Sprintf("guardrail %s tripped at stage %d: %s; the release was %s", gr.Metric, r.Stage, trip.describe(), verb)
	_, meta, _ := ps.Release(r.ID)
	req := release.Request{Project: ps.Key(), ID: r.ID, Etag: meta.Etag, Note: trip.Reason}
	err = g.act(ctx, ps.Key(), trip, func(tx *domain.Tx) error {
		if action == model.GuardRollback {
			return release.RollBack(tx, req)
		}
		return release.Pause(tx, req)
	})
	return tripOrNil(trip, err)
}

// act takes a guardrail's step and records the notice, in one commit. A
// step someone else's change overtook is not taken.
func (g *Guard) act(ctx context.Context, project string, trip *Trip, step func(tx *domain.Tx) error) error {
	name := domain.ExperimentName(project, trip.ID)
	if trip.Kind == "release" {
		name = domain.ReleaseName(project, trip.ID)
	}
	_, err := g.store.Update(ctx, domain.Actor{Name: GuardName}, func(tx *domain.Tx) error {
		if err := step(tx); err != nil {
			return err
		}
		return tx.RecordNotice(domain.AuditEvent{
			Action: NoticeGuardrailTripped, Resource: name, Project: project, Environment: trip.Environment,
		}, trip)
	})
	switch {
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrFailedPrecondition):
		g.log.Info("guardrail step overtaken", "resource", name, "err", err)
		return errOvertaken
	case err != nil:
		return fmt.Errorf("guardrail on %s: %w", name, err)
	}
	g.log.Warn("guardrail tripped", "resource", name, "reason", trip.Reason)
	return nil
}

// errOvertaken means a guardrail's step was not taken: the resource changed
// meanwhile. The next check looks again.
var errOvertaken = errors.New("overtaken")

func tripOrNil(trip *Trip, err error) (*Trip, error) {
	switch {
	case errors.Is(err, errOvertaken):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return trip, nil
}

func newTrip(kind, id, env, flag string, gr model.Guardrail, treatment, control string, agg *Counts, arm int, c stats.Comparison, now time.Time) *Trip {
	return &Trip{
		Kind: kind, ID: id, Environment: env, Flag: flag,
		Metric: gr.Metric, Threshold: gr.Threshold, Action: string(gr.Action),
		Treatment: treatment, Control: control,
		Units: [2]int64{agg.Units[0], agg.Units[arm]},
		Lift:  c.RelLift, CILow: c.RelCILow, CIHigh: c.RelCIHigh, PValue: c.PValue,
		Time: now,
	}
}

// describe says how much worse the treatment is, in words.
func (t *Trip) describe() string {
	return fmt.Sprintf("%s changes %s by %s (95%% CI %s to %s, %s) against %s, beyond the %s tolerated",
		t.Treatment, t.Metric, signedPercent(t.Lift), signedPercent(t.CILow), signedPercent(t.CIHigh), pClause(t.PValue),
		t.Control, percent(t.Threshold))
}

func hasAction(gs []model.Guardrail, a model.GuardAction) bool {
	for _, g := range gs {
		if g.Action == a {
			return true
		}
	}
	return false
}

func metricIndex(ms []model.Metric, key string) int {
	for i := range ms {
		if ms[i].Key == key {
			return i
		}
	}
	return -1
}
