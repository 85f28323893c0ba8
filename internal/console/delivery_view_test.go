package console

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

func TestDeliveryViewKPIsAndWeeklyTrend(t *testing.T) {
	start := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	d := &pb.DeliveryMetrics{
		Completed: 3, ReleaseFrequency: f64(1.5), LeadTime: &pb.DeliveryDuration{Count: 3, MedianSeconds: 3 * 3600},
		Changes: 4, FailedChanges: 1, ChangeFailureRate: f64(0.25), TimeToRestore: &pb.DeliveryDuration{Count: 1, MedianSeconds: 1800},
		Weeks: []*pb.DeliveryWeek{
			{Start: timestamppb.New(start)},
			{Start: timestamppb.New(start.Add(7 * 24 * time.Hour)), Completed: 3, Changes: 4, FailedChanges: 1, ChangeFailureRate: f64(0.25),
				LeadTime: &pb.DeliveryDuration{Count: 3, MedianSeconds: 3 * 3600}},
		},
	}
	v := deliveryView(d)
	got := map[string]string{}
	for _, k := range v.KPIs {
		got[k.Label] = k.Value + " | " + k.Detail
	}
	want := map[string]string{
		"Release frequency":        "1.5 / week | 3 releases completed",
		"Lead time (median)":       "3.0 h | first stage to completion, over 3 releases",
		"Change failure rate":      "25 % | 1 failed of 4 changes",
		"Time to restore (median)": "30 min | failure signal to rollback, over 1 rollbacks",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("KPI %q = %q, want %q", k, got[k], w)
		}
	}
	for name, c := range map[string]struct{ markup, desc string }{
		"throughput":   {string(v.ThroughputChart), "Releases completed: Mar 21 0; Mar 28 3."},
		"failure rate": {string(v.FailureRateChart), "Change failure rate: Mar 21 n/a; Mar 28 25 %."},
		"lead time":    {string(v.LeadTimeChart), "Median lead time: Mar 21 n/a; Mar 28 3.0 h."},
	} {
		if !strings.Contains(c.markup, c.desc) {
			t.Errorf("%s chart lacks %q: %.300s", name, c.desc, c.markup)
		}
	}
}
