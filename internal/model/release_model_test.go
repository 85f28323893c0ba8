package model

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func validModel() *ReleaseModel {
	return &ReleaseModel{
		Key: "service-canary", Mode: ModePull,
		Stages: []Stage{
			{Name: "canary", Weight: 5000},
			{Name: "all", Weight: RolloutTotal, Gate: &Gate{Approval: &ApprovalGate{}}},
		},
		Verification: &ModelVerification{MinConvergence: 0.9},
		Approval:     &ApprovalGate{Approvers: ApproverReleaseManager, Count: 2},
	}
}

func TestValidateReleaseModel(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *ReleaseModel)
		paths  []string
	}{
		{"valid", func(*ReleaseModel) {}, nil},
		{"bad key", func(m *ReleaseModel) { m.Key = "a/b" }, []string{"key"}},
		{"unknown mode", func(m *ReleaseModel) { m.Mode = "shove" }, []string{"mode"}},
		{"no stages", func(m *ReleaseModel) { m.Stages = nil }, []string{"stages"}},
		{"weight out of range", func(m *ReleaseModel) { m.Stages[0].Weight = -1 }, []string{"stages[0].weight"}},
		{"duplicate stage name", func(m *ReleaseModel) { m.Stages[1].Name = "canary" }, []string{"stages[1].name"}},
		{"two gates", func(m *ReleaseModel) { m.Stages[1].Gate.Manual = &ManualGate{} }, []string{"stages[1].gate"}},
		{"convergence above 1", func(m *ReleaseModel) { m.Verification.MinConvergence = 1.5 }, []string{"verification.min_convergence"}},
		{"unknown approver role", func(m *ReleaseModel) { m.Approval.Approvers = "editor" }, []string{"approval.approvers"}},
		{"too many approvals", func(m *ReleaseModel) { m.Approval.Count = MaxApprovals + 1 }, []string{"approval.count"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := validModel()
			tc.change(m)
			if got := errorPaths(ValidateReleaseModel(m)); !reflect.DeepEqual(got, tc.paths) {
				t.Errorf("ValidateReleaseModel() paths = %v, want %v", got, tc.paths)
			}
		})
	}
}

func TestReleaseModelPlanAppliesDefaultsToACopy(t *testing.T) {
	m := validModel()
	m.Stages[0].Segments = []string{"staff"}
	plan := m.Plan()
	want := []Stage{
		{Name: "canary", Segments: []string{"staff"}, Weight: 5000, MinConvergence: 0.9},
		{Name: "all", Weight: RolloutTotal, MinConvergence: 0.9, Gate: &Gate{Approval: &ApprovalGate{Approvers: ApproverReleaseManager, Count: 2}}},
	}
	if !reflect.DeepEqual(plan, want) {
		t.Errorf("Plan() = %+v, want %+v", plan, want)
	}
	plan[0].Segments[0] = "changed"
	if m.Stages[0].Segments[0] != "staff" || m.Stages[1].Gate.Approval.Count != 0 {
		t.Error("Plan() shares memory with the model")
	}
}

func TestValidateIncidentAndReview(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		paths []string
	}{
		{"valid incident", ValidateIncident(&Incident{Severity: SeverityHigh, Note: "n"}), nil},
		{"incident without severity or note", ValidateIncident(&Incident{}), []string{"severity", "note"}},
		{"incident with a long note", ValidateIncident(&Incident{Severity: SeverityLow, Note: strings.Repeat("x", MaxRecordText+1)}), []string{"note"}},
		{"valid review", ValidateReview(&Review{Outcome: OutcomeFailure}), nil},
		{"review with an unknown outcome", ValidateReview(&Review{Outcome: "ok"}), []string{"outcome"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorPaths(tc.err); !reflect.DeepEqual(got, tc.paths) {
				t.Errorf("paths = %v, want %v", got, tc.paths)
			}
		})
	}
}

// errorPaths lists the paths of a model.Errors; nil for nil.
func errorPaths(err error) []string {
	var fes Errors
	if !errors.As(err, &fes) {
		return nil
	}
	var out []string
	for _, fe := range fes {
		out = append(out, fe.Path)
	}
	return out
}
