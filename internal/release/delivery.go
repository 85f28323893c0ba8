package release

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

// This file computes delivery metrics: DORA's four keys (deployment
// frequency, lead time for changes, change failure rate, time to restore
// service) read from release records, plus throughput per week and
// schedule adherence. A release is a change; it counts in the period (and
// the week) it ended in, as COMPLETED or ROLLED_BACK. Durations are
// summarized by their median, as DORA does: lead and restore times are
// skewed by a few long releases, and the median says what a typical
// change takes where a mean would follow the outliers.

// DefaultIncidentWindow is how long after a release completed an incident
// linked to it still makes it a failed change.
const DefaultIncidentWindow = 7 * 24 * time.Hour

// GuardrailActor is the actor name of the steps a tripped guardrail takes
// (a pause or a roll back): the failure signal of time to restore.
const GuardrailActor = "guardrail"

// week is the length of a trend point and the unit of release frequency.
const week = 7 * 24 * time.Hour

// MaxDeliveryPeriod bounds the period of delivery metrics.
const MaxDeliveryPeriod = 3660 * 24 * time.Hour

// DeliveryOptions selects what Delivery covers.
type DeliveryOptions struct {
	// Start and End bound the period, [Start, End).
	Start, End time.Time
	// Environment and Model, when not "", keep only the releases of that
	// environment and those created from that release model.
	Environment, Model string
	// IncidentWindow is how long after completing a release an incident
	// makes it a failed change; zero means DefaultIncidentWindow.
	IncidentWindow time.Duration
	// Tolerance is how late a timed step may run and count as on
	// schedule; zero means DefaultTolerance.
	Tolerance time.Duration
}

// ParsePeriod reads the length of a period: a positive whole number of
// days ("90d"), weeks ("12w") or hours ("36h"), at most MaxDeliveryPeriod.
func ParsePeriod(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': week}
	if len(s) < 2 || units[s[len(s)-1]] == 0 {
		return 0, fmt.Errorf("%q is not a period such as 90d, 12w or 36h", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a period such as 90d, 12w or 36h", s)
	}
	if n > int(MaxDeliveryPeriod/units[s[len(s)-1]]) {
		return 0, fmt.Errorf("%q is longer than %d days", s, int(MaxDeliveryPeriod/(24*time.Hour)))
	}
	return time.Duration(n) * units[s[len(s)-1]], nil
}

// Delivery is the delivery metrics of a period: those of every release
// selected, split by environment and by release model, and one trend point
// per week.
type Delivery struct {
	DeliveryGroup
	ByEnvironment []DeliveryGroup `json:"by_environment,omitempty"`
	ByModel       []DeliveryGroup `json:"by_model,omitempty"`
	// Weeks are counted from the start of the period; the last may be
	// shorter.
	Weeks []DeliveryWeek `json:"weeks,omitempty"`
}

// DeliveryGroup is the delivery metrics of a group of releases over a
// period.
type DeliveryGroup struct {
	// Environment or Model names the group in a split.
	Environment string `json:"environment,omitempty"`
	Model       string `json:"model,omitempty"`
	DeliveryCounts
	// ReleaseFrequency (DORA: deployment frequency) is the releases
	// completed in the period per week: Completed ÷ (the period's length ÷
	// 7 days).
	ReleaseFrequency float64 `json:"release_frequency"`
}

// DeliveryWeek is one week's trend point.
type DeliveryWeek struct {
	Start time.Time `json:"start"`
	DeliveryCounts
}

// DeliveryCounts is what is measured of the releases that ended in a
// period.
type DeliveryCounts struct {
	// Completed and RolledBack count the releases that ended in the period
	// in that state; Completed is the throughput.
	Completed  int `json:"completed,omitempty"`
	RolledBack int `json:"rolled_back,omitempty"`
	// LeadTime (DORA: lead time for changes) is, over the releases
	// completed in the period, the time from the start of their first
	// stage (the first "start" event) to their completion; the median.
	LeadTime *Durations `json:"lead_time,omitempty"`
	// Changes are the releases that reached users and ended in the period:
	// completed or rolled back. FailedChanges are those rolled back, or
	// with an incident linked to them from their start until
	// IncidentWindow after they completed.
	Changes       int `json:"changes,omitempty"`
	FailedChanges int `json:"failed_changes,omitempty"`
	// ChangeFailureRate (DORA: change failure rate) is FailedChanges ÷
	// Changes; nil when there were no changes.
	ChangeFailureRate *float64 `json:"change_failure_rate,omitempty"`
	// TimeToRestore (DORA: time to restore service) is, over the releases
	// rolled back in the period after a failure signal — their first
	// incident, or a guardrail tripping (a pause or roll back by
	// GuardrailActor), whichever came first — the time from that signal to
	// the roll back; the median. A roll back with no signal before it has
	// no time to restore.
	TimeToRestore *Durations `json:"time_to_restore,omitempty"`
	// TimedSteps counts the steps due at a planned time (scheduled starts,
	// wait and at gates) taken or missed in the period, OnTimeSteps those
	// taken within the tolerance; ScheduleAdherence is OnTimeSteps ÷
	// TimedSteps, nil when there were none. (As in Report.)
	TimedSteps        int      `json:"timed_steps,omitempty"`
	OnTimeSteps       int      `json:"on_time_steps,omitempty"`
	ScheduleAdherence *float64 `json:"schedule_adherence,omitempty"`
}

// Durations summarizes durations: how many, and their median (the middle
// one, or the mean of the two middle ones of an even count).
type Durations struct {
	Count         int     `json:"count"`
	MedianSeconds float64 `json:"median_seconds"`
}

// change is what the metrics read of one release.
type change struct {
	r     *model.Release
	ended time.Time          // when it completed or rolled back; zero if it has not
	state model.ReleaseState // COMPLETED or ROLLED_BACK
	// lead is the lead time of a completed release that started.
	lead    time.Duration
	hasLead bool
	failed  bool
	// restore is the time to restore of a release rolled back after a
	// failure signal.
	restore    time.Duration
	hasRestore bool
}

// readChange reads the change r records.
func readChange(r *model.Release, window time.Duration) change {
	c := change{r: r}
	var started, signal *time.Time
	for i := range r.Timeline {
		ev := &r.Timeline[i]
		if ev.Action == "start" && started == nil {
			started = &ev.Time
		}
		if ev.ActorName == GuardrailActor && ev.Actor == "" && (ev.Action == "pause" || ev.Action == "roll_back") && signal == nil {
			signal = &ev.Time
		}
		if (ev.To == model.StateCompleted || ev.To == model.StateRolledBack) && ev.From != ev.To {
			c.ended, c.state = ev.Time, ev.To
			break
		}
	}
	if c.ended.IsZero() || started == nil {
		return change{r: r}
	}
	for _, in := range r.Incidents {
		if signal == nil || in.Time.Before(*signal) {
			t := in.Time
			signal = &t
		}
	}
	switch c.state {
	case model.StateCompleted:
		c.lead, c.hasLead = c.ended.Sub(*started), true
		for _, in := range r.Incidents {
			if !in.Time.Before(*started) && !in.Time.After(c.ended.Add(window)) {
				c.failed = true
			}
		}
	case model.StateRolledBack:
		c.failed = true
		if signal != nil && !signal.After(c.ended) {
			c.restore, c.hasRestore = c.ended.Sub(*signal), true
		}
	}
	return c
}

// BuildDelivery computes the delivery metrics of releases over the period
// opts selects.
func BuildDelivery(releases []*model.Release, opts DeliveryOptions) Delivery {
	if opts.IncidentWindow <= 0 {
		opts.IncidentWindow = DefaultIncidentWindow
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = DefaultTolerance
	}
	var all []change
	byEnv, byModel := map[string][]change{}, map[string][]change{}
	for _, r := range releases {
		if (opts.Environment != "" && r.Environment != opts.Environment) || (opts.Model != "" && r.Model != opts.Model) {
			continue
		}
		c := readChange(r, opts.IncidentWindow)
		all = append(all, c)
		byEnv[r.Environment] = append(byEnv[r.Environment], c)
		byModel[r.Model] = append(byModel[r.Model], c)
	}
	d := Delivery{DeliveryGroup: group(all, opts)}
	for _, env := range slices.Sorted(maps.Keys(byEnv)) {
		g := group(byEnv[env], opts)
		g.Environment = env
		d.ByEnvironment = append(d.ByEnvironment, g)
	}
	for _, name := range slices.Sorted(maps.Keys(byModel)) {
		g := group(byModel[name], opts)
		g.Model = name
		d.ByModel = append(d.ByModel, g)
	}
	for start := opts.Start; start.Before(opts.End); start = start.Add(week) {
		end := start.Add(week)
		if end.After(opts.End) {
			end = opts.End
		}
		d.Weeks = append(d.Weeks, DeliveryWeek{Start: start, DeliveryCounts: count(all, start, end, opts.Tolerance)})
	}
	return d
}

// group measures changes over the whole period.
func group(changes []change, opts DeliveryOptions) DeliveryGroup {
	g := DeliveryGroup{DeliveryCounts: count(changes, opts.Start, opts.End, opts.Tolerance)}
	g.ReleaseFrequency = float64(g.Completed) / (float64(opts.End.Sub(opts.Start)) / float64(week))
	return g
}

// count measures the changes that ended in [start, end), and the timed
// steps taken in it.
func count(changes []change, start, end time.Time, tolerance time.Duration) DeliveryCounts {
	var (
		dc             DeliveryCounts
		leads, restore []time.Duration
	)
	inPeriod := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
	for _, c := range changes {
		for _, ev := range c.r.Timeline {
			if ev.PlannedTime != nil && timedStep(ev) && inPeriod(ev.Time) {
				dc.TimedSteps++
				if ev.Action != "pause" && ev.Time.Sub(*ev.PlannedTime) <= tolerance {
					dc.OnTimeSteps++
				}
			}
		}
		if c.ended.IsZero() || !inPeriod(c.ended) {
			continue
		}
		dc.Changes++
		if c.state == model.StateCompleted {
			dc.Completed++
		} else {
			dc.RolledBack++
		}
		if c.failed {
			dc.FailedChanges++
		}
		if c.hasLead {
			leads = append(leads, c.lead)
		}
		if c.hasRestore {
			restore = append(restore, c.restore)
		}
	}
	if dc.Changes > 0 {
		dc.ChangeFailureRate = ratio(dc.FailedChanges, dc.Changes)
	}
	if dc.TimedSteps > 0 {
		dc.ScheduleAdherence = ratio(dc.OnTimeSteps, dc.TimedSteps)
	}
	dc.LeadTime, dc.TimeToRestore = median(leads), median(restore)
	return dc
}

// median summarizes ds; nil when it is empty.
func median(ds []time.Duration) *Durations {
	if len(ds) == 0 {
		return nil
	}
	slices.Sort(ds)
	n := len(ds)
	m := ds[n/2].Seconds()
	if n%2 == 0 {
		m = (ds[n/2-1].Seconds() + ds[n/2].Seconds()) / 2
	}
	return &Durations{Count: n, MedianSeconds: m}
}
