package console

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

var rt0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func ts(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(rt0.Add(d)) }

// sampleRelease is a three-stage release in state at stage, with next as
// its next step and the timeline of events.
func sampleRelease(state string, stage int32, next *pb.ReleaseNextStep, events ...*pb.ReleaseEvent) *pb.Release {
	return &pb.Release{
		Id: "spring", Title: "Spring launch", Environment: "production", State: state, Stage: stage, Next: next,
		Items:         []*pb.ReleaseItem{{Flag: "new-checkout", Variant: "on"}, {Component: "ios-app", Version: "2.4.0"}},
		RequesterName: "alice",
		Plan: []*pb.ReleaseStage{
			{Name: "staff", Segments: []string{"staff"}, Weight: 100000, Gate: &pb.ReleaseGate{Manual: &pb.ManualGate{}}},
			{Name: "ten", Weight: 10000, Gate: &pb.ReleaseGate{Approval: &pb.ApprovalGate{}}, MinConvergence: 0.95},
			{Name: "all", Weight: 100000, Gate: &pb.ReleaseGate{Wait: &pb.WaitGate{Duration: "24h"}}},
		},
		Timeline: events,
	}
}

func event(action, from, to string, stage int32, d time.Duration) *pb.ReleaseEvent {
	return &pb.ReleaseEvent{Action: action, FromState: from, ToState: to, Stage: stage, Time: ts(d), ActorName: "alice"}
}

func TestReleaseRowsGroupByStateInOrder(t *testing.T) {
	rows := releaseRows([]*pb.Release{
		{Id: "a", State: releaseDraft},
		{Id: "b", State: releaseCompleted},
		{Id: "c", State: releaseInProgress, Stage: 2, Plan: []*pb.ReleaseStage{{Name: "one", Weight: 5000}, {Name: "two", Weight: 20000}}},
		{Id: "d", State: releaseDraft},
		{Id: "e", State: releaseRolledBack, Stage: 1, Plan: []*pb.ReleaseStage{{Name: "one", Weight: 5000}}},
	})
	var got []string
	for _, g := range rows {
		ids := []string{}
		for _, r := range g.Rows {
			ids = append(ids, r.ID)
		}
		got = append(got, g.Key+":"+strings.Join(ids, ","))
	}
	want := []string{"IN_PROGRESS:c", "DRAFT:a,d", "COMPLETED:b", "ROLLED_BACK:e"}
	if !slices.Equal(got, want) {
		t.Errorf("releaseRows = %v, want %v", got, want)
	}
	if r := rows[0].Rows[0]; r.Stage != "2 of 2 · two" || r.Audience != "20 % of everyone" {
		t.Errorf("row c = stage %q audience %q, want 2 of 2 · two, 20 %% of everyone", r.Stage, r.Audience)
	}
	if r := rows[3].Rows[0]; r.Stage != "ended at 1 of 1 · one" || r.Audience != "" {
		t.Errorf("rolled-back row e = stage %q audience %q, want ended at 1 of 1 · one and no audience", r.Stage, r.Audience)
	}
}

func TestAudienceWords(t *testing.T) {
	cases := []struct {
		name   string
		stages []*pb.ReleaseStage
		want   string
	}{
		{"none", nil, "nobody"},
		{"everyone", []*pb.ReleaseStage{{Weight: 5000}, {Weight: 25000}}, "25 % of everyone"},
		{"segments and everyone", []*pb.ReleaseStage{{Segments: []string{"staff"}, Weight: 100000}, {Weight: 500}}, "0.5 % of everyone + 100 % of staff"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := audienceWords(tc.stages); got != tc.want {
				t.Errorf("audienceWords = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReleaseActionsFollowStateAndRole(t *testing.T) {
	approval := &pb.ReleaseNextStep{Stage: 2, Gate: "approval", ApprovalsNeeded: 1}
	approved := &pb.ReleaseNextStep{Stage: 2, Gate: "approval", ApprovalsNeeded: 1, ApprovalsGiven: 1}
	waiting := &pb.ReleaseNextStep{Stage: 3, Gate: "wait", DueTime: ts(time.Hour)}
	complete := &pb.ReleaseNextStep{Stage: 4, Gate: "complete"}
	requested := func(r *pb.Release, key, principal string) *pb.Release {
		r.Requester, r.RequesterPrincipal = key, principal
		return r
	}
	approvedBy := func(r *pb.Release, key, principal string) *pb.Release {
		r.Timeline = append(r.Timeline, &pb.ReleaseEvent{Action: "approve", Stage: r.Stage, Actor: key, ActorPrincipal: principal})
		return r
	}
	twoApprovals := &pb.ReleaseNextStep{Stage: 2, Gate: "approval", ApprovalsNeeded: 2, ApprovalsGiven: 1}
	cases := []struct {
		name       string
		r          *pb.Release
		canRelease bool
		want       []string
	}{
		{"viewer sees none", sampleRelease(releaseInProgress, 1, approval), false, nil},
		{"editor sees none", sampleRelease(releaseDraft, 0, nil), false, nil},
		{"draft", sampleRelease(releaseDraft, 0, nil), true, []string{"start", "cancel"}},
		{"awaiting approval", sampleRelease(releaseInProgress, 1, approval), true, []string{"approve", "pause", "rollback"}},
		{"approved", sampleRelease(releaseInProgress, 1, approved), true, []string{"advance", "pause", "rollback"}},
		{"timed gate", sampleRelease(releaseInProgress, 2, waiting), true, []string{"pause", "rollback"}},
		{"last stage", sampleRelease(releaseInProgress, 3, complete), true, []string{"advance", "pause", "rollback"}},
		{"paused", sampleRelease(releasePaused, 2, nil), true, []string{"resume", "rollback"}},
		{"scheduled", sampleRelease(releaseScheduled, 0, nil), true, []string{"pause", "cancel"}},
		{"completed", sampleRelease(releaseCompleted, 3, nil), true, nil},
		{"rolled back", sampleRelease(releaseRolledBack, 2, nil), true, nil},
		{"requested with this key", requested(sampleRelease(releaseInProgress, 1, approval), "key-bob-1", "bob"), true, []string{"pause", "rollback"}},
		{"requested with another key of this principal", requested(sampleRelease(releaseInProgress, 1, approval), "key-bob-2", "bob"), true, []string{"pause", "rollback"}},
		{"requested by someone else", requested(sampleRelease(releaseInProgress, 1, approval), "key-alice-1", "alice"), true, []string{"approve", "pause", "rollback"}},
		{"approved already", approvedBy(sampleRelease(releaseInProgress, 1, twoApprovals), "key-bob-1", "bob"), true, []string{"pause", "rollback"}},
		{"approved already with another key", approvedBy(sampleRelease(releaseInProgress, 1, twoApprovals), "key-bob-2", "bob"), true, []string{"pause", "rollback"}},
		{"someone else approved", approvedBy(sampleRelease(releaseInProgress, 1, twoApprovals), "key-carol", "carol"), true, []string{"approve", "pause", "rollback"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			// The viewer is bob with key key-bob-1.
			u := &User{CanRelease: tc.canRelease, KeyID: "key-bob-1", Principal: "bob"}
			for _, a := range releaseActions(tc.r, u) {
				got = append(got, a.Name)
				if a.Confirm == "" || !releaseActionNames[a.Name] {
					t.Errorf("action %q has no confirmation or is not postable", a.Name)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("releaseActions = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReleaseActionConfirmationsNameTheConsequence(t *testing.T) {
	r := sampleRelease(releaseInProgress, 2, &pb.ReleaseNextStep{Stage: 3, Gate: "manual"})
	want := map[string]string{
		"advance":  "Advance spring to all: the audience in production grows to 100 % of everyone + 100 % of staff.",
		"pause":    "Pause spring: its current audience in production keeps the release; timed gates wait until it resumes.",
		"rollback": "Roll back spring: in one revision, everyone in production (10 % of everyone + 100 % of staff now) loses the release; its 2 item(s) serve what their own targeting serves. This ends the release.",
	}
	for _, a := range releaseActions(r, &User{CanRelease: true}) {
		if a.Confirm != want[a.Name] {
			t.Errorf("%s confirms %q, want %q", a.Name, a.Confirm, want[a.Name])
		}
	}
	if r.Next.Gate = "complete"; !strings.HasPrefix(releaseActions(r, &User{CanRelease: true})[0].Confirm, "Complete spring: the final audience's targeting is written") {
		t.Errorf("complete confirmation = %q", releaseActions(r, &User{CanRelease: true})[0].Confirm)
	}
}

func TestAudiencePointsFollowTheTimeline(t *testing.T) {
	r := sampleRelease(releaseRolledBack, 2, nil,
		event("create", "", releaseDraft, 0, 0),
		event("start", releaseDraft, releaseInProgress, 1, time.Hour),
		event("approve", releaseInProgress, releaseInProgress, 1, 2*time.Hour),
		event("advance", releaseInProgress, releaseInProgress, 2, 3*time.Hour),
		event("pause", releaseInProgress, releasePaused, 2, 4*time.Hour),
		event("roll_back", releasePaused, releaseRolledBack, 2, 5*time.Hour),
	)
	var got []string
	for _, p := range audiencePoints(r) {
		got = append(got, p.T.Sub(rt0).String()+"="+shareText(p.V))
	}
	want := []string{"1h0m0s=0 %", "3h0m0s=10 %", "5h0m0s=0 %"}
	if !slices.Equal(got, want) {
		t.Errorf("audiencePoints = %v, want %v", got, want)
	}
}

func shareText(v float64) string { return weightPercent(int32(v*100000 + 0.5)) }

func TestReleaseViewStagesAndCharts(t *testing.T) {
	r := sampleRelease(releaseInProgress, 2, &pb.ReleaseNextStep{Stage: 3, Gate: "wait", DueTime: ts(27 * time.Hour)},
		event("create", "", releaseDraft, 0, 0),
		event("start", releaseDraft, releaseInProgress, 1, time.Hour),
		event("advance", releaseInProgress, releaseInProgress, 2, 3*time.Hour),
	)
	// Entering stage 2 cleared the approvals; the timeline keeps them.
	r.Timeline = append(r.Timeline[:2], &pb.ReleaseEvent{Action: "approve", FromState: releaseInProgress, ToState: releaseInProgress,
		Stage: 1, Time: ts(2 * time.Hour), ActorName: "bob", Note: "lgtm"}, r.Timeline[2])
	r.Steps = []*pb.ReleaseStepRecord{
		{Stage: 1, State: "done", EnterTime: ts(time.Hour), ExitTime: ts(3 * time.Hour)},
		{Stage: 2, State: "current", EnterTime: ts(3 * time.Hour)},
		{Stage: 3, State: "pending", PlannedTime: ts(27 * time.Hour)},
	}
	r.Verification = []*pb.ReleaseStageVerification{{Stage: 2, Convergence: &pb.ReleaseConvergence{
		Revision: 7, Connected: 4, Converged: 3, Share: 0.75, Required: 0.95, Note: "waiting for 1 SDK",
	}}}
	v := releaseView(r, &User{}, rt0.Add(4*time.Hour))
	if len(v.Actions) != 0 || !v.Live {
		t.Errorf("viewer actions = %v, live = %v; want none, live", v.Actions, v.Live)
	}
	s2 := v.Stages[1]
	if s2.State != "current" || s2.Gate != "approval (1 by release-manager)" || s2.MinConvergence != "95 %" ||
		len(s2.Approvals) != 1 || !strings.HasPrefix(s2.Approvals[0], "bob at 2026-03-01 11:00 UTC: lgtm") {
		t.Errorf("stage 2 = %+v", s2)
	}
	if c := s2.Convergence; c == nil || c.Share != "75 %" || c.Percent != 75 || c.Met || c.Converged != 3 {
		t.Errorf("stage 2 convergence = %+v, want 3 of 4, 75 %%, not met", c)
	}
	if v.Stages[2].Planned != "2026-03-02 12:00 UTC" {
		t.Errorf("stage 3 planned = %q", v.Stages[2].Planned)
	}
	if v.Next != "wait → all at 2026-03-02 12:00 UTC" {
		t.Errorf("next = %q", v.Next)
	}
	for _, want := range []string{"approved by bob", "Stage timeline of spring"} {
		if !strings.Contains(string(v.Timeline), want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
	if v.AudienceDesc != "Share of everyone: 0 % from 2026-03-01 10:00 UTC; 10 % from 2026-03-01 12:00 UTC." {
		t.Errorf("audience desc = %q", v.AudienceDesc)
	}
	if got := v.Events[3]; got.Action != "advance" || got.Change != "stage 2" || got.Actor != "alice" {
		t.Errorf("event 3 = %+v", got)
	}
}

func TestReleaseViewShowsTheStageGuardrail(t *testing.T) {
	r := sampleRelease(releaseInProgress, 1, nil)
	r.GuardrailResult = &pb.MetricResult{
		Metric: "purchase", Kind: "conversion", Guardrail: &pb.Guardrail{Metric: "purchase", Threshold: 0.05}, Tripped: []string{"treatment"},
		Variants: []*pb.MetricVariantResult{
			{Variant: "control", Units: 200, Conversions: 40, Rate: f64(0.2)},
			{Variant: "treatment", Units: 200, Conversions: 20, Rate: f64(0.1), RelLift: f64(-0.5), RelCiLow: f64(-0.7), RelCiHigh: f64(-0.3), PValue: f64(0.001), Outcome: "worse"},
		},
	}
	v := releaseView(r, &User{}, rt0)
	g := v.Guardrail
	if g == nil || g.Role != "guardrail: must not get worse than 5 %" || g.Tripped != "⚠ Guardrail tripped by treatment" {
		t.Fatalf("guardrail = %+v", g)
	}
	if row := g.Rows[1]; row.Outcome != "▼ worse" || row.RelLift != "−50 %" {
		t.Errorf("treatment row = %+v", row)
	}
	if v := releaseView(sampleRelease(releaseInProgress, 1, nil), &User{}, rt0); v.Guardrail != nil {
		t.Errorf("a stage without a guardrail shows %+v", v.Guardrail)
	}
}
