package release

import (
	"maps"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

// DefaultTolerance is how far from its planned time a timed step may run
// and still count as on schedule in a Report.
const DefaultTolerance = 5 * time.Minute

// ReportOptions selects what a Report covers.
type ReportOptions struct {
	// Start and End bound the period, [Start, End).
	Start, End time.Time
	// Environment, when not "", keeps only the releases of that
	// environment.
	Environment string
	// Tolerance is how late a timed step may run and count as on
	// schedule; zero means DefaultTolerance.
	Tolerance time.Duration
}

// Report is the release KPIs of a period, overall and by release model.
type Report struct {
	Overall ReportGroup `json:"overall"`
	// ByModel has one group per release model the releases were created
	// from, by model name; releases created without one are the group
	// with Model "".
	ByModel []ReportGroup `json:"by_model,omitempty"`
}

// ReportGroup is the KPIs of one group of releases. Only what happened in
// the period counts: a release's outcome when it ended in the period, a
// step when it was taken in the period, a stage's lead time when the stage
// was left in the period, an incident when it happened in the period. The
// backlog is the releases waiting at the end of the period.
type ReportGroup struct {
	Model string `json:"model,omitempty"`
	// Releases is how many releases have a timeline event or an incident
	// in the period.
	Releases int `json:"releases,omitempty"`
	// Outcomes counts the releases that ended in the period by the state
	// they ended in: COMPLETED, ROLLED_BACK or CANCELLED; Ended is their
	// sum.
	Outcomes map[model.ReleaseState]int `json:"outcomes,omitempty"`
	Ended    int                        `json:"ended,omitempty"`
	// SuccessRate is completed / ended; nil when none ended.
	SuccessRate *float64 `json:"success_rate,omitempty"`
	Rollbacks   int      `json:"rollbacks,omitempty"`
	// TimedSteps counts the steps due at a planned time (a scheduled
	// start, a wait or at gate) that were due in the period: taken, or
	// that the scheduler could not take and paused the release instead.
	// OnTimeSteps are those taken within the tolerance of their planned
	// time.
	TimedSteps  int `json:"timed_steps,omitempty"`
	OnTimeSteps int `json:"on_time_steps,omitempty"`
	// ScheduleAdherence is OnTimeSteps / TimedSteps; nil when there were
	// none.
	ScheduleAdherence *float64 `json:"schedule_adherence,omitempty"`
	// LeadTimes is the mean time from entering to leaving each stage, by
	// stage number.
	LeadTimes []StageLeadTime `json:"lead_times,omitempty"`
	// Backlog counts the releases waiting at the end of the period by
	// state: DRAFT, SCHEDULED or PAUSED.
	Backlog      map[model.ReleaseState]int `json:"backlog,omitempty"`
	BacklogTotal int                        `json:"backlog_total,omitempty"`
	// Incidents counts the incidents of the period by severity.
	Incidents      map[model.Severity]int `json:"incidents,omitempty"`
	IncidentsTotal int                    `json:"incidents_total,omitempty"`
	// Reviews counts the reviews written in the period by outcome.
	Reviews map[model.ReviewOutcome]int `json:"reviews,omitempty"`
}

// StageLeadTime is the mean lead time of one stage number over the stages
// left in the period.
type StageLeadTime struct {
	Stage int `json:"stage"`
	// Name is the stages' name when they all share it.
	Name        string  `json:"name,omitempty"`
	Count       int     `json:"count"`
	MeanSeconds float64 `json:"mean_seconds"`
}

// BuildReport computes the KPIs of releases over the period opts selects.
func BuildReport(releases []*model.Release, opts ReportOptions) Report {
	if opts.Tolerance <= 0 {
		opts.Tolerance = DefaultTolerance
	}
	overall := newTally("")
	byModel := map[string]*tally{}
	for _, r := range releases {
		if opts.Environment != "" && r.Environment != opts.Environment {
			continue
		}
		g := byModel[r.Model]
		if g == nil {
			g = newTally(r.Model)
			byModel[r.Model] = g
		}
		overall.add(r, opts)
		g.add(r, opts)
	}
	rep := Report{Overall: overall.group()}
	for _, name := range slices.Sorted(maps.Keys(byModel)) {
		rep.ByModel = append(rep.ByModel, byModel[name].group())
	}
	return rep
}

// tally accumulates one ReportGroup.
type tally struct {
	g      ReportGroup
	leads  map[int]*leadSum
	active int
}

type leadSum struct {
	name    string
	mixed   bool
	count   int
	seconds float64
}

func newTally(name string) *tally {
	return &tally{
		g: ReportGroup{
			Model:     name,
			Outcomes:  map[model.ReleaseState]int{},
			Backlog:   map[model.ReleaseState]int{},
			Incidents: map[model.Severity]int{},
			Reviews:   map[model.ReviewOutcome]int{},
		},
		leads: map[int]*leadSum{},
	}
}

// in reports whether t lies in the period.
func in(t time.Time, opts ReportOptions) bool { return !t.Before(opts.Start) && t.Before(opts.End) }

// add counts one release.
func (t *tally) add(r *model.Release, opts ReportOptions) {
	g := &t.g
	active := false
	var asOfEnd model.ReleaseState // the state at the end of the period
	for _, ev := range r.Timeline {
		if !ev.Time.Before(opts.End) {
			break
		}
		if ev.To != "" {
			asOfEnd = ev.To
		}
		if !in(ev.Time, opts) {
			continue
		}
		active = true
		if ev.To.Ended() && ev.From != ev.To {
			g.Outcomes[ev.To]++
			g.Ended++
		}
		if ev.Action == "roll_back" {
			g.Rollbacks++
		}
		if ev.PlannedTime != nil && timedStep(ev) {
			g.TimedSteps++
			if ev.Action != "pause" && ev.Time.Sub(*ev.PlannedTime) <= opts.Tolerance {
				g.OnTimeSteps++
			}
		}
	}
	switch asOfEnd {
	case model.StateDraft, model.StateScheduled, model.StatePaused:
		g.Backlog[asOfEnd]++
		g.BacklogTotal++
	}
	for _, st := range Steps(r) {
		if st.ExitTime == nil || !in(*st.ExitTime, opts) {
			continue
		}
		l := t.leads[st.Stage]
		if l == nil {
			l = &leadSum{name: st.Name}
			t.leads[st.Stage] = l
		}
		l.mixed = l.mixed || l.name != st.Name
		l.count++
		l.seconds += st.LeadTimeSeconds
	}
	for _, inc := range r.Incidents {
		if in(inc.Time, opts) {
			g.Incidents[inc.Severity]++
			g.IncidentsTotal++
			active = true
		}
	}
	if rv := r.Review; rv != nil && in(rv.Time, opts) {
		g.Reviews[rv.Outcome]++
	}
	if active {
		t.active++
	}
}

// timedStep reports whether ev, which has a planned time, is a step taken
// or due then: a start or an advance, or the pause the scheduler records
// instead of a due step it cannot take (the only pause with a planned
// time).
func timedStep(ev model.ReleaseEvent) bool {
	switch ev.Action {
	case "start", "advance", "pause":
		return true
	}
	return false
}

// group returns the finished ReportGroup.
func (t *tally) group() ReportGroup {
	g := t.g
	g.Releases = t.active
	if g.Ended > 0 {
		g.SuccessRate = ratio(g.Outcomes[model.StateCompleted], g.Ended)
	}
	if g.TimedSteps > 0 {
		g.ScheduleAdherence = ratio(g.OnTimeSteps, g.TimedSteps)
	}
	for _, n := range slices.Sorted(maps.Keys(t.leads)) {
		l := t.leads[n]
		name := l.name
		if l.mixed {
			name = ""
		}
		g.LeadTimes = append(g.LeadTimes, StageLeadTime{Stage: n, Name: name, Count: l.count, MeanSeconds: l.seconds / float64(l.count)})
	}
	return g
}

func ratio(n, d int) *float64 {
	v := float64(n) / float64(d)
	return &v
}
