package model

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Freeze is a change freeze on a project (a year-end, a sales event, an
// audit): a window in which releases do not move. While one of its
// occurrences is in effect, starting a release, advancing a stage and the
// scheduler's timed steps of the releases it covers are held; pausing and
// rolling back never are. Freezes are not part of the declarative
// document.
//
// Start and End bound the first occurrence. With RRule (RFC 5545, e.g.
// "FREQ=WEEKLY;BYDAY=FR") the freeze recurs: each further occurrence
// starts at a time the rule yields from Start, reckoned in TimeZone (so a
// 17:00 start stays at 17:00 local across daylight-saving changes), and
// lasts End − Start.
type Freeze struct {
	Key       string    `json:"key"`
	StartTime time.Time `json:"start_time"`
	EndTime   time.Time `json:"end_time"`
	// RRule is an RFC 5545 recurrence rule without DTSTART; "" for a
	// one-off freeze.
	RRule string `json:"rrule,omitempty"`
	// TimeZone is the IANA zone the rule is reckoned in; default UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Environments narrows the freeze to these environments; none means
	// every environment of the project.
	Environments []string `json:"environments,omitempty"`
	// Components narrows the freeze to releases of these components; none
	// means every release.
	Components []string `json:"components,omitempty"`
	Reason     string   `json:"reason"`
}

// Window is one occurrence of a freeze: from Start (included) to End
// (excluded).
type Window struct {
	Start time.Time `json:"start_time"`
	End   time.Time `json:"end_time"`
}

// Contains reports whether t is in the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// maxWindows bounds how many occurrences one Windows call returns.
const maxWindows = 1000

// ValidateFreeze checks a freeze on its own. It reports every problem with
// its path relative to the freeze ("end_time") as an Errors value, and nil
// for a valid freeze. Environments and components are not looked up.
func ValidateFreeze(f *Freeze) error {
	var errs Errors
	if f == nil {
		errs.add("", "a freeze is required")
		return errs
	}
	if !ValidKey(f.Key) {
		errs.add("key", "%q is not a valid key (pattern %s)", f.Key, KeyPattern)
	}
	switch {
	case f.StartTime.IsZero():
		errs.add("start_time", "is required")
	case f.EndTime.IsZero():
		errs.add("end_time", "is required")
	case !f.EndTime.After(f.StartTime):
		errs.add("end_time", "%s is not after start_time %s", f.EndTime.Format(time.RFC3339), f.StartTime.Format(time.RFC3339))
	}
	if _, err := time.LoadLocation(f.TimeZone); err != nil || strings.EqualFold(f.TimeZone, "local") {
		errs.add("time_zone", "%q is not an IANA time zone (e.g. Europe/Berlin)", f.TimeZone)
	} else if f.RRule != "" {
		// A rule that yields nothing (February 30th) is refused here, once:
		// looking for its next occurrence would search until the year 9999
		// every time.
		if r, err := f.rule(); err != nil {
			errs.add("rrule", "%v", err)
		} else if _, ok := r.Iterator()(); !ok {
			errs.add("rrule", "%q yields no occurrence", f.RRule)
		}
	}
	if strings.TrimSpace(f.Reason) == "" {
		errs.add("reason", "is required: say why releases are frozen")
	}
	uniqueKeys(&errs, "environments", f.Environments)
	uniqueKeys(&errs, "components", f.Components)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func uniqueKeys(errs *Errors, path string, keys []string) {
	for i, k := range keys {
		switch {
		case !ValidKey(k):
			errs.add(fmt.Sprintf("%s[%d]", path, i), "%q is not a valid key", k)
		case slices.Index(keys, k) < i:
			errs.add(fmt.Sprintf("%s[%d]", path, i), "%q is listed twice", k)
		}
	}
}

// rule parses the freeze's recurrence rule, anchored at StartTime in its
// time zone.
func (f *Freeze) rule() (*rrule.RRule, error) {
	loc, err := time.LoadLocation(f.TimeZone)
	if err != nil {
		return nil, err
	}
	s := strings.TrimPrefix(strings.TrimSpace(f.RRule), "RRULE:")
	if strings.Contains(strings.ToUpper(s), "DTSTART") {
		return nil, fmt.Errorf("give the start as start_time, not as DTSTART in the rule")
	}
	opt, err := rrule.StrToROptionInLocation(s, loc)
	if err != nil {
		return nil, fmt.Errorf("not an RFC 5545 recurrence rule: %w", err)
	}
	if opt.Freq == rrule.SECONDLY || opt.Freq == rrule.MINUTELY {
		return nil, fmt.Errorf("a freeze recurs at most hourly")
	}
	opt.Dtstart = f.StartTime.In(loc)
	return rrule.NewRRule(*opt)
}

// Duration is how long each occurrence lasts.
func (f *Freeze) Duration() time.Duration { return f.EndTime.Sub(f.StartTime) }

// Windows returns the occurrences of a valid freeze that overlap [from,
// to), in order, at most 1000 of them.
func (f *Freeze) Windows(from, to time.Time) []Window {
	d := f.Duration()
	if f.RRule == "" {
		w := Window{Start: f.StartTime.UTC(), End: f.EndTime.UTC()}
		if w.End.After(from) && w.Start.Before(to) {
			return []Window{w}
		}
		return nil
	}
	r, err := f.rule()
	if err != nil {
		return nil
	}
	// The first occurrence is StartTime, as RFC 5545 counts DTSTART, even
	// where the rule would not yield it.
	var out []Window
	if first := (Window{Start: f.StartTime.UTC(), End: f.EndTime.UTC()}); first.End.After(from) && first.Start.Before(to) {
		out = append(out, first)
	}
	next := r.Iterator()
	for len(out) < maxWindows {
		s, ok := next()
		if !ok || !s.Before(to) {
			break
		}
		if w := (Window{Start: s.UTC(), End: s.Add(d).UTC()}); w.End.After(from) && !s.Equal(f.StartTime) {
			out = append(out, w)
		}
	}
	return out
}

// At returns the occurrence in effect at t, if any; of overlapping ones,
// the one that ends last.
func (f *Freeze) At(t time.Time) (Window, bool) {
	ws := f.Windows(t, t.Add(time.Nanosecond))
	if len(ws) == 0 {
		return Window{}, false
	}
	w := ws[0]
	for _, o := range ws[1:] {
		if o.End.After(w.End) {
			w = o
		}
	}
	return w, true
}

// Covers reports whether the freeze applies to a release in environment
// env whose items are items.
func (f *Freeze) Covers(env string, items []ReleaseItem) bool {
	if len(f.Environments) > 0 && !slices.Contains(f.Environments, env) {
		return false
	}
	if len(f.Components) == 0 {
		return true
	}
	for _, it := range items {
		if it.Component != "" && slices.Contains(f.Components, it.Component) {
			return true
		}
	}
	return false
}
