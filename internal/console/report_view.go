package console

import (
	"fmt"
	"html/template"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/console/svg"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// reportWeeks is how many weeks the report page charts.
const reportWeeks = 8

// reportPeriods are the weekly periods ending at end, oldest first.
func reportPeriods(end time.Time, weeks int) [][2]time.Time {
	out := make([][2]time.Time, weeks)
	for i := range weeks {
		e := end.Add(-time.Duration(weeks-1-i) * 7 * 24 * time.Hour)
		out[i] = [2]time.Time{e.Add(-7 * 24 * time.Hour), e}
	}
	return out
}

// KPI is one headline number of the report.
type KPI struct {
	Label, Value, Detail string
}

// CountView is one entry of a count table (e.g. outcomes by state).
type CountView struct {
	Label string
	Count int32
}

// ReportGroupView is one row of the by-model table.
type ReportGroupView struct {
	Model                                          string
	Releases, Ended, Rollbacks, Backlog, Incidents int32
	SuccessRate, ScheduleAdherence, MeanLeadTime   string
}

// ReportView is everything the release report page shows.
type ReportView struct {
	Start, End, Environment string
	KPIs                    []KPI
	Outcomes, Backlog       []CountView
	Incidents, Reviews      []CountView
	ByModel                 []ReportGroupView
	// Charts over the last weeks, and the lead time by stage.
	SuccessChart, AdherenceChart, RollbackChart, LeadTimeChart template.HTML
}

// reportView builds the report page from the period's report and the
// weekly reports that end with it, oldest first.
func reportView(overall *pb.ReleaseReport, weekly []*pb.ReleaseReport) ReportView {
	g := overall.GetOverall()
	v := ReportView{
		Start: shownTime(overall.GetStart().AsTime()), End: shownTime(overall.GetEnd().AsTime()),
		Environment: cmpOr(overall.GetEnvironment(), "all environments"),
		KPIs: []KPI{
			{"Success rate", optShare(g.SuccessRate), fmt.Sprintf("%d completed of %d ended", g.GetOutcomes()[releaseCompleted], g.GetEnded())},
			{"Schedule adherence", optShare(g.ScheduleAdherence), fmt.Sprintf("%d of %d timed steps on time", g.GetOnTimeSteps(), g.GetTimedSteps())},
			{"Rollbacks", strconv.Itoa(int(g.GetRollbacks())), fmt.Sprintf("of %d releases active in the period", g.GetReleases())},
			{"Mean lead time per stage", duration(meanLeadTime(g)), fmt.Sprintf("over %d stages left", leadCount(g))},
			{"Backlog", strconv.Itoa(int(g.GetBacklogTotal())), "drafts, scheduled and paused at the end"},
			{"Incidents", strconv.Itoa(int(g.GetIncidentsTotal())), "linked to releases in the period"},
		},
		Outcomes:  counts(g.GetOutcomes()),
		Backlog:   counts(g.GetBacklog()),
		Incidents: counts(g.GetIncidents()),
		Reviews:   counts(g.GetReviews()),
	}
	for _, m := range overall.GetByModel() {
		v.ByModel = append(v.ByModel, ReportGroupView{
			Model: cmpOr(m.GetModel(), "(no model)"), Releases: m.GetReleases(), Ended: m.GetEnded(), Rollbacks: m.GetRollbacks(),
			Backlog: m.GetBacklogTotal(), Incidents: m.GetIncidentsTotal(),
			SuccessRate: optShare(m.SuccessRate), ScheduleAdherence: optShare(m.ScheduleAdherence), MeanLeadTime: duration(meanLeadTime(m)),
		})
	}
	var success, adherence, rollbacks []svg.Bar
	for _, w := range weekly {
		label := w.GetEnd().AsTime().UTC().Add(-time.Second).Format("Jan 2")
		wg := w.GetOverall()
		success = append(success, optBar(label, wg.SuccessRate))
		adherence = append(adherence, optBar(label, wg.ScheduleAdherence))
		rollbacks = append(rollbacks, svg.Bar{Label: label, Value: float64(wg.GetRollbacks())})
	}
	share := svg.Axis{Max: 1, Format: svg.Percent}
	v.SuccessChart = svg.BarChart(svg.Meta{ID: "kpi-success", Title: "Success rate by week", Desc: barsDesc("Success rate", success, share)}, success, share)
	v.AdherenceChart = svg.BarChart(svg.Meta{ID: "kpi-adherence", Title: "Schedule adherence by week", Desc: barsDesc("Schedule adherence", adherence, share)}, adherence, share)
	counted := svg.Axis{Max: countMax(rollbacks)}
	v.RollbackChart = svg.BarChart(svg.Meta{ID: "kpi-rollbacks", Title: "Rollbacks by week", Desc: barsDesc("Rollbacks", rollbacks, counted)}, rollbacks, counted)
	longest := 0.0
	for _, lt := range g.GetLeadTimes() {
		longest = max(longest, lt.GetMeanSeconds())
	}
	unit, per := leadUnit(longest)
	var lead []svg.Bar
	for _, lt := range g.GetLeadTimes() {
		label := "stage " + strconv.Itoa(int(lt.GetStage()))
		if lt.GetName() != "" {
			label += " " + lt.GetName()
		}
		lead = append(lead, svg.Bar{Label: label, Value: lt.GetMeanSeconds() / per})
	}
	inUnit := svg.Axis{Format: func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) + " " + unit }}
	v.LeadTimeChart = svg.BarChart(svg.Meta{ID: "kpi-lead", Title: "Mean lead time by stage", Desc: barsDesc("Mean lead time", lead, inUnit)}, lead, inUnit)
	return v
}

// countMax is the top of a count axis: a multiple of 4 (so that the four
// gridlines fall on whole numbers), at least 4.
func countMax(bars []svg.Bar) float64 {
	top := 0.0
	for _, b := range bars {
		top = max(top, b.Value)
	}
	return max(4, 4*math.Ceil(top/4))
}

// leadUnit is the unit lead times up to longest seconds are charted in,
// with its length in seconds.
func leadUnit(longest float64) (string, float64) {
	switch {
	case longest >= 2*3600:
		return "h", 3600
	case longest >= 120:
		return "min", 60
	}
	return "s", 1
}

func optShare(v *float64) string { return optText(v, svg.Percent) }

func optBar(label string, v *float64) svg.Bar {
	if v == nil {
		return svg.Bar{Label: label, Missing: true}
	}
	return svg.Bar{Label: label, Value: *v}
}

// barsDesc is a bar chart's text alternative.
func barsDesc(what string, bars []svg.Bar, a svg.Axis) string {
	s := what + ":"
	if len(bars) == 0 {
		return s + " no data."
	}
	for i, b := range bars {
		if i > 0 {
			s += ";"
		}
		val := "n/a"
		if !b.Missing {
			val = a.Label(b.Value)
		}
		s += " " + b.Label + " " + val
	}
	return s + "."
}

// meanLeadTime is the mean time spent in a stage over every stage of g.
func meanLeadTime(g *pb.ReleaseReportGroup) *float64 {
	var sum float64
	var n int32
	for _, lt := range g.GetLeadTimes() {
		sum += lt.GetMeanSeconds() * float64(lt.GetCount())
		n += lt.GetCount()
	}
	if n == 0 {
		return nil
	}
	mean := sum / float64(n)
	return &mean
}

func leadCount(g *pb.ReleaseReportGroup) int32 {
	var n int32
	for _, lt := range g.GetLeadTimes() {
		n += lt.GetCount()
	}
	return n
}

// duration formats seconds as "3.5 h", "42 min" or "30 s"; "–" for none.
func duration(secs *float64) string {
	if secs == nil {
		return "–"
	}
	switch s := *secs; {
	case s >= 2*3600:
		return strconv.FormatFloat(s/3600, 'f', 1, 64) + " h"
	case s >= 120:
		return strconv.FormatFloat(s/60, 'f', 0, 64) + " min"
	default:
		return strconv.FormatFloat(s, 'f', 0, 64) + " s"
	}
}

// counts lists a count map by key.
func counts(m map[string]int32) []CountView {
	var out []CountView
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, CountView{Label: k, Count: m[k]})
	}
	return out
}
