package console

import (
	"fmt"
	"html/template"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/console/svg"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// DeliveryView is the delivery metrics (DORA's four keys) of the report
// page: its headline numbers and weekly trend charts.
type DeliveryView struct {
	KPIs []KPI
	// Weekly trends: releases completed (throughput), change failure
	// rate and median lead time.
	ThroughputChart, FailureRateChart, LeadTimeChart template.HTML
}

// deliveryView builds the delivery section from the period's metrics.
func deliveryView(d *pb.DeliveryMetrics) DeliveryView {
	v := DeliveryView{KPIs: []KPI{
		{"Release frequency", strconv.FormatFloat(d.GetReleaseFrequency(), 'f', 1, 64) + " / week", fmt.Sprintf("%d releases completed", d.GetCompleted())},
		{"Lead time (median)", duration(medianOf(d.GetLeadTime())), fmt.Sprintf("first stage to completion, over %d releases", d.GetLeadTime().GetCount())},
		{"Change failure rate", optShare(d.ChangeFailureRate), fmt.Sprintf("%d failed of %d changes", d.GetFailedChanges(), d.GetChanges())},
		{"Time to restore (median)", duration(medianOf(d.GetTimeToRestore())), fmt.Sprintf("failure signal to rollback, over %d rollbacks", d.GetTimeToRestore().GetCount())},
	}}
	var throughput, failures, leads []svg.Bar
	longest := 0.0
	for _, w := range d.GetWeeks() {
		longest = max(longest, w.GetLeadTime().GetMedianSeconds())
	}
	unit, per := leadUnit(longest)
	for _, w := range d.GetWeeks() {
		label := w.GetStart().AsTime().UTC().Add(7*24*time.Hour - time.Second).Format("Jan 2")
		throughput = append(throughput, svg.Bar{Label: label, Value: float64(w.GetCompleted())})
		failures = append(failures, optBar(label, w.ChangeFailureRate))
		if lt := w.GetLeadTime(); lt != nil {
			leads = append(leads, svg.Bar{Label: label, Value: lt.GetMedianSeconds() / per})
		} else {
			leads = append(leads, svg.Bar{Label: label, Missing: true})
		}
	}
	counted := svg.Axis{Max: countMax(throughput)}
	v.ThroughputChart = svg.BarChart(svg.Meta{ID: "dora-throughput", Title: "Releases completed by week", Desc: barsDesc("Releases completed", throughput, counted)}, throughput, counted)
	share := svg.Axis{Max: 1, Format: svg.Percent}
	v.FailureRateChart = svg.BarChart(svg.Meta{ID: "dora-failures", Title: "Change failure rate by week", Desc: barsDesc("Change failure rate", failures, share)}, failures, share)
	inUnit := svg.Axis{Format: func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) + " " + unit }}
	v.LeadTimeChart = svg.BarChart(svg.Meta{ID: "dora-lead", Title: "Median lead time by week", Desc: barsDesc("Median lead time", leads, inUnit)}, leads, inUnit)
	return v
}

// medianOf is a distribution's median in seconds; nil when it is empty.
func medianOf(d *pb.DeliveryDuration) *float64 {
	if d == nil {
		return nil
	}
	m := d.GetMedianSeconds()
	return &m
}
