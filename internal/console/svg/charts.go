package svg

import (
	"html/template"
	"math"
	"strings"
	"time"
)

// Point is one value at one time.
type Point struct {
	T time.Time
	V float64
}

// Series is a named sequence of points in time order.
type Series struct {
	Name   string
	Points []Point
	// Step draws the series as a step function: each value holds until
	// the next point (and the last until the chart's end).
	Step bool
}

// Axis describes a chart's value axis.
type Axis struct {
	// Max is the top of the axis; 0: the data's maximum, rounded up.
	Max float64
	// Format formats a value for ticks and tooltips; nil: plain numbers.
	Format func(float64) string
}

// Label formats v as the axis does.
func (a Axis) Label(v float64) string {
	if a.Format != nil {
		return a.Format(v)
	}
	return formatValue(v)
}

// TimeChart draws series over time as lines (or steps) with a marker on
// every point, a legend naming each series by shape and dash, and value
// gridlines. The time axis spans the points and end (when not zero);
// a chart without points says so.
func TimeChart(m Meta, series []Series, y Axis, end time.Time) template.HTML {
	const h = 240.0
	legendH := 18.0 * float64(len(series))
	if len(series) <= 1 {
		legendH = 0
	}
	total := h + legendH
	var d doc
	d.open(m, width, total)
	var from, to time.Time
	top := y.Max
	for _, s := range series {
		for _, p := range s.Points {
			if from.IsZero() || p.T.Before(from) {
				from = p.T
			}
			if p.T.After(to) {
				to = p.T
			}
			if y.Max == 0 && p.V > top {
				top = p.V
			}
		}
	}
	if !end.IsZero() && !from.IsZero() && end.After(to) {
		to = end
	}
	if y.Max == 0 {
		top = niceMax(top)
	}
	bottom := h - padBottom
	vs := linear{lo: 0, hi: top, y0: bottom, y1: padTop}
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		yy := vs.y(v)
		d.line(padLeft, yy, width-padRight, yy, "sy-grid", ` stroke-opacity="0.15"`)
		d.text(padLeft-6, yy+4, "end", "sy-tick", y.Label(v))
	}
	d.line(padLeft, bottom, width-padRight, bottom, "sy-axis", ` stroke-opacity="0.5"`)
	if from.IsZero() {
		d.text((padLeft+width)/2, (padTop+bottom)/2, "middle", "sy-empty", "No data yet.")
		return d.close()
	}
	if to.Sub(from) < time.Minute {
		from = to.Add(-time.Minute)
	}
	ts := timeScale{from: from, to: to, x0: padLeft + 8, x1: width - padRight - 8}
	ticks, layout := ts.ticks(6)
	for _, t := range ticks {
		d.text(ts.x(t), bottom+16, "middle", "sy-tick", t.UTC().Format(layout))
	}
	for i, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		var path strings.Builder
		for j, p := range s.Points {
			x, yy := ts.x(p.T), vs.y(p.V)
			switch {
			case j == 0:
				path.WriteString("M" + num(x) + " " + num(yy))
			case s.Step:
				path.WriteString("H" + num(x) + "V" + num(yy))
			default:
				path.WriteString("L" + num(x) + " " + num(yy))
			}
		}
		if s.Step {
			path.WriteString("H" + num(ts.x(to)))
		}
		d.printf(`<path d="%s" fill="none" stroke="%s" stroke-width="2"%s class="sy-series sy-series-%d"/>`, path.String(), color(i), dash(i), i)
		for _, p := range s.Points {
			d.marker(i, ts.x(p.T), vs.y(p.V), s.Name+": "+y.Label(p.V)+" at "+stamp(p.T))
		}
	}
	legend(&d, series, h)
	return d.close()
}

// legend lists the series below the plot, each with its line and marker.
func legend(d *doc, series []Series, y0 float64) {
	if len(series) <= 1 {
		return
	}
	for i, s := range series {
		y := y0 + 18*float64(i) + 4
		d.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`, num(padLeft), num(y), num(padLeft+28), num(y), color(i), dash(i))
		d.marker(i, padLeft+14, y, s.Name)
		d.text(padLeft+36, y+4, "start", "sy-legend", s.Name)
	}
}

// Bar is one bar of a bar chart.
type Bar struct {
	Label string
	// Value is the bar's height; Missing draws no bar and says "n/a"
	// (e.g. a rate with no releases in the period).
	Value   float64
	Missing bool
}

// BarChart draws one bar per label with its value written above it. Bars
// are drawn in the first series colour with a visible outline; the value
// text is the signal, not the colour.
func BarChart(m Meta, bars []Bar, y Axis) template.HTML {
	const h, width = 220.0, 560.0 // half a page: report pages set them two abreast
	var d doc
	d.open(m, width, h)
	top := y.Max
	if top == 0 {
		for _, b := range bars {
			if !b.Missing && b.Value > top {
				top = b.Value
			}
		}
		top = niceMax(top)
	}
	bottom := h - padBottom
	vs := linear{lo: 0, hi: top, y0: bottom, y1: padTop + 10}
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		yy := vs.y(v)
		d.line(padLeft, yy, width-padRight, yy, "sy-grid", ` stroke-opacity="0.15"`)
		d.text(padLeft-6, yy+4, "end", "sy-tick", y.Label(v))
	}
	d.line(padLeft, bottom, width-padRight, bottom, "sy-axis", ` stroke-opacity="0.5"`)
	if len(bars) == 0 {
		d.text((padLeft+width)/2, (padTop+bottom)/2, "middle", "sy-empty", "No data yet.")
		return d.close()
	}
	slot := (width - padRight - padLeft) / float64(len(bars))
	bw := math.Min(slot*0.6, 48)
	for i, b := range bars {
		cx := padLeft + slot*(float64(i)+0.5)
		d.text(cx, bottom+16, "middle", "sy-tick", b.Label)
		if b.Missing {
			d.text(cx, bottom-4, "middle", "sy-bar-value", "n/a")
			continue
		}
		v := math.Max(0, math.Min(b.Value, top))
		yy := vs.y(v)
		d.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="currentColor" stroke-opacity="0.6" class="sy-bar">`,
			num(cx-bw/2), num(yy), num(bw), num(bottom-yy), color(0))
		d.printf(`<title>%s: %s</title></rect>`, esc(b.Label), esc(y.Label(b.Value)))
		d.text(cx, yy-4, "middle", "sy-bar-value", y.Label(b.Value))
	}
	return d.close()
}

// Estimate is one row of a forest plot: a point estimate with its
// confidence interval. Valid is false when the estimate is undefined (a
// zero denominator or standard error); the row then says so.
type Estimate struct {
	Label            string
	Value, Low, High float64
	Valid            bool
	// Note is written at the row's end, e.g. "better, p = 0.003".
	Note string
}

// ForestPlot draws each estimate as a square at its value with a line
// across its confidence interval, on one axis with a solid line at zero
// (no effect). Values are shares (0.05 is +5 %) and labelled as
// percentages. The axis is symmetric around zero and covers every
// interval.
func ForestPlot(m Meta, rows []Estimate) template.HTML {
	const rowH, labelW, noteW = 30.0, 150.0, 170.0
	h := padTop + rowH*float64(max(len(rows), 1)) + padBottom
	var d doc
	d.open(m, width, h)
	span := 0.0
	for _, r := range rows {
		if r.Valid {
			span = math.Max(span, math.Max(math.Abs(r.Low), math.Abs(r.High)))
			span = math.Max(span, math.Abs(r.Value))
		}
	}
	span = niceMax(span * 1.1)
	x0, x1 := labelW, width-padRight-noteW
	xs := func(v float64) float64 { return x0 + (x1-x0)*(v+span)/(2*span) }
	bottom := padTop + rowH*float64(max(len(rows), 1))
	for i := -2; i <= 2; i++ {
		v := span * float64(i) / 2
		x := xs(v)
		if i != 0 {
			d.line(x, padTop, x, bottom, "sy-grid", ` stroke-opacity="0.15"`)
		}
		d.text(x, bottom+16, "middle", "sy-tick", SignedPercent(v))
	}
	d.line(x0, bottom, x1, bottom, "sy-axis", ` stroke-opacity="0.5"`)
	d.line(xs(0), padTop-4, xs(0), bottom, "sy-zero", ` stroke-width="1.5"`)
	d.text(xs(0), bottom+30, "middle", "sy-legend", "no effect")
	if len(rows) == 0 {
		d.text(x0, padTop+rowH/2, "start", "sy-empty", "No comparisons.")
	}
	for i, r := range rows {
		mid := padTop + rowH*float64(i) + rowH/2
		d.text(4, mid+4, "start", "sy-forest-label", r.Label)
		if r.Note != "" {
			d.text(width-padRight-noteW+8, mid+4, "start", "sy-forest-note", r.Note)
		}
		if !r.Valid {
			d.text(xs(0)+8, mid+4, "start", "sy-empty", "not enough data")
			continue
		}
		lo, hi := clamp(r.Low, span), clamp(r.High, span)
		tip := r.Label + ": " + SignedPercent(r.Value) + " (95 % CI " + SignedPercent(r.Low) + " to " + SignedPercent(r.High) + ")"
		d.printf(`<g class="sy-estimate"><title>%s</title>`, esc(tip))
		d.line(xs(lo), mid, xs(hi), mid, "sy-ci", ` stroke-width="2"`)
		d.line(xs(lo), mid-5, xs(lo), mid+5, "sy-ci", ` stroke-width="2"`)
		d.line(xs(hi), mid-5, xs(hi), mid+5, "sy-ci", ` stroke-width="2"`)
		x := xs(clamp(r.Value, span))
		d.printf(`<rect x="%s" y="%s" width="10" height="10" fill="%s" stroke="currentColor" class="sy-point"/></g>`, num(x-5), num(mid-5), color(0))
	}
	return d.close()
}

func clamp(v, span float64) float64 { return math.Max(-span, math.Min(span, v)) }

// SignedPercent formats a share with its sign: "+5 %", "−2.5 %", "0 %".
func SignedPercent(v float64) string {
	s := Percent(math.Abs(v))
	switch {
	case s == "0 %":
		return s
	case v > 0:
		return "+" + s
	case v < 0:
		return "−" + s
	}
	return s
}
