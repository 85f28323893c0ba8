package server_test

import (
	"net/http"
	"testing"

	"github.com/switchyard/switchyard/internal/bootstrap"
)

// TestShippingAnExperimentGoesThroughARelease: stopping with ship creates
// and starts a release of the winning variant from a release model whose
// first gate needs an approval; the flag changes only once a person other
// than the stopper approved.
func TestShippingAnExperimentGoesThroughARelease(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/metrics", `{"key": "purchase", "kind": "conversion"}`)
	rs.mustAs(t, keys["editor"], "POST", modelsPath, `{"key": "gated", "stages": [{"name": "all", "weight": 100000, "gate": {"approval": {}}}],
	  "approval": {"approvers": "release-manager", "count": 1}}`)
	rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/experiments", `{"id": "ab", "environment": "production", "flag": "new-checkout",
	  "control": {"variant": "off", "weight": 50000}, "treatments": [{"variant": "on", "weight": 50000}],
	  "traffic_share": 100000, "primary_metric": "purchase"}`)
	rs.mustAs(t, keys["rm"], "POST", "/api/v1/projects/default/experiments/ab:start", `{}`)

	stopped := rs.mustAs(t, keys["rm"], "POST", "/api/v1/projects/default/experiments/ab:stop",
		`{"decision": "ship", "variant": "on", "reason": "on converts better", "release_id": "ship-checkout", "release_model": "gated"}`)
	if got := compact(t, stopped["decision"]); got != `{"action":"ship","actor":"`+keyID(t, stopped)+`","actor_name":"rm","reason":"on converts better","release":"ship-checkout","release_model":"gated","variant":"on"}` {
		t.Errorf("decision = %s", got)
	}
	rel := rs.mustAs(t, keys["viewer"], "GET", releasePath("ship-checkout", ""), nil)
	if rel["state"] != "SCHEDULED" || rel["model"] != "gated" || rel["requester_name"] != "rm" || compact(t, rel["items"]) != `[{"flag":"new-checkout","variant":"on"}]` ||
		compact(t, rel["next"]) != `{"approvals_needed":1,"gate":"approval","stage":1}` {
		t.Fatalf("release = %v, want SCHEDULED from model gated, requested by rm, waiting for one approval", rel)
	}
	flag := func() string {
		r := rs.call(t, "POST", "/ofrep/v1/evaluate/flags/new-checkout", "X-API-Key", rs.creds.SDKKey, `{"context": {"targetingKey": "user-1"}}`)
		if r.status != http.StatusOK {
			t.Fatalf("evaluate = %d %s", r.status, r.body)
		}
		return compact(t, r.json(t)["value"])
	}
	if got := flag(); got != "false" {
		t.Errorf("before the approval: new-checkout = %s, want false (neither the experiment nor the release serves it)", got)
	}
	if r := rs.as(t, keys["rm"], "POST", releasePath("ship-checkout", "approve"), `{}`); r.status != http.StatusForbidden {
		t.Errorf("approval by the stopper = %d %s, want 403", r.status, r.body)
	}
	rs.mustAs(t, keys["rm2"], "POST", releasePath("ship-checkout", "approve"), `{"comment": "ship it"}`)
	if r := rs.mustAs(t, keys["rm"], "POST", releasePath("ship-checkout", "advance"), `{}`); r["state"] != "IN_PROGRESS" {
		t.Fatalf("after the approval, advance: %v, want IN_PROGRESS", r["state"])
	}
	if got := flag(); got != "true" {
		t.Errorf("after the approval: new-checkout = %s, want true from the release", got)
	}
	rep := rs.mustAs(t, keys["viewer"], "GET", "/api/v1/projects/default/release-report?start=2030-03-01T00:00:00Z&end=2030-03-02T00:00:00Z", nil)
	if byModel := rep["by_model"].([]any); len(byModel) != 1 || byModel[0].(map[string]any)["model"] != "gated" {
		t.Errorf("report by model = %v, want the shipping release under gated", byModel)
	}
}

// keyID is the actor key of a stopped experiment's decision.
func keyID(t *testing.T, e map[string]any) string {
	t.Helper()
	id, _ := e["decision"].(map[string]any)["actor"].(string)
	return id
}

func TestShippingToATakenReleaseIDConflicts(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/metrics", `{"key": "purchase", "kind": "conversion"}`)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/experiments", `{"id": "ab", "environment": "production", "flag": "new-checkout",
	  "control": {"variant": "off", "weight": 50000}, "treatments": [{"variant": "on", "weight": 50000}],
	  "traffic_share": 100000, "primary_metric": "purchase"}`)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/experiments/ab:start", `{}`)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "ab-ship", "environment": "production", "items": [{"flag": "sidebar", "variant": "on"}]}`)
	if r := rs.admin(t, "POST", "/api/v1/projects/default/experiments/ab:stop", `{"decision": "ship", "variant": "on"}`); r.status != http.StatusConflict {
		t.Errorf("ship onto a taken release id = %d %s, want 409", r.status, r.body)
	}
	if r := rs.admin(t, "POST", "/api/v1/projects/default/experiments/ab:stop", `{"decision": "ship", "variant": "on", "release_model": "nope"}`); r.status != http.StatusBadRequest || r.json(t)["field"] != "release_model" {
		t.Errorf("ship with an unknown model = %d %s, want 400 naming release_model", r.status, r.body)
	}
	if e := rs.mustAdmin(t, "GET", "/api/v1/projects/default/experiments/ab", nil); e["status"] != "RUNNING" {
		t.Errorf("after refused ships: %v, want still RUNNING", e["status"])
	}
}
