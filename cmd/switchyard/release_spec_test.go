package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

func TestParseStage(t *testing.T) {
	at := time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name, spec string
		want       *pb.ReleaseStage
	}{
		{"name only takes everyone", "all", &pb.ReleaseStage{Name: "all", Weight: 100000}},
		{"segments without weight take all of them", "staff:segments=staff,qa",
			&pb.ReleaseStage{Name: "staff", Segments: []string{"staff", "qa"}, Weight: 100000}},
		{"weight as a percentage", "de-5:segments=germany:weight=5%",
			&pb.ReleaseStage{Name: "de-5", Segments: []string{"germany"}, Weight: 5000}},
		{"fractional percentage", "weight=12.345%", &pb.ReleaseStage{Weight: 12345}},
		{"no name", "weight=0%:gate=manual", &pb.ReleaseStage{Gate: &pb.ReleaseGate{Manual: &pb.ManualGate{}}}},
		{"wait gate", "later:gate=wait=1h30m",
			&pb.ReleaseStage{Name: "later", Weight: 100000, Gate: &pb.ReleaseGate{Wait: &pb.WaitGate{Duration: "1h30m"}}}},
		{"at gate keeps the time's colons", "launch:gate=at=2030-03-01T09:00:00Z:weight=50%",
			&pb.ReleaseStage{Name: "launch", Weight: 50000, Gate: &pb.ReleaseGate{At: &pb.AtGate{Time: timestamppb.New(at)}}}},
		{"approval gate", "x:gate=approval", &pb.ReleaseStage{Name: "x", Weight: 100000, Gate: &pb.ReleaseGate{Approval: &pb.ApprovalGate{}}}},
		{"approval gate with role and count", "x:gate=approval=admin,2",
			&pb.ReleaseStage{Name: "x", Weight: 100000, Gate: &pb.ReleaseGate{Approval: &pb.ApprovalGate{Approvers: "admin", Count: 2}}}},
		{"convergence", "x:convergence=95%", &pb.ReleaseStage{Name: "x", Weight: 100000, MinConvergence: 0.95}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStage(tc.spec)
			if err != nil {
				t.Fatalf("parseStage(%q) = %v", tc.spec, err)
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("parseStage(%q) = %v, want %v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestParseStageRejects(t *testing.T) {
	tests := []struct{ name, spec, want string }{
		{"weight without percent sign", "x:weight=5", "want a percentage"},
		{"weight above 100%", "x:weight=101%", "want a percentage"},
		{"weight finer than the buckets", "x:weight=0.0001%", "finer than"},
		{"unknown part", "x:audience=eu", `unknown part "audience=eu"`},
		{"part given twice", "x:weight=5%:weight=6%", "weight given twice"},
		{"unknown gate", "x:gate=later", `gate "later"`},
		{"bad duration", "x:gate=wait=soon", "positive duration"},
		{"bad time", "x:gate=at=tomorrow", "RFC 3339"},
		{"bad approval", "x:gate=approval=boss", "count, release-manager or admin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStage(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseStage(%q) = %v, want an error containing %q", tc.spec, err, tc.want)
			}
		})
	}
}

func TestParseItem(t *testing.T) {
	tests := []struct {
		name, spec string
		want       itemSpec
		wantErr    bool
	}{
		{"key left to the server", "new-checkout=on", itemSpec{"", "new-checkout", "on"}, false},
		{"flag prefix", "flag:banner=new", itemSpec{"flag", "banner", "new"}, false},
		{"component prefix", "component:ios-app=2.4.0", itemSpec{"component", "ios-app", "2.4.0"}, false},
		{"no value", "ios-app", itemSpec{}, true},
		{"empty value", "ios-app=", itemSpec{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseItem(tc.spec)
			if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
				t.Errorf("parseItem(%q) = %+v, %v; want %+v (error %v)", tc.spec, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseContext(t *testing.T) {
	got, err := parseContext([]string{"targetingKey=u1", "age:=42", "beta:=true", "tags:=[\"a\",\"b\"]", "note=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"targetingKey": "u1", "age": 42.0, "beta": true, "tags": []any{"a", "b"}, "note": "a=b"}
	for k, v := range want {
		if g := got[k]; !equalJSON(g, v) {
			t.Errorf("parseContext: %s = %#v, want %#v", k, g, v)
		}
	}
	if _, err := parseContext([]string{"age:=forty"}); err == nil {
		t.Error("parseContext(age:=forty) succeeded, want an error")
	}
}

// equalJSON compares decoded JSON values.
func equalJSON(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}
