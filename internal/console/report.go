package console

import (
	"net/http"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// reportPageData is the release report of the current project.
type reportPageData struct {
	Layout
	// Scope is the environment the report covers; empty: every one.
	Scope    string
	Report   ReportView
	Delivery DeliveryView
}

// reportPage shows the release KPIs of the last reportWeeks weeks (the
// period's report and one per week, for the charts) and their delivery
// metrics with weekly trends, for every environment or the one chosen in
// "scope".
func (c *Console) reportPage(w http.ResponseWriter, r *http.Request, s *Session) {
	p := &reportPageData{Layout: c.layout(r, s, "Release report", "reports"), Scope: r.URL.Query().Get("scope")}
	if p.Scope != "" && !contains(p.Environments, p.Scope) {
		p.Scope = ""
	}
	end := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	periods := reportPeriods(end, reportWeeks)
	get := func(from, to time.Time) (*pb.ReleaseReport, error) {
		return c.api.releases.GetReleaseReport(call(r, s), &pb.GetReleaseReportRequest{
			Project: p.Project, Environment: p.Scope, Start: timestamppb.New(from), End: timestamppb.New(to),
		})
	}
	overall, err := get(periods[0][0], end)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	weekly := make([]*pb.ReleaseReport, 0, len(periods))
	for _, pe := range periods {
		rep, err := get(pe[0], pe[1])
		if err != nil {
			c.apiFail(w, r, s, err)
			return
		}
		weekly = append(weekly, rep)
	}
	p.Report = reportView(overall, weekly)
	delivery, err := c.api.releases.GetDeliveryMetrics(call(r, s), &pb.GetDeliveryMetricsRequest{
		Project: p.Project, Environment: p.Scope, Period: strconv.Itoa(7*reportWeeks) + "d", End: timestamppb.New(end),
	})
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Delivery = deliveryView(delivery)
	c.render(w, http.StatusOK, "report", p)
}
