package console

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

func TestReportPeriodsAreConsecutiveWeeks(t *testing.T) {
	end := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	ps := reportPeriods(end, 3)
	if len(ps) != 3 || !ps[2][1].Equal(end) || !ps[0][0].Equal(end.Add(-21*24*time.Hour)) {
		t.Fatalf("reportPeriods = %v", ps)
	}
	for i := 1; i < len(ps); i++ {
		if !ps[i][0].Equal(ps[i-1][1]) {
			t.Errorf("period %d starts %v, want the end of the one before, %v", i, ps[i][0], ps[i-1][1])
		}
	}
}

func week(end time.Time, g *pb.ReleaseReportGroup) *pb.ReleaseReport {
	return &pb.ReleaseReport{Start: timestamppb.New(end.Add(-7 * 24 * time.Hour)), End: timestamppb.New(end), Overall: g}
}

func TestReportViewKPIsAndCharts(t *testing.T) {
	end := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	overall := week(end, &pb.ReleaseReportGroup{
		Releases: 5, Ended: 4, Outcomes: map[string]int32{releaseCompleted: 3, releaseRolledBack: 1},
		SuccessRate: f64(0.75), Rollbacks: 1, TimedSteps: 4, OnTimeSteps: 3, ScheduleAdherence: f64(0.75),
		LeadTimes: []*pb.ReleaseStageLeadTime{{Stage: 1, Name: "canary", Count: 2, MeanSeconds: 3600}, {Stage: 2, Count: 1, MeanSeconds: 4 * 3600}},
		Backlog:   map[string]int32{releaseDraft: 2}, BacklogTotal: 2,
	})
	overall.ByModel = []*pb.ReleaseReportGroup{{Model: "", Releases: 5}}
	weekly := []*pb.ReleaseReport{
		week(end.Add(-7*24*time.Hour), &pb.ReleaseReportGroup{}),
		week(end, &pb.ReleaseReportGroup{SuccessRate: f64(0.5), Rollbacks: 1}),
	}
	v := reportView(overall, weekly)
	got := map[string]string{}
	for _, k := range v.KPIs {
		got[k.Label] = k.Value + " | " + k.Detail
	}
	want := map[string]string{
		"Success rate":             "75 % | 3 completed of 4 ended",
		"Schedule adherence":       "75 % | 3 of 4 timed steps on time",
		"Rollbacks":                "1 | of 5 releases active in the period",
		"Mean lead time per stage": "2.0 h | over 3 stages left",
		"Backlog":                  "2 | drafts, scheduled and paused at the end",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("KPI %q = %q, want %q", k, got[k], w)
		}
	}
	if v.ByModel[0].Model != "(no model)" || v.ByModel[0].SuccessRate != "–" {
		t.Errorf("by model = %+v", v.ByModel)
	}
	if len(v.Outcomes) != 2 || v.Outcomes[0] != (CountView{"COMPLETED", 3}) {
		t.Errorf("outcomes = %+v", v.Outcomes)
	}
	for chart, s := range map[string]string{
		"success":  "Success rate: Mar 21 n/a; Mar 28 50 %.",
		"rollback": "Rollbacks: Mar 21 0; Mar 28 1.",
		"lead":     "Mean lead time: stage 1 canary 1.0 h; stage 2 4.0 h.",
	} {
		markup := map[string]string{"success": string(v.SuccessChart), "rollback": string(v.RollbackChart), "lead": string(v.LeadTimeChart)}[chart]
		if !strings.Contains(markup, s) {
			t.Errorf("%s chart lacks %q: %.300s", chart, s, markup)
		}
	}
}

func TestDuration(t *testing.T) {
	cases := []struct {
		in   *float64
		want string
	}{{nil, "–"}, {f64(30), "30 s"}, {f64(600), "10 min"}, {f64(9000), "2.5 h"}}
	for _, tc := range cases {
		if got := duration(tc.in); got != tc.want {
			t.Errorf("duration = %q, want %q", got, tc.want)
		}
	}
}
