package server_test

import (
	"testing"
)

func TestGetReleaseReportsTheStageGuardrail(t *testing.T) {
	ts := experimentServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "g1", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"name": "half", "weight": 50000, "guardrail": {"metric": "purchase", "threshold": 0.05}}, {"name": "all", "weight": 100000}]}`)
	if r := ts.mustAdmin(t, "GET", "/api/v1/projects/default/releases/g1", nil); r["guardrail_result"] != nil {
		t.Errorf("a draft's guardrail_result = %v, want none", r["guardrail_result"])
	}
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/releases/g1:start", `{}`)
	ts.mustAdmin(t, "POST", "/api/v1/events", `{"project": "default", "environment": "production", "events": [
		{"exposure": {"flag": "checkout", "variant": "on", "unit": "t1", "rule": "release:g1"}},
		{"exposure": {"flag": "checkout", "variant": "on", "unit": "t2", "rule": "release:g1"}},
		{"exposure": {"flag": "checkout", "variant": "on", "unit": "t3", "rule": "release:g1"}},
		{"exposure": {"flag": "checkout", "variant": "off", "unit": "c1", "rule": "default"}},
		{"exposure": {"flag": "checkout", "variant": "off", "unit": "c2", "rule": "default"}},
		{"track": {"key": "purchase", "unit": "t1"}}]}`)

	r := ts.mustAdmin(t, "GET", "/api/v1/projects/default/releases/g1", nil)
	g, _ := r["guardrail_result"].(map[string]any)
	if g == nil || g["metric"] != "purchase" {
		t.Fatalf("guardrail_result = %v, want purchase", r["guardrail_result"])
	}
	vs, _ := g["variants"].([]any)
	if len(vs) != 2 {
		t.Fatalf("guardrail variants = %v, want control and treatment", g["variants"])
	}
	control, treatment := vs[0].(map[string]any), vs[1].(map[string]any)
	if control["variant"] != "control" || control["units"] != "2" || treatment["variant"] != "treatment" || treatment["units"] != "3" || treatment["conversions"] != "1" {
		t.Errorf("guardrail variants = %v, want control 2 units, treatment 3 units with 1 conversion", vs)
	}
}
