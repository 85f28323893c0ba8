package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/bootstrap"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// canaryModel is a release model: staff, then 10 % an hour later, then
// everyone by hand.
const canaryModel = `{"key": "canary", "title": "Service canary", "mode": "pull",
  "stages": [
    {"name": "staff", "segments": ["staff"], "weight": 100000},
    {"name": "ten", "weight": 10000, "gate": {"wait": {"duration": "1h"}}},
    {"name": "all", "weight": 100000}
  ],
  "approval": {"approvers": "release-manager", "count": 1}}`

// checkedModel is a one-stage model requiring the resolution check.
const checkedModel = `{"key": "checked", "stages": [{"name": "all", "weight": 100000}],
  "verification": {"resolution_check": true}}`

const modelsPath = "/api/v1/projects/default/release-models"

func TestReleaseModelCRUD(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	if r := rs.as(t, keys["viewer"], "POST", modelsPath, canaryModel); r.status != http.StatusForbidden {
		t.Errorf("create as viewer = %d %s, want 403", r.status, r.body)
	}
	created := rs.mustAs(t, keys["editor"], "POST", modelsPath, canaryModel)
	if created["etag"] == "" || len(created["stages"].([]any)) != 3 || created["title"] != "Service canary" {
		t.Fatalf("created model = %v", created)
	}
	got := rs.mustAs(t, keys["viewer"], "GET", modelsPath+"/canary", nil)
	if got["etag"] != created["etag"] {
		t.Errorf("GET etag %v, want %v", got["etag"], created["etag"])
	}
	if list := rs.mustAs(t, keys["viewer"], "GET", modelsPath, nil); len(list["release_models"].([]any)) != 1 {
		t.Errorf("list = %v, want one model", list)
	}
	patched := rs.mustAs(t, keys["editor"], "PATCH", modelsPath+"/canary", `{"description": "the default for services", "etag": "`+created["etag"].(string)+`"}`)
	if patched["description"] != "the default for services" || len(patched["stages"].([]any)) != 3 || patched["etag"] == created["etag"] {
		t.Errorf("after PATCH: %v, want the description changed, the stages kept and a new etag", patched)
	}
	if r := rs.as(t, keys["editor"], "PATCH", modelsPath+"/canary", `{"title": "x", "etag": "`+created["etag"].(string)+`"}`); r.status != http.StatusConflict {
		t.Errorf("PATCH with a stale etag = %d %s, want 409", r.status, r.body)
	}
	rs.mustAs(t, keys["editor"], "DELETE", modelsPath+"/canary", nil)
	if r := rs.as(t, keys["viewer"], "GET", modelsPath+"/canary", nil); r.status != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d", r.status)
	}
}

func TestReleaseModelValidationNamesTheField(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	tests := []struct {
		name, body, field string
	}{
		{"weight out of range", `{"key": "m", "stages": [{"weight": 100001}]}`, "release_model.stages[0].weight"},
		{"no stages", `{"key": "m"}`, "release_model.stages"},
		{"bad wait", `{"key": "m", "stages": [{"weight": 1, "gate": {"wait": {"duration": "soon"}}}]}`, "release_model.stages[0].gate.wait.duration"},
		{"unknown approver", `{"key": "m", "stages": [{"weight": 1}], "approval": {"approvers": "editor"}}`, "release_model.approval.approvers"},
		{"bad key", `{"key": "-m", "stages": [{"weight": 1}]}`, "release_model.key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rs.admin(t, "POST", modelsPath, tc.body)
			if r.status != http.StatusBadRequest || r.json(t)["field"] != tc.field {
				t.Errorf("create = %d %s, want 400 naming %s", r.status, r.body, tc.field)
			}
		})
	}
	if list := rs.mustAdmin(t, "GET", modelsPath, nil); list["release_models"] != nil {
		t.Errorf("invalid models were stored: %v", list)
	}
}

func TestReleaseModelWritesKeepTheRevision(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	before := rs.revision(t)
	rs.mustAdmin(t, "POST", modelsPath, canaryModel)
	if after := rs.revision(t); after != before {
		t.Errorf("creating a model moved the revision from %s to %s", before, after)
	}
}

func TestReleaseCreatedFromAModel(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	model := rs.mustAdmin(t, "POST", modelsPath, canaryModel)
	r := rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "a", "environment": "production",
	  "model": "canary", "release_notes": "n", "items": [{"flag": "new-checkout", "variant": "on"}]}`)
	plan := r["plan"].([]any)
	if r["model"] != "canary" || r["model_etag"] != model["etag"] || r["mode"] != "pull" || len(plan) != 3 {
		t.Fatalf("release from model = %v", r)
	}
	if g := plan[1].(map[string]any)["gate"].(map[string]any)["wait"]; fmt.Sprint(g) != "map[duration:1h]" {
		t.Errorf("stage 2 gate wait = %v, want the template's 1h", g)
	}
	// The plan stays adjustable while the release is a draft.
	r = rs.mustAdmin(t, "PATCH", releasePath("a", ""), `{"plan": [{"name": "all", "weight": 100000}]}`)
	if len(r["plan"].([]any)) != 1 || r["model"] != "canary" {
		t.Errorf("after adjusting the plan: %v", r)
	}
	rs.mustAdmin(t, "POST", modelsPath, checkedModel)
	if r := rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "c", "environment": "production", "model": "checked"}`); r["resolution_check"] != true {
		t.Errorf("release from a model requiring the resolution check = %v", r)
	}
	bad := rs.admin(t, "POST", "/api/v1/projects/default/releases", `{"id": "b", "environment": "production", "model": "nope"}`)
	if bad.status != http.StatusBadRequest || bad.json(t)["field"] != "release.model" {
		t.Errorf("release from an unknown model = %d %s, want 400 naming release.model", bad.status, bad.body)
	}
}

func TestReleaseModelAndRecordRoleMatrix(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	models := pb.NewReleaseModelServiceClient(rs.conn)
	releases := pb.NewReleaseServiceClient(rs.conn)
	m := &pb.ReleaseModel{Key: "m", Stages: []*pb.ReleaseStage{{Weight: 1}}}
	calls := []struct {
		name string
		need string // the least role allowed
		call func(key string) error
	}{
		{"ListReleaseModels", "viewer", func(k string) error {
			_, err := models.ListReleaseModels(rpcContext(k), &pb.ListReleaseModelsRequest{Project: "default"})
			return err
		}},
		{"GetReleaseModel", "viewer", func(k string) error {
			_, err := models.GetReleaseModel(rpcContext(k), &pb.GetReleaseModelRequest{Project: "default", Key: "m"})
			return err
		}},
		{"CreateReleaseModel", "editor", func(k string) error {
			_, err := models.CreateReleaseModel(rpcContext(k), &pb.CreateReleaseModelRequest{Project: "default", ReleaseModel: m})
			return err
		}},
		{"UpdateReleaseModel", "editor", func(k string) error {
			_, err := models.UpdateReleaseModel(rpcContext(k), &pb.UpdateReleaseModelRequest{Project: "default", ReleaseModel: m})
			return err
		}},
		{"DeleteReleaseModel", "editor", func(k string) error {
			_, err := models.DeleteReleaseModel(rpcContext(k), &pb.DeleteReleaseModelRequest{Project: "default", Key: "none"})
			return err
		}},
		{"AddReleaseIncident", "release-manager", func(k string) error {
			_, err := releases.AddReleaseIncident(rpcContext(k), &pb.AddReleaseIncidentRequest{Project: "default", Id: "none", Incident: &pb.ReleaseIncident{Severity: "low", Note: "n"}})
			return err
		}},
		{"SetReleaseReview", "release-manager", func(k string) error {
			_, err := releases.SetReleaseReview(rpcContext(k), &pb.SetReleaseReviewRequest{Project: "default", Id: "none", Review: &pb.ReleaseReview{Outcome: "success"}})
			return err
		}},
		{"GetReleaseReport", "viewer", func(k string) error {
			_, err := releases.GetReleaseReport(rpcContext(k), &pb.GetReleaseReportRequest{Project: "default"})
			return err
		}},
	}
	rank := map[string]int{"viewer": 1, "editor": 2, "release-manager": 3, "rm": 3, "admin": 4}
	for _, c := range calls {
		for _, role := range []string{"viewer", "editor", "rm", "admin"} {
			t.Run(c.name+"/"+role, func(t *testing.T) {
				err := c.call(keys[role])
				denied := strings.Contains(fmt.Sprint(err), "PermissionDenied") && strings.Contains(fmt.Sprint(err), "needs role")
				if wantDenied := rank[role] < rank[c.need]; denied != wantDenied {
					t.Errorf("%s as %s = %v, want denied = %v", c.name, role, err, wantDenied)
				}
			})
		}
	}
}
