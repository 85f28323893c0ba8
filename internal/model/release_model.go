package model

import (
	"fmt"
	"slices"
)

// ReleaseModel is a project's reusable approach to releasing, such as
// "mobile-staged", "service-canary" or "emergency-fix": the stage template
// a release created from it starts with, its push/pull mode, the
// verification it requires and who may approve its approval gates.
// Release models are not part of the declarative document.
type ReleaseModel struct {
	Key         string      `json:"key"`
	Title       string      `json:"title,omitempty"`
	Description string      `json:"description,omitempty"`
	Mode        ReleaseMode `json:"mode,omitempty"`
	// Stages is the stage template: names, audiences, gates and the
	// convergence each stage needs.
	Stages       []Stage            `json:"stages"`
	Verification *ModelVerification `json:"verification,omitempty"`
	// Approval says who approves the template's approval gates: each
	// approval gate that names no approvers or count takes them from here.
	Approval *ApprovalGate `json:"approval,omitempty"`
}

// ModelVerification is the verification a release model requires.
type ModelVerification struct {
	// MinConvergence is the share of connected SDKs (0 to 1) every stage
	// that sets none must reach before the next gate opens.
	MinConvergence float64 `json:"min_convergence,omitempty"`
	// MinConnected is the number of connected SDKs every stage that sets
	// none needs before the next gate opens.
	MinConnected int `json:"min_connected,omitempty"`
	// ResolutionCheck requires the resolution check after each stage.
	ResolutionCheck bool `json:"resolution_check,omitempty"`
}

// ValidateReleaseModel checks a release model on its own. It reports every
// problem with its path relative to the model ("stages[1].weight") as an
// Errors value, and nil for a valid model. Segments are not looked up: a
// release created from the model checks them when it starts.
func ValidateReleaseModel(m *ReleaseModel) error {
	var errs Errors
	if m == nil {
		errs.add("", "a release model is required")
		return errs
	}
	if !ValidKey(m.Key) {
		errs.add("key", "%q is not a valid key (pattern %s)", m.Key, KeyPattern)
	}
	switch m.Mode {
	case "", ModePull, ModePush:
	default:
		errs.add("mode", "unknown mode %q; want pull or push", m.Mode)
	}
	if len(m.Stages) == 0 {
		errs.add("stages", "a release model needs at least one stage")
	}
	names := map[string]int{}
	for i, s := range m.Stages {
		path := fmt.Sprintf("stages[%d]", i)
		validateStage(&errs, path, s)
		if s.Name == "" {
			continue
		}
		if j, dup := names[s.Name]; dup {
			errs.add(path+".name", "stage name %q is already stages[%d]'s", s.Name, j)
		}
		names[s.Name] = i
	}
	if v := m.Verification; v != nil && (v.MinConvergence < 0 || v.MinConvergence > 1) {
		errs.add("verification.min_convergence", "%v is not a share in [0, 1]", v.MinConvergence)
	}
	if v := m.Verification; v != nil && v.MinConnected < 0 {
		errs.add("verification.min_connected", "%d is negative", v.MinConnected)
	}
	if a := m.Approval; a != nil {
		validateApproval(&errs, "approval", a)
	}
	return errs.err()
}

// Plan returns a new copy of the model's stage template as a release plan:
// approval gates without approvers or count take the model's, and stages
// without a minimum convergence the model's.
func (m *ReleaseModel) Plan() []Stage {
	plan := make([]Stage, len(m.Stages))
	for i, s := range m.Stages {
		plan[i] = cloneStage(s)
		if v := m.Verification; v != nil && plan[i].MinConvergence == 0 {
			plan[i].MinConvergence = v.MinConvergence
		}
		if v := m.Verification; v != nil && plan[i].MinConnected == 0 {
			plan[i].MinConnected = v.MinConnected
		}
		g := plan[i].Gate
		if g == nil || g.Approval == nil || m.Approval == nil {
			continue
		}
		if g.Approval.Approvers == "" {
			g.Approval.Approvers = m.Approval.Approvers
		}
		if g.Approval.Count == 0 {
			g.Approval.Count = m.Approval.Count
		}
	}
	return plan
}

// cloneStage returns a deep copy of s.
func cloneStage(s Stage) Stage {
	s.Segments = slices.Clone(s.Segments)
	g := s.Gate
	if g == nil {
		return s
	}
	c := Gate{}
	if g.Manual != nil {
		c.Manual = &ManualGate{}
	}
	if g.Wait != nil {
		w := *g.Wait
		c.Wait = &w
	}
	if g.At != nil {
		a := *g.At
		c.At = &a
	}
	if g.Approval != nil {
		a := *g.Approval
		c.Approval = &a
	}
	s.Gate = &c
	return s
}
