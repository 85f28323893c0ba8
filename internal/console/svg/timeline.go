package svg

import (
	"html/template"
	"strings"
	"time"
)

// Stage is one row of a stage timeline.
type Stage struct {
	// Label names the stage, e.g. "2 · EU 10 %".
	Label string
	// Gate says what opens the stage, e.g. "approval (1 of 1)".
	Gate string
	// State is pending, current, done or skipped.
	State string
	// Planned is when the stage was due (zero: no planned time); Entered
	// and Exited when the release entered and left it (zero: not yet).
	Planned, Entered, Exited time.Time
	// Late marks a stage entered later than the scheduler's tolerance.
	Late bool
	// Note is shown after the gate, e.g. who approved.
	Note string
}

// Timeline draws a release's stages as rows on one time axis: a hollow
// diamond at each planned time, a bar from entering to leaving each stage
// (to now for the current one), the state and gate in words, and a
// vertical line at now. Stages without times are listed without a bar.
// The axis spans every time given and now.
func Timeline(m Meta, stages []Stage, now time.Time) template.HTML {
	const rowH, labelW = 34.0, 200.0
	h := padTop + rowH*float64(max(len(stages), 1)) + padBottom
	var d doc
	d.open(m, width, h)
	from, to := now, now
	for _, s := range stages {
		for _, t := range []time.Time{s.Planned, s.Entered, s.Exited} {
			if t.IsZero() {
				continue
			}
			if t.Before(from) {
				from = t
			}
			if t.After(to) {
				to = t
			}
		}
	}
	if to.Sub(from) < time.Minute {
		from = to.Add(-time.Minute)
	}
	pad := to.Sub(from) / 20
	sc := timeScale{from: from.Add(-pad), to: to.Add(pad), x0: labelW, x1: width - padRight}
	bottom := padTop + rowH*float64(max(len(stages), 1))
	ticks, layout := sc.ticks(5)
	for _, t := range ticks {
		x := sc.x(t)
		d.line(x, padTop, x, bottom, "sy-grid", ` stroke-opacity="0.15"`)
		d.text(x, bottom+16, "middle", "sy-tick", t.UTC().Format(layout))
	}
	d.line(labelW, bottom, width-padRight, bottom, "sy-axis", ` stroke-opacity="0.5"`)
	if len(stages) == 0 {
		d.text(labelW, padTop+rowH/2, "start", "sy-empty", "No stages.")
	}
	for i, s := range stages {
		y := padTop + rowH*float64(i)
		mid := y + rowH/2
		d.printf(`<g class="sy-stage sy-stage-%s">`, esc(cssWord(s.State)))
		d.text(4, mid-3, "start", "sy-stage-label", s.Label)
		sub := stateWord(s.State, s.Late)
		if s.Gate != "" {
			sub += " · " + s.Gate
		}
		if s.Note != "" {
			sub += " · " + s.Note
		}
		d.printf(`<text x="4" y="%s" class="sy-stage-sub" font-size="10" fill-opacity="0.8">%s</text>`, num(mid+11), esc(sub))
		if !s.Entered.IsZero() {
			end := s.Exited
			if end.IsZero() {
				end = now
			}
			x0, x1 := sc.x(s.Entered), sc.x(end)
			if x1-x0 < 3 {
				x1 = x0 + 3
			}
			tip := s.Label + ": entered " + stamp(s.Entered)
			if !s.Exited.IsZero() {
				tip += ", left " + stamp(s.Exited)
			}
			fill := color(0)
			if s.State == "skipped" {
				fill = color(5)
			}
			d.printf(`<rect x="%s" y="%s" width="%s" height="12" rx="2" fill="%s" class="sy-stage-bar">`, num(x0), num(mid-6), num(x1-x0), fill)
			d.printf(`<title>%s</title></rect>`, esc(tip))
			if s.Exited.IsZero() && s.State == "current" {
				// An open end: the stage is still running.
				d.printf(`<path d="M%s %sl6 6l-6 6Z" fill="%s" class="sy-stage-open"/>`, num(x1), num(mid-6), fill)
			}
		}
		if !s.Planned.IsZero() {
			x := sc.x(s.Planned)
			tip := s.Label + ": planned " + stamp(s.Planned)
			if s.Late {
				tip += " (late)"
			}
			d.printf(`<path d="M%s %sl6 6l-6 6l-6 -6Z" fill="none" stroke="%s" stroke-width="2" class="sy-stage-planned">`, num(x), num(mid-6), color(1))
			d.printf(`<title>%s</title></path>`, esc(tip))
		}
		d.b.WriteString(`</g>`)
	}
	x := sc.x(now)
	d.line(x, padTop-4, x, bottom, "sy-now", ` stroke-width="1.5" stroke-dasharray="3 2"`)
	d.text(x, padTop-6, "middle", "sy-now-label", "now")
	// Legend: shapes and words, not colour alone.
	ly := h - 6
	d.printf(`<rect x="%s" y="%s" width="14" height="8" fill="%s"/>`, num(labelW), num(ly-8), color(0))
	d.text(labelW+18, ly, "start", "sy-legend", "actual")
	d.printf(`<path d="M%s %sl5 5l-5 5l-5 -5Z" fill="none" stroke="%s" stroke-width="2"/>`, num(labelW+80), num(ly-10), color(1))
	d.text(labelW+90, ly, "start", "sy-legend", "planned")
	return d.close()
}

// stateWord is a stage state in words.
func stateWord(state string, late bool) string {
	w := state
	switch state {
	case "done":
		w = "✓ done"
	case "current":
		w = "▶ current"
	case "pending":
		w = "○ pending"
	case "skipped":
		w = "– skipped"
	}
	if late {
		w += " (late)"
	}
	return w
}

// cssWord keeps the letters, digits and dashes of s for a class name.
func cssWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, s)
}
