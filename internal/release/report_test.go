package release_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// t0 is the start of the report period of the report tests: one day.
var t0 = time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)

// at is t0 plus h hours, to the minute.
func at(h float64) time.Time { return t0.Add(time.Duration(math.Round(h*60)) * time.Minute) }

func atp(h float64) *time.Time { t := at(h); return &t }

// ev is a timeline event at hour h.
func ev(h float64, action string, from, to model.ReleaseState, stage int) model.ReleaseEvent {
	return model.ReleaseEvent{Action: action, From: from, To: to, Stage: stage, Time: at(h)}
}

// timed is ev with the planned time p (hours).
func timed(h, p float64, action string, from, to model.ReleaseState, stage int) model.ReleaseEvent {
	e := ev(h, action, from, to, stage)
	e.PlannedTime = atp(p)
	e.DelaySeconds = at(h).Sub(at(p)).Seconds()
	return e
}

const (
	draft = model.StateDraft
	sched = model.StateScheduled
	run   = model.StateInProgress
	pause = model.StatePaused
	done  = model.StateCompleted
	back  = model.StateRolledBack
	cncl  = model.StateCancelled
)

func twoStages() []model.Stage {
	return []model.Stage{{Name: "canary", Weight: 5000}, {Name: "all", Weight: 100000}}
}

// reportReleases is a hand-built history around the day [t0, t0+24h).
func reportReleases() []*model.Release {
	return []*model.Release{
		// a: canary model, completed in the period; stage 1 took 2 h, stage
		// 2 was entered by a wait gate 2 min late and took 4 h.
		{ID: "a", Environment: "production", Model: "canary", Plan: twoStages(), State: done, Stage: 2,
			Timeline: []model.ReleaseEvent{
				ev(-10, "create", "", draft, 0),
				ev(1, "start", draft, run, 1),
				timed(3, 3-2.0/60, "advance", run, run, 2),
				ev(7, "complete", run, done, 2),
			},
			Incidents: []model.Incident{{ID: 1, Severity: model.SeverityLow, Note: "n", Time: at(2)}},
			Review:    &model.Review{Outcome: model.OutcomeSuccess, Time: at(8)},
		},
		// b: canary model, rolled back in the period after a scheduled
		// start 10 min late; stage 1 took 1 h; a critical incident.
		{ID: "b", Environment: "production", Model: "canary", Plan: twoStages(), State: back, Stage: 1,
			Timeline: []model.ReleaseEvent{
				ev(-5, "create", "", draft, 0),
				ev(-4, "schedule", draft, sched, 0),
				timed(2+10.0/60, 2, "start", sched, run, 1),
				ev(3+10.0/60, "roll_back", run, back, 1),
			},
			Incidents: []model.Incident{
				{ID: 1, Severity: model.SeverityCritical, Note: "n", Time: at(3)},
				{ID: 2, Severity: model.SeverityLow, Note: "before", Time: at(-1)},
			},
		},
		// c: no model, cancelled in the period.
		{ID: "c", Environment: "production", Plan: twoStages(), State: cncl,
			Timeline: []model.ReleaseEvent{ev(4, "create", "", draft, 0), ev(5, "cancel", draft, cncl, 0)},
		},
		// d: no model, paused at the end of the period (the scheduler
		// could not take its due step), completed after it.
		{ID: "d", Environment: "production", Plan: twoStages(), State: done, Stage: 2,
			Timeline: []model.ReleaseEvent{
				ev(-30, "create", "", draft, 0),
				ev(-29, "start", draft, run, 1),
				timed(10, 10, "pause", run, pause, 1),
				ev(30, "resume", pause, run, 1),
				ev(31, "advance", run, run, 2),
				ev(32, "complete", run, done, 2),
			},
		},
		// e: a draft of staging: only counted without an environment.
		{ID: "e", Environment: "staging", Model: "canary", Plan: twoStages(), State: draft,
			Timeline: []model.ReleaseEvent{ev(6, "create", "", draft, 0)},
		},
		// f: completed before the period: nothing counts but nothing waits.
		{ID: "f", Environment: "production", Plan: twoStages(), State: done, Stage: 2,
			Timeline: []model.ReleaseEvent{
				ev(-50, "create", "", draft, 0), ev(-49, "start", draft, run, 1),
				ev(-48, "advance", run, run, 2), ev(-47, "complete", run, done, 2),
			},
		},
		// g: created after the period: not in the backlog.
		{ID: "g", Environment: "production", Plan: twoStages(), State: draft,
			Timeline: []model.ReleaseEvent{ev(25, "create", "", draft, 0)},
		},
	}
}

func ptr(v float64) *float64 { return &v }

func TestBuildReportKPIs(t *testing.T) {
	day := release.ReportOptions{Start: t0, End: at(24)}
	prod := day
	prod.Environment = "production"
	strict := prod
	strict.Tolerance = time.Minute
	tests := []struct {
		name string
		opts release.ReportOptions
		want release.Report
	}{
		{
			name: "every environment",
			opts: day,
			want: release.Report{
				Overall: release.ReportGroup{
					Releases: 5, Ended: 3, Rollbacks: 1,
					Outcomes:    map[model.ReleaseState]int{done: 1, back: 1, cncl: 1},
					SuccessRate: ptr(1.0 / 3),
					TimedSteps:  3, OnTimeSteps: 1, ScheduleAdherence: ptr(1.0 / 3),
					LeadTimes: []release.StageLeadTime{
						{Stage: 1, Name: "canary", Count: 2, MeanSeconds: 1.5 * 3600},
						{Stage: 2, Name: "all", Count: 1, MeanSeconds: 4 * 3600},
					},
					Backlog: map[model.ReleaseState]int{draft: 1, pause: 1}, BacklogTotal: 2,
					Incidents: map[model.Severity]int{model.SeverityLow: 1, model.SeverityCritical: 1}, IncidentsTotal: 2,
					Reviews: map[model.ReviewOutcome]int{model.OutcomeSuccess: 1},
				},
				ByModel: []release.ReportGroup{
					{
						Releases: 2, Ended: 1,
						Outcomes: map[model.ReleaseState]int{cncl: 1}, SuccessRate: ptr(0),
						TimedSteps: 1, ScheduleAdherence: ptr(0),
						Backlog: map[model.ReleaseState]int{pause: 1}, BacklogTotal: 1,
					},
					{
						Model: "canary", Releases: 3, Ended: 2, Rollbacks: 1,
						Outcomes: map[model.ReleaseState]int{done: 1, back: 1}, SuccessRate: ptr(0.5),
						TimedSteps: 2, OnTimeSteps: 1, ScheduleAdherence: ptr(0.5),
						LeadTimes: []release.StageLeadTime{
							{Stage: 1, Name: "canary", Count: 2, MeanSeconds: 1.5 * 3600},
							{Stage: 2, Name: "all", Count: 1, MeanSeconds: 4 * 3600},
						},
						Backlog: map[model.ReleaseState]int{draft: 1}, BacklogTotal: 1,
						Incidents: map[model.Severity]int{model.SeverityLow: 1, model.SeverityCritical: 1}, IncidentsTotal: 2,
						Reviews: map[model.ReviewOutcome]int{model.OutcomeSuccess: 1},
					},
				},
			},
		},
		{
			name: "one environment with a one-minute tolerance",
			opts: strict,
			want: release.Report{
				Overall: release.ReportGroup{
					Releases: 4, Ended: 3, Rollbacks: 1,
					Outcomes:    map[model.ReleaseState]int{done: 1, back: 1, cncl: 1},
					SuccessRate: ptr(1.0 / 3),
					TimedSteps:  3, ScheduleAdherence: ptr(0),
					LeadTimes: []release.StageLeadTime{
						{Stage: 1, Name: "canary", Count: 2, MeanSeconds: 1.5 * 3600},
						{Stage: 2, Name: "all", Count: 1, MeanSeconds: 4 * 3600},
					},
					Backlog: map[model.ReleaseState]int{pause: 1}, BacklogTotal: 1,
					Incidents: map[model.Severity]int{model.SeverityLow: 1, model.SeverityCritical: 1}, IncidentsTotal: 2,
					Reviews: map[model.ReviewOutcome]int{model.OutcomeSuccess: 1},
				},
				ByModel: []release.ReportGroup{
					{
						Releases: 2, Ended: 1,
						Outcomes: map[model.ReleaseState]int{cncl: 1}, SuccessRate: ptr(0),
						TimedSteps: 1, ScheduleAdherence: ptr(0),
						Backlog: map[model.ReleaseState]int{pause: 1}, BacklogTotal: 1,
					},
					{
						Model: "canary", Releases: 2, Ended: 2, Rollbacks: 1,
						Outcomes: map[model.ReleaseState]int{done: 1, back: 1}, SuccessRate: ptr(0.5),
						TimedSteps: 2, ScheduleAdherence: ptr(0),
						LeadTimes: []release.StageLeadTime{
							{Stage: 1, Name: "canary", Count: 2, MeanSeconds: 1.5 * 3600},
							{Stage: 2, Name: "all", Count: 1, MeanSeconds: 4 * 3600},
						},
						Incidents: map[model.Severity]int{model.SeverityLow: 1, model.SeverityCritical: 1}, IncidentsTotal: 2,
						Reviews: map[model.ReviewOutcome]int{model.OutcomeSuccess: 1},
					},
				},
			},
		},
		{
			name: "a period with nothing in it",
			opts: release.ReportOptions{Start: at(100), End: at(124), Environment: "production"},
			want: release.Report{
				Overall: release.ReportGroup{Backlog: map[model.ReleaseState]int{draft: 1}, BacklogTotal: 1},
				ByModel: []release.ReportGroup{
					{Backlog: map[model.ReleaseState]int{draft: 1}, BacklogTotal: 1},
					{Model: "canary"},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := jsonString(t, release.BuildReport(reportReleases(), tc.opts))
			if want := jsonString(t, tc.want); got != want {
				t.Errorf("BuildReport() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
