package console

import (
	"fmt"
	"html/template"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/console/svg"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// The experiment statuses (pb.Experiment.Status).
const (
	experimentDraft   = "DRAFT"
	experimentRunning = "RUNNING"
	experimentStopped = "STOPPED"
)

// experimentBadge is the badge of an experiment status.
func experimentBadge(status string) StateBadge {
	switch status {
	case experimentDraft:
		return StateBadge{"✎", "Draft", "neutral"}
	case experimentRunning:
		return StateBadge{"▶", "Running", "active"}
	case experimentStopped:
		return StateBadge{"■", "Stopped", "good"}
	}
	return StateBadge{"?", status, "neutral"}
}

// ExperimentRow is one experiment in the experiments list.
type ExperimentRow struct {
	ID, Title, Flag, Environment, Owner string
	Status                              StateBadge
	// Allocation is e.g. "off 50 % · on 50 % of 20 %".
	Allocation, Started, Decision string
}

// experimentRows lists experiments in their order.
func experimentRows(es []*pb.Experiment) []ExperimentRow {
	out := make([]ExperimentRow, 0, len(es))
	for _, e := range es {
		out = append(out, ExperimentRow{
			ID: e.GetId(), Title: e.GetTitle(), Flag: e.GetFlag(), Environment: e.GetEnvironment(), Owner: e.GetOwner(),
			Status: experimentBadge(e.GetStatus()), Allocation: allocationWords(e),
			Started: shownTime(e.GetStartTime().AsTime()), Decision: decisionWords(e.GetDecision()),
		})
	}
	return out
}

// arms is an experiment's control and treatments, control first.
func arms(e *pb.Experiment) []*pb.ExperimentArm {
	return append([]*pb.ExperimentArm{e.GetControl()}, e.GetTreatments()...)
}

// allocationWords says how an experiment splits its traffic.
func allocationWords(e *pb.Experiment) string {
	var parts []string
	for _, a := range arms(e) {
		parts = append(parts, a.GetVariant()+" "+weightPercent(a.GetWeight()))
	}
	return strings.Join(parts, " · ") + " of " + weightPercent(e.GetTrafficShare())
}

func decisionWords(d *pb.ExperimentDecision) string {
	if d == nil || d.GetAction() == "" {
		return ""
	}
	s := d.GetAction()
	if d.GetVariant() != "" {
		s += " " + d.GetVariant()
	}
	if who := cmpOr(d.GetActorName(), d.GetActor()); who != "" {
		s += " by " + who
	}
	if d.GetReason() != "" {
		s += ": " + d.GetReason()
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ArmView is one variant's allocation and exposure progress.
type ArmView struct {
	Variant, Weight string
	Control         bool
	Units           int64
	// Progress is the share of the minimum sample reached, 0 to 100.
	Progress int
	Reached  bool
}

// SRMView is the sample-ratio check in words.
type SRMView struct {
	Mismatch bool
	// Text says what was tested and found.
	Text string
}

// MetricView is one metric's results.
type MetricView struct {
	Key, Kind, Direction, Role string
	Rows                       []MetricRowView
	Tripped                    string
	Forest                     template.HTML
}

// MetricRowView is one variant's value of a metric and, for a treatment,
// its comparison with the control.
type MetricRowView struct {
	Variant        string
	Control        bool
	Units          int64
	Value          string
	AbsLift, AbsCI string
	RelLift, RelCI string
	PValue         string
	// Outcome is the outcome with an icon: "▲ better", "▼ worse",
	// "● inconclusive".
	Outcome, OutcomeKey string
}

// ExperimentAction is an action the viewer may take on an experiment.
type ExperimentAction struct {
	Name, Label, Confirm string
	Danger               bool
}

// ExperimentView is everything an experiment page shows.
type ExperimentView struct {
	ID, Title, Hypothesis, Owner, Environment, Flag, Etag string
	Status                                                StateBadge
	StatusKey                                             string
	Started, Stopped, Decision                            string
	Allocation, Segments, BucketBy, PrimaryMetric         string
	MinSample                                             int32
	MinSampleReached                                      bool
	Arms                                                  []ArmView
	SRM                                                   SRMView
	Metrics                                               []MetricView
	Verdict                                               string
	Ignored                                               []string
	Actions                                               []ExperimentAction
	// ShipVariants are the variants stopping may ship.
	ShipVariants []string
	// Live is set while the experiment runs: the page polls its fragment.
	Live bool
	// Exposures is the chart of exposed units over time; ExposuresDesc
	// its text alternative.
	Exposures     template.HTML
	ExposuresDesc string
}

// experimentView builds an experiment page from the experiment and its
// results for a viewer who may take lifecycle actions or not (canRelease).
func experimentView(e *pb.Experiment, res *pb.ExperimentResults, canRelease bool) ExperimentView {
	v := ExperimentView{
		ID: e.GetId(), Title: e.GetTitle(), Hypothesis: e.GetHypothesis(), Owner: e.GetOwner(),
		Environment: e.GetEnvironment(), Flag: e.GetFlag(), Etag: e.GetEtag(),
		Status: experimentBadge(e.GetStatus()), StatusKey: e.GetStatus(),
		Started: shownTime(e.GetStartTime().AsTime()), Stopped: shownTime(e.GetStopTime().AsTime()),
		Decision: decisionWords(e.GetDecision()), Allocation: allocationWords(e),
		Segments: strings.Join(e.GetSegments(), ", "), BucketBy: cmpOr(e.GetBucketBy(), "targetingKey"),
		PrimaryMetric: e.GetPrimaryMetric(), MinSample: e.GetMinSampleSize(),
		MinSampleReached: res.GetMinSampleReached(), Verdict: res.GetVerdict(),
		Live: e.GetStatus() == experimentRunning,
	}
	if v.Segments == "" {
		v.Segments = "everyone"
	}
	for _, a := range res.GetArms() {
		av := ArmView{Variant: a.GetVariant(), Weight: weightPercent(a.GetWeight()), Control: a.GetControl(), Units: a.GetUnits(), Reached: a.GetMinSampleReached()}
		av.Progress = 100
		if n := e.GetMinSampleSize(); n > 0 {
			av.Progress = int(min(100, a.GetUnits()*100/int64(n)))
		}
		v.Arms = append(v.Arms, av)
	}
	v.SRM = srmView(res.GetSrm())
	for _, m := range res.GetMetrics() {
		v.Metrics = append(v.Metrics, metricView(m))
	}
	for _, k := range slices.Sorted(maps.Keys(res.GetIgnoredEvents())) {
		v.Ignored = append(v.Ignored, fmt.Sprintf("%s: %d", strings.ReplaceAll(k, "_", " "), res.GetIgnoredEvents()[k]))
	}
	for _, a := range arms(e) {
		v.ShipVariants = append(v.ShipVariants, a.GetVariant())
	}
	v.Actions = experimentActions(e, canRelease)
	series := exposureSeries(res)
	v.ExposuresDesc = exposuresDesc(series)
	v.Exposures = svg.TimeChart(svg.Meta{
		ID: "experiment-exposures", Title: "Exposed units per variant over time", Desc: v.ExposuresDesc,
	}, series, svg.Axis{}, time.Time{})
	return v
}

// exposureSeries is one series of cumulative exposed units per variant,
// starting at zero at the start.
func exposureSeries(res *pb.ExperimentResults) []svg.Series {
	series := make([]svg.Series, len(res.GetArms()))
	for i, a := range res.GetArms() {
		series[i].Name = a.GetVariant()
		if len(res.GetExposures()) > 0 && res.GetStartTime() != nil {
			series[i].Points = append(series[i].Points, svg.Point{T: res.GetStartTime().AsTime()})
		}
	}
	for _, c := range res.GetExposures() {
		for i, u := range c.GetUnits() {
			if i < len(series) {
				series[i].Points = append(series[i].Points, svg.Point{T: c.GetTime().AsTime(), V: float64(u)})
			}
		}
	}
	return series
}

func exposuresDesc(series []svg.Series) string {
	var parts []string
	for _, s := range series {
		if n := len(s.Points); n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d units by %s", s.Name, int64(s.Points[n-1].V), shownTime(s.Points[n-1].T)))
		}
	}
	if len(parts) == 0 {
		return "No exposures recorded yet."
	}
	return "Cumulative exposed units. " + strings.Join(parts, "; ") + "."
}

// srmView says what the sample-ratio check found.
func srmView(s *pb.SampleRatioCheck) SRMView {
	if s == nil || s.PValue == nil {
		return SRMView{Text: "Sample ratio: not enough exposures to check yet."}
	}
	stat := fmt.Sprintf("χ² = %s with %s df, p %s", sig(s.GetChiSquare()), sig(s.GetDf()), pValueRel(s.GetPValue()))
	if s.GetMismatch() {
		return SRMView{Mismatch: true, Text: "The exposed units do not match the allocation (" + stat +
			"). Something assigns or counts variants unevenly; do not trust these results until the cause is found."}
	}
	return SRMView{Text: "Sample ratio: the exposed units match the allocation (" + stat + ")."}
}

func metricView(m *pb.MetricResult) MetricView {
	mv := MetricView{Key: m.GetMetric(), Kind: m.GetKind(), Direction: cmpOr(m.GetDirection(), "higher")}
	switch {
	case m.GetPrimary():
		mv.Role = "primary"
	case m.GetGuardrail() != nil:
		mv.Role = fmt.Sprintf("guardrail: must not get worse than %s", svg.Percent(m.GetGuardrail().GetThreshold()))
	}
	if len(m.GetTripped()) > 0 {
		mv.Tripped = "⚠ Guardrail tripped by " + strings.Join(m.GetTripped(), ", ")
	}
	conversion := m.GetKind() != "mean"
	var est []svg.Estimate
	for i, r := range m.GetVariants() {
		row := MetricRowView{Variant: r.GetVariant(), Control: i == 0, Units: r.GetUnits()}
		if conversion {
			row.Value = optText(r.Rate, rate) + fmt.Sprintf(" (%d of %d)", r.GetConversions(), r.GetUnits())
		} else {
			row.Value = optText(r.Mean, sig)
		}
		if i > 0 {
			abs := sig
			if conversion {
				abs = points
			}
			row.AbsLift = optText(r.AbsLift, signed(abs))
			row.AbsCI = ciText(r.AbsCiLow, r.AbsCiHigh, signed(abs))
			row.RelLift = optText(r.RelLift, svg.SignedPercent)
			row.RelCI = ciText(r.RelCiLow, r.RelCiHigh, svg.SignedPercent)
			row.PValue = optText(r.PValue, pValue)
			row.OutcomeKey = r.GetOutcome()
			row.Outcome = outcomeWords(r.GetOutcome())
			e := svg.Estimate{Label: r.GetVariant() + " vs " + m.GetVariants()[0].GetVariant(), Note: row.Outcome}
			if r.RelLift != nil && r.RelCiLow != nil && r.RelCiHigh != nil {
				e.Valid, e.Value, e.Low, e.High = true, r.GetRelLift(), r.GetRelCiLow(), r.GetRelCiHigh()
				if r.PValue != nil {
					e.Note += ", p " + pValueRel(r.GetPValue())
				}
			}
			est = append(est, e)
		}
		mv.Rows = append(mv.Rows, row)
	}
	mv.Forest = svg.ForestPlot(svg.Meta{
		ID: "forest-" + m.GetMetric(), Title: "Relative lift of " + m.GetMetric() + " against the control, with 95 % confidence intervals",
		Desc: forestDesc(mv),
	}, est)
	return mv
}

func forestDesc(mv MetricView) string {
	var parts []string
	for _, r := range mv.Rows[min(1, len(mv.Rows)):] {
		if r.RelLift == "–" {
			parts = append(parts, r.Variant+": not enough data")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s (95 %% CI %s), %s", r.Variant, r.RelLift, r.RelCI, r.Outcome))
	}
	if len(parts) == 0 {
		return "No treatments."
	}
	return strings.Join(parts, "; ") + "."
}

func outcomeWords(o string) string {
	switch o {
	case "better":
		return "▲ better"
	case "worse":
		return "▼ worse"
	case "inconclusive":
		return "● inconclusive"
	}
	return o
}

// experimentActions are the actions a viewer who may (canRelease) take
// lifecycle actions may take on e in its status.
func experimentActions(e *pb.Experiment, canRelease bool) []ExperimentAction {
	if !canRelease {
		return nil
	}
	switch e.GetStatus() {
	case experimentDraft:
		return []ExperimentAction{{Name: "start", Label: "Start", Confirm: fmt.Sprintf(
			"Start %s: %s of %s in %s is split %s; flag %s is held by the experiment until it stops.",
			e.GetId(), weightPercent(e.GetTrafficShare()), cmpOr(strings.Join(e.GetSegments(), ", "), "everyone"), e.GetEnvironment(),
			allocationWords(e), e.GetFlag())}}
	case experimentRunning:
		return []ExperimentAction{
			{Name: "ship", Label: "Stop and ship", Confirm: fmt.Sprintf(
				"Stop %s and ship the chosen variant: a release of flag %s in %s starts (%s-ship), through its gates and approvals.", e.GetId(), e.GetFlag(), e.GetEnvironment(), e.GetId())},
			{Name: "revert", Label: "Stop and revert", Danger: true, Confirm: fmt.Sprintf(
				"Stop %s and revert: flag %s serves in %s what it served before the experiment, in one revision.", e.GetId(), e.GetFlag(), e.GetEnvironment())},
		}
	}
	return nil
}

// optText formats an optional value, "–" when it is undefined.
func optText(v *float64, f func(float64) string) string {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return "–"
	}
	return f(*v)
}

func ciText(lo, hi *float64, f func(float64) string) string {
	if lo == nil || hi == nil {
		return "–"
	}
	return "[" + f(*lo) + ", " + f(*hi) + "]"
}

// rate formats a conversion rate with two decimals: "12.34 %".
func rate(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + " %" }

// points formats a difference of rates in percentage points: "1.2 pp".
func points(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + " pp" }

// sig formats a number with four significant digits.
func sig(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// signed prefixes a formatted non-negative magnitude with its sign.
func signed(f func(float64) string) func(float64) string {
	return func(v float64) string {
		switch {
		case v > 0:
			return "+" + f(v)
		case v < 0:
			return "−" + f(-v)
		}
		return f(0)
	}
}

// pValue formats a p-value: "< 0.001" below it, else three decimals.
func pValue(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

// pValueRel is pValue after "p ": "= 0.030" or "< 0.001".
func pValueRel(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return "= " + pValue(p)
}

// experimentActionNames are the actions an experiment page may post.
var experimentActionNames = map[string]bool{"start": true, "ship": true, "revert": true}
