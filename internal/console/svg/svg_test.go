package svg

import (
	"encoding/xml"
	"html/template"
	"io"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// wellFormed parses markup as XML and returns its elements' names in
// document order.
func wellFormed(t *testing.T, markup template.HTML) []string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(markup)))
	var names []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("markup is not well-formed XML: %v\n%s", err, markup)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names = append(names, se.Name.Local)
		}
	}
}

func count(names []string, name string) int {
	n := 0
	for _, s := range names {
		if s == name {
			n++
		}
	}
	return n
}

func sampleStages() []Stage {
	return []Stage{
		{Label: "1 · staff", Gate: "manual", State: "done", Entered: t0, Exited: t0.Add(2 * time.Hour)},
		{Label: "2 · EU 10 %", Gate: "approval 1 of 1", State: "current", Planned: t0.Add(time.Hour), Entered: t0.Add(2 * time.Hour), Late: true, Note: "approved by ops"},
		{Label: "3 · everyone", Gate: "wait 24h", State: "pending", Planned: t0.Add(26 * time.Hour)},
	}
}

// charts renders one of each chart for the tests that apply to all.
func charts() map[string]template.HTML {
	now := t0.Add(3 * time.Hour)
	return map[string]template.HTML{
		"timeline": Timeline(Meta{ID: "tl", Title: "Stages", Desc: "3 stages"}, sampleStages(), now),
		"time": TimeChart(Meta{ID: "tc", Title: "Audience", Desc: "share"}, []Series{
			{Name: "audience", Step: true, Points: []Point{{t0, 0.01}, {t0.Add(2 * time.Hour), 0.1}}},
		}, Axis{Max: 1, Format: Percent}, now),
		"bars": BarChart(Meta{ID: "bc", Title: "Success", Desc: "weekly"}, []Bar{
			{Label: "W1", Value: 0.5}, {Label: "W2", Missing: true}, {Label: "W3", Value: 1},
		}, Axis{Max: 1, Format: Percent}),
		"forest": ForestPlot(Meta{ID: "fp", Title: "Lift", Desc: "per variant"}, []Estimate{
			{Label: "blue", Value: 0.05, Low: -0.01, High: 0.11, Valid: true, Note: "inconclusive"},
			{Label: "green", Valid: false},
		}),
	}
}

func TestChartsAreAccessibleWellFormedAndDeterministic(t *testing.T) {
	first, second := charts(), charts()
	for name, markup := range first {
		t.Run(name, func(t *testing.T) {
			if markup != second[name] {
				t.Errorf("two renderings differ")
			}
			names := wellFormed(t, markup)
			if len(names) < 3 || names[0] != "svg" || names[1] != "title" || names[2] != "desc" {
				t.Errorf("elements start %v, want svg, title, desc", names[:min(3, len(names))])
			}
			s := string(markup)
			if !strings.Contains(s, `role="img"`) || !strings.Contains(s, `aria-labelledby=`) {
				t.Errorf("svg has no role=img / aria-labelledby: %.200s", s)
			}
			if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
				t.Errorf("markup contains NaN or Inf: %s", s)
			}
		})
	}
}

func TestChartsEscapeText(t *testing.T) {
	evil := `<script>alert("x")</script>&`
	m := Meta{ID: `a"b`, Title: evil, Desc: evil}
	for name, markup := range map[string]template.HTML{
		"timeline": Timeline(m, []Stage{{Label: evil, Gate: evil, Note: evil, State: evil, Entered: t0}}, t0.Add(time.Hour)),
		"time":     TimeChart(m, []Series{{Name: evil, Points: []Point{{t0, 1}}}, {Name: "b"}}, Axis{}, time.Time{}),
		"bars":     BarChart(m, []Bar{{Label: evil, Value: 1}}, Axis{}),
		"forest":   ForestPlot(m, []Estimate{{Label: evil, Note: evil, Valid: true, Value: 0.1, Low: 0, High: 0.2}}),
	} {
		t.Run(name, func(t *testing.T) {
			wellFormed(t, markup)
			if strings.Contains(string(markup), "<script") {
				t.Errorf("caller text is not escaped: %s", markup)
			}
		})
	}
}

func TestChartsWithoutDataSaySo(t *testing.T) {
	cases := []struct {
		name   string
		markup template.HTML
		want   string
	}{
		{"timeline", Timeline(Meta{ID: "x"}, nil, t0), "No stages."},
		{"time", TimeChart(Meta{ID: "x"}, []Series{{Name: "a"}}, Axis{}, t0), "No data yet."},
		{"bars", BarChart(Meta{ID: "x"}, nil, Axis{}), "No data yet."},
		{"forest", ForestPlot(Meta{ID: "x"}, nil), "No comparisons."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wellFormed(t, tc.markup)
			if !strings.Contains(string(tc.markup), tc.want) {
				t.Errorf("markup = %s, want it to contain %q", tc.markup, tc.want)
			}
		})
	}
}

func TestTimelineDrawsPlannedActualAndState(t *testing.T) {
	markup := string(Timeline(Meta{ID: "tl", Title: "t"}, sampleStages(), t0.Add(3*time.Hour)))
	names := wellFormed(t, template.HTML(markup))
	if got := count(names, "rect"); got < 2+1 { // two entered stages and the legend
		t.Errorf("rects = %d, want a bar per entered stage plus the legend's", got)
	}
	for _, want := range []string{
		"✓ done · manual",
		"▶ current (late) · approval 1 of 1 · approved by ops",
		"○ pending · wait 24h",
		"2 · EU 10 %: planned 2026-03-01 10:00 UTC (late)",
		"1 · staff: entered 2026-03-01 09:00 UTC, left 2026-03-01 11:00 UTC",
		`class="sy-stage-open"`, // the current stage is still open
		">now<",
	} {
		if !strings.Contains(markup, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
}

func TestTimeChartStepsHoldUntilTheEnd(t *testing.T) {
	end := t0.Add(4 * time.Hour)
	markup := string(TimeChart(Meta{ID: "a"}, []Series{{Name: "share", Step: true, Points: []Point{{t0, 0}, {t0.Add(2 * time.Hour), 0.5}}}}, Axis{Max: 1, Format: Percent}, end))
	// From x 64 to 936 over four hours: the step at two hours is halfway.
	if !strings.Contains(markup, `d="M64 204H500V110H936"`) {
		t.Errorf("step path not as expected: %s", markup)
	}
	if !strings.Contains(markup, "share: 50 % at 2026-03-01 11:00 UTC") {
		t.Errorf("point tooltip missing: %s", markup)
	}
}

func TestTimeChartLegendNamesEverySeries(t *testing.T) {
	markup := string(TimeChart(Meta{ID: "a"}, []Series{
		{Name: "control", Points: []Point{{t0, 10}, {t0.Add(time.Hour), 20}}},
		{Name: "treatment", Points: []Point{{t0, 12}, {t0.Add(time.Hour), 25}}},
	}, Axis{}, time.Time{}))
	for _, want := range []string{">control</text>", ">treatment</text>", `stroke-dasharray="6 3"`, ">40</text>"} {
		if !strings.Contains(markup, want) {
			t.Errorf("chart lacks %q: %s", want, markup)
		}
	}
}

func TestForestPlotZeroLineIsCentred(t *testing.T) {
	markup := string(ForestPlot(Meta{ID: "f"}, []Estimate{{Label: "b", Value: 0.02, Low: -0.03, High: 0.07, Valid: true}}))
	// The axis runs from 150 to 774: zero is at 462.
	if !strings.Contains(markup, `x1="462" y1="12" x2="462"`) || !strings.Contains(markup, `class="sy-zero"`) {
		t.Errorf("zero line not centred: %s", markup)
	}
	if !strings.Contains(markup, "b: +2 % (95 % CI −3 % to +7 %)") {
		t.Errorf("estimate tooltip missing: %s", markup)
	}
}

func TestForestPlotMarksUndefinedEstimates(t *testing.T) {
	markup := string(ForestPlot(Meta{ID: "f"}, []Estimate{{Label: "b", Valid: false}}))
	if !strings.Contains(markup, "not enough data") || strings.Contains(markup, "sy-point") {
		t.Errorf("undefined estimate drawn: %s", markup)
	}
}

func TestPercent(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0 %"}, {0.05, "5 %"}, {0.055, "5.5 %"}, {0.25, "25 %"}, {1, "100 %"}, {0.001, "0.1 %"},
	}
	for _, tc := range cases {
		if got := Percent(tc.in); got != tc.want {
			t.Errorf("Percent(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := SignedPercent(-0.025); got != "−2.5 %" {
		t.Errorf("SignedPercent(-0.025) = %q, want −2.5 %%", got)
	}
}
