package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// verifiedRelease is a running release whose second stage converged
// short of its requirement and whose resolution check found a mismatch.
func verifiedRelease() *pb.Release {
	t0 := time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(t0.Add(d)) }
	return &pb.Release{
		Id: "spring", Environment: "production", State: "IN_PROGRESS", Stage: 2,
		Plan: []*pb.ReleaseStage{
			{Name: "staff", Segments: []string{"staff"}, Weight: 100000},
			{Name: "eu-10", Segments: []string{"eu"}, Weight: 10000, Gate: &pb.ReleaseGate{Wait: &pb.WaitGate{Duration: "1h"}}, MinConvergence: 0.95},
			{Name: "all", Weight: 100000, Gate: &pb.ReleaseGate{At: &pb.AtGate{Time: ts(48 * time.Hour)}}},
		},
		Steps: []*pb.ReleaseStepRecord{
			{Stage: 1, State: "done", EnterTime: ts(0), ExitTime: ts(time.Hour + 3*time.Minute), LeadTimeSeconds: 3780},
			{Stage: 2, State: "current", PlannedTime: ts(time.Hour), EnterTime: ts(time.Hour + 3*time.Minute), DelaySeconds: 180, Late: true},
			{Stage: 3, State: "pending"},
		},
		Verification: []*pb.ReleaseStageVerification{
			{Stage: 1, Convergence: &pb.ReleaseConvergence{Connected: 4, Converged: 4, Share: 1, Met: true},
				Resolution: &pb.ReleaseResolutionCheck{Passed: true, Contexts: 202, Evaluations: 606}},
			{Stage: 2, Convergence: &pb.ReleaseConvergence{Connected: 4, Converged: 3, Share: 0.75, Required: 0.95},
				Resolution: &pb.ReleaseResolutionCheck{Revision: 17, Contexts: 222, Evaluations: 666, Mismatches: 1,
					FirstMismatches: []*pb.ReleaseResolutionMismatch{{Item: "flags/banner", TargetingKey: "verify-3", InAudience: true, Want: "new (TARGETING_MATCH, release:spring)", Got: "old (DEFAULT, default)"}}}},
		},
	}
}

func TestReleaseStatusShowsVerification(t *testing.T) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	writeReleaseStatus(tw, verifiedRelease())
	tw.Flush()
	out := b.String()
	tests := []struct{ name, prefix, want string }{
		{"done stage with lead time and checks", "1 ", "1 staff done staff 100% manual - 2030-03-01 09:00:00Z 1h3m0s 4/4 (100%) passed (202 contexts, 606 evaluations)"},
		{"late stage, convergence short, failed check", "2 ", "2 eu-10 current eu 10% wait 1h 2030-03-01 10:00:00Z 2030-03-01 10:03:00Z (+3m0s, late) - 3/4 (75%), need 95%: not met FAILED (1 of 666 evaluations)"},
		{"pending stage planned by its at gate", "3 ", "3 all pending everyone 100% at 2030-03-03 09:00:00Z 2030-03-03 09:00:00Z - - - -"},
		{"the mismatch", "stage 2 check", "stage 2 check at revision 17: flags/banner for verify-3 (inside the audience): want new (TARGETING_MATCH, release:spring), got old (DEFAULT, default)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(strings.Fields(lineWith(out, tc.prefix)), " "); got != tc.want {
				t.Errorf("line %q\ngot  %q\nwant %q\n%s", tc.prefix, got, tc.want, out)
			}
		})
	}
}

func TestByText(t *testing.T) {
	tests := []struct{ key, principal, want string }{
		{"alice", "alice", "alice"},
		{"alice-laptop", "alice", "alice-laptop (alice)"},
		{"scheduler", "", "scheduler"},
		{"", "", "-"},
	}
	for _, tc := range tests {
		if got := byText(tc.key, tc.principal); got != tc.want {
			t.Errorf("byText(%q, %q) = %q, want %q", tc.key, tc.principal, got, tc.want)
		}
	}
}
