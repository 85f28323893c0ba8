package calendar

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

// ContentType is the media type of Encode's output.
const ContentType = "text/calendar; charset=utf-8"

// stepDuration is how long a step's event lasts in a calendar
// application: steps are instants.
const stepDuration = 15 * time.Minute

// Encode writes c as an RFC 5545 iCalendar object: one VEVENT per step
// (its conflicts in the description) and one per freeze with an
// occurrence in the range — a recurring freeze as its first occurrence
// with its RRULE, in its time zone, described by a VTIMEZONE. now is the
// DTSTAMP.
func Encode(w io.Writer, c *Calendar, now time.Time) error {
	e := &encoder{}
	e.line("BEGIN:VCALENDAR")
	e.line("VERSION:2.0")
	e.line("PRODID:-//Switchyard//Release calendar//EN")
	e.line("CALSCALE:GREGORIAN")
	e.line("METHOD:PUBLISH")
	e.prop("X-WR-CALNAME", "Switchyard releases: "+c.Project)
	freezes := c.freezes()
	var zones []string
	for _, f := range freezes {
		if f.RRule != "" && f.TimeZone != "" && f.TimeZone != "UTC" && !slices.Contains(zones, f.TimeZone) {
			zones = append(zones, f.TimeZone)
			e.vtimezone(f.TimeZone, f.StartTime.Year())
		}
	}
	stamp := now.UTC().Format(utcFormat)
	for _, f := range freezes {
		e.line("BEGIN:VEVENT")
		e.line("UID:freeze-" + f.Key + "@" + c.Project + ".switchyard")
		e.line("DTSTAMP:" + stamp)
		if f.RRule != "" && f.TimeZone != "" && f.TimeZone != "UTC" {
			loc, _ := time.LoadLocation(f.TimeZone)
			e.line("DTSTART;TZID=" + f.TimeZone + ":" + f.StartTime.In(loc).Format(localFormat))
			e.line("DTEND;TZID=" + f.TimeZone + ":" + f.EndTime.In(loc).Format(localFormat))
		} else {
			e.line("DTSTART:" + f.StartTime.UTC().Format(utcFormat))
			e.line("DTEND:" + f.EndTime.UTC().Format(utcFormat))
		}
		if f.RRule != "" {
			e.line("RRULE:" + strings.TrimPrefix(strings.TrimSpace(f.RRule), "RRULE:"))
		}
		e.prop("SUMMARY", "Freeze: "+f.Key)
		desc := f.Reason
		if len(f.Environments) > 0 {
			desc += "\nEnvironments: " + strings.Join(f.Environments, ", ")
		}
		if len(f.Components) > 0 {
			desc += "\nComponents: " + strings.Join(f.Components, ", ")
		}
		e.prop("DESCRIPTION", desc)
		e.line("CATEGORIES:FREEZE")
		e.line("TRANSP:OPAQUE")
		e.line("END:VEVENT")
	}
	for _, s := range c.Steps {
		e.line("BEGIN:VEVENT")
		e.line(fmt.Sprintf("UID:release-%s-stage-%d@%s.switchyard", s.Release, s.Stage, c.Project))
		e.line("DTSTAMP:" + stamp)
		e.line("DTSTART:" + s.Time.UTC().Format(utcFormat))
		e.line("DTEND:" + s.Time.Add(stepDuration).UTC().Format(utcFormat))
		e.prop("SUMMARY", fmt.Sprintf("%s: %s (%s)", s.Release, stageLabel(s), s.State))
		desc := fmt.Sprintf("Release %s in %s (%s)\nGate: %s\nItems: %s", s.Release, s.Environment, s.ReleaseState, s.Gate, strings.Join(s.Items, ", "))
		if s.Title != "" {
			desc = s.Title + "\n" + desc
		}
		if s.Freeze != "" {
			desc += "\nHeld by freeze " + s.Freeze
		}
		conflicted := false
		for _, cf := range c.Conflicts {
			if slices.Contains(cf.Releases, s.Release) && (cf.Kind == ConflictOverlap || cf.Stage == s.Stage) {
				desc += "\nConflict: " + cf.Message
				conflicted = true
			}
		}
		e.prop("DESCRIPTION", desc)
		if conflicted {
			e.line("CATEGORIES:RELEASE,CONFLICT")
		} else {
			e.line("CATEGORIES:RELEASE")
		}
		e.line("TRANSP:TRANSPARENT")
		e.line("END:VEVENT")
	}
	e.line("END:VCALENDAR")
	_, err := io.WriteString(w, e.b.String())
	return err
}

// freezes returns each freeze with an occurrence in c, once, in the order
// of its first occurrence.
func (c *Calendar) freezes() []*model.Freeze {
	var out []*model.Freeze
	for _, o := range c.Freezes {
		if !slices.Contains(out, o.Freeze) {
			out = append(out, o.Freeze)
		}
	}
	return out
}

const (
	utcFormat   = "20060102T150405Z"
	localFormat = "20060102T150405"
)

// encoder writes content lines: CRLF-terminated, folded at 75 octets.
type encoder struct{ b strings.Builder }

func (e *encoder) line(s string) {
	for len(s) > 75 {
		cut := 75
		for cut > 1 && !utf8Start(s[cut]) {
			cut--
		}
		e.b.WriteString(s[:cut])
		e.b.WriteString("\r\n ")
		s = s[cut:]
	}
	e.b.WriteString(s)
	e.b.WriteString("\r\n")
}

// utf8Start reports whether b begins a UTF-8 character.
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// prop writes a property whose value is TEXT, escaped.
func (e *encoder) prop(name, text string) {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`)
	e.line(name + ":" + r.Replace(text))
}

// vtimezone describes zone by its offset changes in year: a STANDARD or
// DAYLIGHT component per change, recurring yearly on the same weekday of
// the month, or one STANDARD component for a zone without changes.
func (e *encoder) vtimezone(zone string, year int) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return
	}
	e.line("BEGIN:VTIMEZONE")
	e.line("TZID:" + zone)
	t := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	end := t.AddDate(1, 0, 0)
	name, off := t.Zone()
	changed := false
	for ; t.Before(end); t = t.Add(time.Hour) {
		n, o := t.Zone()
		if o == off {
			continue
		}
		at := t.Add(-time.Hour)
		for at.Add(time.Minute).Before(t) {
			if _, o2 := at.Add(time.Minute).Zone(); o2 != off {
				break
			}
			at = at.Add(time.Minute)
		}
		at = at.Add(time.Minute) // the first minute in the new offset
		kind := "STANDARD"
		if o > off {
			kind = "DAYLIGHT"
		}
		onset := at.UTC().Add(time.Duration(off) * time.Second) // wall time in the old offset
		e.line("BEGIN:" + kind)
		e.line("DTSTART:" + onset.Format(localFormat))
		e.line("TZOFFSETFROM:" + offset(off))
		e.line("TZOFFSETTO:" + offset(o))
		e.line("TZNAME:" + n)
		e.line(fmt.Sprintf("RRULE:FREQ=YEARLY;BYMONTH=%d;BYDAY=%s", onset.Month(), weekdayOfMonth(onset)))
		e.line("END:" + kind)
		off, changed = o, true
	}
	if !changed {
		e.line("BEGIN:STANDARD")
		e.line(fmt.Sprintf("DTSTART:%04d0101T000000", year))
		e.line("TZOFFSETFROM:" + offset(off))
		e.line("TZOFFSETTO:" + offset(off))
		e.line("TZNAME:" + name)
		e.line("END:STANDARD")
	}
	e.line("END:VTIMEZONE")
}

// weekdayOfMonth is t's weekday as an RRULE BYDAY: "2SU" for the second
// Sunday, "-1SU" for the last.
func weekdayOfMonth(t time.Time) string {
	wd := strings.ToUpper(t.Weekday().String()[:2])
	if t.AddDate(0, 0, 7).Month() != t.Month() {
		return "-1" + wd
	}
	return fmt.Sprintf("%d%s", (t.Day()-1)/7+1, wd)
}

// offset formats a UTC offset in seconds as ±HHMM.
func offset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec%3600/60)
}
