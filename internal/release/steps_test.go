package release_test

import (
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

func TestStepsPlannedAndActualTimes(t *testing.T) {
	waitGate := &model.Gate{Wait: &model.WaitGate{Duration: "1h"}}
	plan := []model.Stage{{Name: "staff", Weight: 100000}, {Name: "ten", Weight: 10000, Gate: waitGate}, {Name: "all", Weight: 100000, Gate: waitGate}}
	tests := []struct {
		name string
		r    *model.Release
		want []release.StepRecord
	}{
		{
			name: "a draft",
			r:    &model.Release{State: draft, Plan: plan, Timeline: []model.ReleaseEvent{ev(0, "create", "", draft, 0)}},
			want: []release.StepRecord{
				{Stage: 1, Name: "staff", Gate: "manual", State: release.StepPending},
				{Stage: 2, Name: "ten", Gate: "wait", State: release.StepPending},
				{Stage: 3, Name: "all", Gate: "wait", State: release.StepPending},
			},
		},
		{
			name: "running at stage 2 entered late, stage 3 planned",
			r: &model.Release{State: run, Stage: 2, StageTime: atp(2.5), Plan: plan, Timeline: []model.ReleaseEvent{
				ev(0, "create", "", draft, 0), ev(1, "start", draft, run, 1),
				func() model.ReleaseEvent { e := timed(2.5, 2, "advance", run, run, 2); e.Late = true; return e }(),
			}},
			want: []release.StepRecord{
				{Stage: 1, Name: "staff", Gate: "manual", State: release.StepDone, EnterTime: atp(1), ExitTime: atp(2.5), LeadTimeSeconds: 5400},
				{Stage: 2, Name: "ten", Gate: "wait", State: release.StepCurrent, PlannedTime: atp(2), EnterTime: atp(2.5), DelaySeconds: 1800, Late: true},
				{Stage: 3, Name: "all", Gate: "wait", State: release.StepPending, PlannedTime: atp(3.5)},
			},
		},
		{
			name: "rolled back at stage 1",
			r: &model.Release{State: back, Stage: 1, Plan: plan, Timeline: []model.ReleaseEvent{
				ev(0, "create", "", draft, 0), ev(1, "start", draft, run, 1), ev(1.5, "roll_back", run, back, 1),
				ev(3, "review", back, back, 1),
			}},
			want: []release.StepRecord{
				{Stage: 1, Name: "staff", Gate: "manual", State: release.StepDone, EnterTime: atp(1), ExitTime: atp(1.5), LeadTimeSeconds: 1800},
				{Stage: 2, Name: "ten", Gate: "wait", State: release.StepSkipped},
				{Stage: 3, Name: "all", Gate: "wait", State: release.StepSkipped},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := jsonString(t, release.Steps(tc.r)), jsonString(t, tc.want); got != want {
				t.Errorf("Steps() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestStepsOfACompletedRelease(t *testing.T) {
	r := &model.Release{State: done, Stage: 1, Plan: []model.Stage{{Weight: 100000}}, Timeline: []model.ReleaseEvent{
		ev(0, "start", draft, run, 1), ev(2, "complete", run, done, 1),
	}}
	got := release.Steps(r)
	if len(got) != 1 || got[0].State != release.StepDone || got[0].LeadTimeSeconds != (2*time.Hour).Seconds() {
		t.Errorf("Steps() = %+v, want one done stage of 2 h", got)
	}
}
