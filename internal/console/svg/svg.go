// Package svg draws the console's charts as inline SVG markup: a release's
// stage timeline, step and line charts over time, bar charts and a forest
// plot of lifts with their confidence intervals.
//
// Every function is pure and deterministic: the same input gives the same
// bytes, with no I/O, no clock and no randomness. Every chart is an
// <svg role="img"> labelled by its <title> and described by its <desc>
// (the text alternative a screen reader reads), and every text the caller
// passes is escaped. Colour is never the only signal: series carry distinct
// marker shapes and dash patterns, and the direct labels name them. Colours
// are mid-tones that keep a 3:1 contrast on light and dark backgrounds;
// text and axes use currentColor, so the page's colour scheme applies, and
// every element has a class (sy-…) a stylesheet may override.
package svg

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Meta names a chart: ID must be unique in the page (it prefixes the ids
// the title and description are referred to by), Title is its accessible
// name and Desc its text alternative.
type Meta struct {
	ID    string
	Title string
	Desc  string
}

// Palette is the series colours, in order; series past its end reuse it.
var palette = [...]string{"#3b7dd8", "#d9730d", "#2e9d5b", "#a855f7", "#d03f5f", "#6b7280"}

// dashes distinguish series without colour.
var dashes = [...]string{"", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"}

// Geometry of every chart, in user units (the SVG scales to its container).
const (
	width     = 960.0
	padLeft   = 56.0
	padRight  = 16.0
	padTop    = 16.0
	padBottom = 36.0
	fontSize  = 12
)

// doc is an SVG document being written.
type doc struct {
	b strings.Builder
}

func (d *doc) open(m Meta, w, h float64) {
	id := esc(m.ID)
	fmt.Fprintf(&d.b, `<svg xmlns="http://www.w3.org/2000/svg" class="sy-chart" id="%s" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-labelledby="%s-title %s-desc" font-size="%d" font-family="system-ui, sans-serif" fill="currentColor">`,
		id, num(w), num(h), num(w), num(h), id, id, fontSize)
	fmt.Fprintf(&d.b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(m.Title), id, esc(m.Desc))
}

func (d *doc) close() template.HTML {
	d.b.WriteString(`</svg>`)
	return template.HTML(d.b.String()) //nolint:gosec // every caller text is escaped by esc
}

func (d *doc) printf(format string, args ...any) { fmt.Fprintf(&d.b, format, args...) }

// text writes a text element; anchor is start, middle or end.
func (d *doc) text(x, y float64, anchor, class, s string) {
	d.printf(`<text x="%s" y="%s" text-anchor="%s" class="%s">%s</text>`, num(x), num(y), anchor, class, esc(s))
}

func (d *doc) line(x1, y1, x2, y2 float64, class, extra string) {
	d.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" class="%s" stroke="currentColor"%s/>`, num(x1), num(y1), num(x2), num(y2), class, extra)
}

// marker draws series i's marker shape centred on (x, y), with a tooltip.
func (d *doc) marker(i int, x, y float64, tip string) {
	c := color(i)
	r := 3.5
	switch i % 4 {
	case 0:
		d.printf(`<circle cx="%s" cy="%s" r="%s" fill="%s" class="sy-marker">`, num(x), num(y), num(r), c)
		d.printf(`<title>%s</title></circle>`, esc(tip))
	case 1:
		d.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" class="sy-marker">`, num(x-r), num(y-r), num(2*r), num(2*r), c)
		d.printf(`<title>%s</title></rect>`, esc(tip))
	case 2:
		d.printf(`<path d="M%s %sL%s %sL%s %sZ" fill="%s" class="sy-marker">`, num(x), num(y-r-1), num(x+r+1), num(y+r), num(x-r-1), num(y+r), c)
		d.printf(`<title>%s</title></path>`, esc(tip))
	default:
		d.printf(`<path d="M%s %sL%s %sL%s %sL%s %sZ" fill="%s" class="sy-marker">`, num(x), num(y-r-1), num(x+r+1), num(y), num(x), num(y+r+1), num(x-r-1), num(y), c)
		d.printf(`<title>%s</title></path>`, esc(tip))
	}
}

func color(i int) string { return palette[i%len(palette)] }

func dash(i int) string {
	if s := dashes[i%len(dashes)]; s != "" {
		return ` stroke-dasharray="` + s + `"`
	}
	return ""
}

// esc escapes s for XML text and attribute values.
func esc(s string) string { return html.EscapeString(s) }

// num formats a coordinate with at most one decimal, without a trailing
// ".0" and never as "-0".
func num(x float64) string {
	x = math.Round(x*10) / 10
	if x == 0 {
		return "0"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// Percent formats a share (0.25) as a percentage ("25 %"), with one
// decimal below 10 % and none above.
func Percent(share float64) string {
	p := math.Round(share*1000) / 10
	if math.Abs(p) < 10 && p != math.Trunc(p) {
		return strconv.FormatFloat(p, 'f', 1, 64) + " %"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + " %"
}

// timeScale maps times of [from, to] to x in [x0, x1].
type timeScale struct {
	from, to time.Time
	x0, x1   float64
}

func (s timeScale) x(t time.Time) float64 {
	span := s.to.Sub(s.from)
	if span <= 0 {
		return s.x0
	}
	return s.x0 + (s.x1-s.x0)*float64(t.Sub(s.from))/float64(span)
}

// ticks returns up to about n round times in [from, to] with their labels.
func (s timeScale) ticks(n int) ([]time.Time, string) {
	span := s.to.Sub(s.from)
	steps := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
		3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 28 * 24 * time.Hour}
	step := steps[len(steps)-1]
	for _, st := range steps {
		if span/st <= time.Duration(n) {
			step = st
			break
		}
	}
	layout := "15:04"
	if step >= 24*time.Hour {
		layout = "Jan 2"
	} else if span > 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	var out []time.Time
	first := s.from.UTC().Truncate(step)
	if first.Before(s.from) {
		first = first.Add(step)
	}
	for t := first; !t.After(s.to) && len(out) <= n; t = t.Add(step) {
		out = append(out, t)
	}
	return out, layout
}

// linear maps values of [lo, hi] to y in [y0 (bottom), y1 (top)].
type linear struct {
	lo, hi float64
	y0, y1 float64
}

func (s linear) y(v float64) float64 {
	if s.hi == s.lo {
		return s.y0
	}
	return s.y0 + (s.y1-s.y0)*(v-s.lo)/(s.hi-s.lo)
}

// niceMax rounds v up to 1, 2, 4, 5 or 8 times a power of ten (1 for v ≤ 0),
// values whose quarters and halves read well on an axis.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 5, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// formatValue formats an axis value: an integer when it is one, else with
// up to two decimals.
func formatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// stamp formats a time for tooltips and descriptions.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
