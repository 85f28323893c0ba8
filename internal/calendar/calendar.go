// Package calendar builds a project's release schedule: every stage of
// every release placed in time (taken, planned by a timed gate or start
// time, or projected from an earlier one), the occurrences of its freezes,
// and the conflicts between them — two releases changing one flag or
// component of an environment in overlapping windows, or a step planned
// inside a freeze that covers its release. It reads a domain.ProjectState
// and does no I/O; Encode writes the schedule as RFC 5545 iCalendar.
package calendar

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// The kinds of Conflict.
const (
	ConflictOverlap = "overlap"
	ConflictFreeze  = "freeze"
)

// The states of a Step besides release.StepDone, StepCurrent and
// StepPending: a due step a freeze holds.
const StepHeld = "held"

// Step is one stage of a release placed in time.
type Step struct {
	Release      string             `json:"release"`
	Title        string             `json:"title,omitempty"`
	Environment  string             `json:"environment"`
	ReleaseState model.ReleaseState `json:"release_state"`
	Stage        int                `json:"stage"`
	StageName    string             `json:"stage_name,omitempty"`
	Gate         string             `json:"gate"`
	// State is done, current, pending or held.
	State string `json:"state"`
	// Time is when the stage was entered, or is planned or projected.
	Time  time.Time `json:"time"`
	Items []string  `json:"items,omitempty"`
	// Freeze is the freeze holding a held step.
	Freeze string `json:"freeze,omitempty"`
}

// Occurrence is one window of a freeze.
type Occurrence struct {
	Freeze *model.Freeze
	Window model.Window
}

// Conflict is a problem of the schedule.
type Conflict struct {
	Kind        string    `json:"kind"`
	Releases    []string  `json:"releases"`
	Environment string    `json:"environment"`
	Item        string    `json:"item,omitempty"`
	Freeze      string    `json:"freeze,omitempty"`
	Stage       int       `json:"stage,omitempty"`
	Time        time.Time `json:"time,omitzero"`
	// Overlap is when the two releases' windows overlap.
	Overlap *model.Window `json:"overlap,omitempty"`
	Message string        `json:"message"`
}

// Calendar is a project's schedule between From and To.
type Calendar struct {
	Project   string
	From, To  time.Time
	Steps     []Step
	Freezes   []Occurrence
	Conflicts []Conflict
}

// Build returns the schedule of ps between from and to as of now: the
// steps placed in [from, to) by time, the freeze occurrences overlapping
// it by start, and the conflicts that touch it.
func Build(ps *domain.ProjectState, from, to, now time.Time) *Calendar {
	c := &Calendar{Project: ps.Key(), From: from, To: to}
	plans := plans(ps, now)
	for _, p := range plans {
		for _, s := range p.steps {
			if !s.Time.Before(from) && s.Time.Before(to) {
				c.Steps = append(c.Steps, s)
			}
		}
	}
	sort.SliceStable(c.Steps, func(i, j int) bool { return c.Steps[i].Time.Before(c.Steps[j].Time) })
	for _, f := range ps.Freezes() {
		for _, w := range f.Windows(from, to) {
			c.Freezes = append(c.Freezes, Occurrence{f, w})
		}
	}
	sort.SliceStable(c.Freezes, func(i, j int) bool { return c.Freezes[i].Window.Start.Before(c.Freezes[j].Window.Start) })
	for _, cf := range conflicts(ps, plans, "", now) {
		if cf.touches(from, to) {
			c.Conflicts = append(c.Conflicts, cf)
		}
	}
	return c
}

// ConflictsOf returns the conflicts of release id with freezes and other
// releases as of now: what a release's create and update answers warn of.
func ConflictsOf(ps *domain.ProjectState, id string, now time.Time) []Conflict {
	return conflicts(ps, plans(ps, now), id, now)
}

func (c Conflict) touches(from, to time.Time) bool {
	if c.Overlap != nil {
		return c.Overlap.End.After(from) && c.Overlap.Start.Before(to) || c.Overlap.Start.Equal(c.Overlap.End) && c.Overlap.Start.Equal(from)
	}
	return !c.Time.Before(from) && c.Time.Before(to)
}

// plan is a release with its steps placed in time.
type plan struct {
	r     *model.Release
	steps []Step
}

// window is the span of the plan's steps, widened to now while the
// release is active; ok is false when no step has a time.
func (p plan) window(now time.Time) (model.Window, bool) {
	if len(p.steps) == 0 {
		return model.Window{}, false
	}
	w := model.Window{Start: p.steps[0].Time, End: p.steps[0].Time}
	for _, s := range p.steps[1:] {
		w.Start = minTime(w.Start, s.Time)
		w.End = maxTime(w.End, s.Time)
	}
	if p.r.State.Serving() && now.After(w.End) {
		w.End = now
	}
	return w, true
}

// plans places the stages of every release of ps that has not ended, and
// the taken stages of those that have.
func plans(ps *domain.ProjectState, now time.Time) []plan {
	var out []plan
	for _, r := range ps.Releases() {
		out = append(out, plan{r: r, steps: place(r, now)})
	}
	return out
}

// place returns the stages of r that have a time: entered, planned by a
// timed gate or start time, or projected by a wait gate from the stage
// before. Stages behind a manual or approval gate that has not opened have
// no time, nor do the ones after them.
func place(r *model.Release, now time.Time) []Step {
	recs := release.Steps(r)
	items := make([]string, len(r.Items))
	for i, it := range r.Items {
		items[i] = it.Ref()
	}
	heldBy := release.HeldBy(r)
	var out []Step
	var prev *time.Time
	for i, rec := range recs {
		s := Step{Release: r.ID, Title: r.Title, Environment: r.Environment, ReleaseState: r.State,
			Stage: rec.Stage, StageName: rec.Name, Gate: rec.Gate, State: rec.State, Items: items}
		var t *time.Time
		switch {
		case rec.EnterTime != nil:
			t = rec.EnterTime
		case rec.State == release.StepSkipped:
		case rec.PlannedTime != nil:
			t = rec.PlannedTime
			if heldBy != "" && i == r.Stage {
				s.State, s.Freeze = StepHeld, heldBy
			}
		case i == 0 && r.StartTime != nil && rec.Gate == release.GateManual:
			t = r.StartTime
		default:
			t = projected(r.Plan[i].Gate, prev)
		}
		if t == nil {
			prev = nil
			continue
		}
		s.Time = t.UTC()
		prev = &s.Time
		out = append(out, s)
	}
	return out
}

// projected is when a pending stage behind gate g opens, given when the
// stage before it opened (nil: unknown).
func projected(g *model.Gate, prev *time.Time) *time.Time {
	switch {
	case g == nil:
		return nil
	case g.At != nil:
		t := g.At.Time
		return &t
	case g.Wait != nil && prev != nil:
		d, err := time.ParseDuration(g.Wait.Duration)
		if err != nil {
			return nil
		}
		t := prev.Add(d)
		return &t
	}
	return nil
}

// conflicts returns the conflicts among plans as of now; with only set,
// those involving that release.
func conflicts(ps *domain.ProjectState, plans []plan, only string, now time.Time) []Conflict {
	var out []Conflict
	for _, p := range plans {
		if p.r.State.Ended() || only != "" && p.r.ID != only {
			continue
		}
		for _, s := range p.steps {
			if s.State == release.StepDone || s.State == release.StepCurrent {
				continue
			}
			for _, f := range ps.Freezes() {
				if !f.Covers(p.r.Environment, p.r.Items) {
					continue
				}
				if w, ok := f.At(s.Time); ok {
					out = append(out, Conflict{
						Kind: ConflictFreeze, Releases: []string{p.r.ID}, Environment: p.r.Environment,
						Freeze: f.Key, Stage: s.Stage, Time: s.Time,
						Message: fmt.Sprintf("release %s: %s is planned at %s, inside freeze %q (%s, until %s)",
							p.r.ID, stageLabel(s), s.Time.Format(time.RFC3339), f.Key, f.Reason, w.End.Format(time.RFC3339)),
					})
				}
			}
		}
	}
	for i, a := range plans {
		for _, b := range plans[i+1:] {
			if only != "" && a.r.ID != only && b.r.ID != only {
				continue
			}
			if a.r.State.Ended() || b.r.State.Ended() || a.r.Environment != b.r.Environment {
				continue
			}
			wa, oka := a.window(now)
			wb, okb := b.window(now)
			if !oka || !okb || wa.End.Before(wb.Start) || wb.End.Before(wa.Start) {
				continue
			}
			ov := model.Window{Start: maxTime(wa.Start, wb.Start), End: minTime(wa.End, wb.End)}
			for _, it := range a.r.Items {
				if !slices.ContainsFunc(b.r.Items, func(o model.ReleaseItem) bool { return o.Ref() == it.Ref() }) {
					continue
				}
				out = append(out, Conflict{
					Kind: ConflictOverlap, Releases: []string{a.r.ID, b.r.ID}, Environment: a.r.Environment, Item: it.Ref(),
					Overlap: &ov,
					Message: fmt.Sprintf("releases %s and %s both change %s in %s between %s and %s",
						a.r.ID, b.r.ID, it.Ref(), a.r.Environment, ov.Start.Format(time.RFC3339), ov.End.Format(time.RFC3339)),
				})
			}
		}
	}
	return out
}

func stageLabel(s Step) string {
	if s.StageName != "" {
		return fmt.Sprintf("stage %d (%s)", s.Stage, s.StageName)
	}
	return fmt.Sprintf("stage %d", s.Stage)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
