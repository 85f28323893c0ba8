package release_test

import (
	"encoding/json"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// mobileModel is a push model: staff, then 10 % after an approval by an
// admin, then everyone; every stage needs 90 % convergence.
func mobileModel() *model.ReleaseModel {
	return &model.ReleaseModel{
		Key: "mobile-staged", Mode: model.ModePush,
		Stages: []model.Stage{
			{Name: "staff", Segments: []string{"staff"}, Weight: 100000},
			{Name: "ten", Weight: 10000, Gate: &model.Gate{Approval: &model.ApprovalGate{}}},
			{Name: "all", Weight: 100000, MinConvergence: 0.5},
		},
		Verification: &model.ModelVerification{MinConvergence: 0.9, ResolutionCheck: true},
		Approval:     &model.ApprovalGate{Approvers: model.ApproverAdmin, Count: 2},
	}
}

func TestCreateFromModelFillsThePlan(t *testing.T) {
	e := newEnv(t)
	e.update(root, func(tx *domain.Tx) error { return tx.CreateReleaseModel("shop", mobileModel()) })
	_, meta, _ := e.project().ReleaseModel("mobile-staged")
	e.create(`{"id": "app-2", "environment": "production", "model": "mobile-staged",
	  "items": [{"component": "app", "version": "2.0.0"}]}`)
	r := e.release("app-2")
	wantPlan := []model.Stage{
		{Name: "staff", Segments: []string{"staff"}, Weight: 100000, MinConvergence: 0.9},
		{Name: "ten", Weight: 10000, MinConvergence: 0.9, Gate: &model.Gate{Approval: &model.ApprovalGate{Approvers: "admin", Count: 2}}},
		{Name: "all", Weight: 100000, MinConvergence: 0.5},
	}
	if jsonString(t, r.Plan) != jsonString(t, wantPlan) {
		t.Errorf("plan %s, want %s", jsonString(t, r.Plan), jsonString(t, wantPlan))
	}
	if r.Model != "mobile-staged" || r.ModelEtag != meta.Etag || r.Mode != model.ModePush || !r.ResolutionCheck {
		t.Errorf("release model %q etag %q mode %q resolution check %v; want mobile-staged, %q, push, true", r.Model, r.ModelEtag, r.Mode, r.ResolutionCheck, meta.Etag)
	}
	if m, _, _ := e.project().ReleaseModel("mobile-staged"); m.Stages[1].Gate.Approval.Count != 0 {
		t.Error("creating a release changed the model's template")
	}
}

func TestCreateFromModelKeepsWhatTheReleaseSets(t *testing.T) {
	e := newEnv(t)
	e.update(root, func(tx *domain.Tx) error { return tx.CreateReleaseModel("shop", mobileModel()) })
	e.create(`{"id": "app-2", "environment": "production", "model": "mobile-staged", "mode": "pull",
	  "plan": [{"name": "everyone", "weight": 100000}]}`)
	r := e.release("app-2")
	if r.Mode != model.ModePull || len(r.Plan) != 1 || r.Plan[0].Name != "everyone" {
		t.Errorf("release mode %q plan %+v, want its own pull mode and one-stage plan", r.Mode, r.Plan)
	}
}

func TestDraftFromModelStaysAdjustable(t *testing.T) {
	e := newEnv(t)
	e.update(root, func(tx *domain.Tx) error { return tx.CreateReleaseModel("shop", mobileModel()) })
	e.create(`{"id": "app-2", "environment": "production", "model": "mobile-staged"}`)
	r := e.release("app-2")
	var adjusted model.Release
	if err := json.Unmarshal([]byte(jsonString(t, r)), &adjusted); err != nil {
		t.Fatal(err)
	}
	adjusted.Plan = adjusted.Plan[1:]
	adjusted.Model = ""
	e.update(alice, func(tx *domain.Tx) error { return release.Update(tx, "shop", &adjusted, "") })
	if r = e.release("app-2"); len(r.Plan) != 2 || r.Model != "mobile-staged" {
		t.Errorf("after Update: %d stages, model %q; want 2 and the model kept", len(r.Plan), r.Model)
	}
	adjusted.Model = "service-canary"
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Update(tx, "shop", &adjusted, "") }); !isPrecondition(err) {
		t.Errorf("Update(another model) = %v, want a failed precondition", err)
	}
}

func TestCreateFromUnknownModelIsAFieldError(t *testing.T) {
	e := newEnv(t)
	r := model.Release{ID: "x", Environment: "production", Model: "nope"}
	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Create(tx, "shop", &r) })
	if !isFieldError("model")(err) {
		t.Errorf("Create(model nope) = %v, want a field error at model", err)
	}
}
