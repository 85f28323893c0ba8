package sdk_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// nestedProject targets nested attributes through JSON Pointers: a rule on
// /user/plan and /user/org/tags, and a rollout bucketed by /user/org/id.
const nestedProject = `{"document": {
  "version": 1, "project": "default", "environments": ["production", "staging"],
  "flags": [
    {"key": "plan", "type": "string", "variants": [{"key": "pro", "value": "P"}, {"key": "a", "value": "A"}, {"key": "b", "value": "B"}],
      "environments": {"production": {"enabled": true, "off_variant": "a", "bucket_by": "/user/org/id",
        "rules": [{"id": "pro", "conditions": [{"attribute": "/user/plan", "op": "in", "values": ["pro"]},
          {"attribute": "/user/org/tags", "op": "in", "values": ["vip"]}], "serve": {"variant": "pro"}}],
        "default": {"rollout": [{"variant": "a", "weight": 50000}, {"variant": "b", "weight": 50000}]}}}}
  ]
}}`

// TestNestedContextEvaluatesLikeTheServer evaluates Go contexts with
// nested maps and slices locally and the same contexts, as JSON, on the
// server (OFREP): the answers agree.
func TestNestedContextEvaluatesLikeTheServer(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", nestedProject)
	c := connect(t, srv, srv.Creds.SDKKey)
	contexts := []map[string]any{
		{"targetingKey": "u1", "user": map[string]any{"plan": "pro", "org": map[string]any{"id": "o-1", "tags": []string{"x", "vip"}}}},
		{"targetingKey": "u2", "user": map[string]any{"plan": "pro", "org": map[string]any{"id": 42, "tags": []any{"x", nil, map[string]any{"vip": 1}}}}},
		{"targetingKey": "u3", "user": map[string]any{"plan": "free", "org": map[string]any{"id": int64(7)}}},
		{"targetingKey": "u4", "user": map[string]any{"plan": "free", "org": map[string]any{"id": "o-2"}}},
		{"targetingKey": "u5", "user": map[string]any{"org": map[string]any{"id": map[string]any{"not": "a unit"}}}},
		{"targetingKey": "u6", "user": []any{map[string]any{"plan": "pro"}}},
		{"targetingKey": "u7", "user": map[string]any{"plan": map[string]any{"name": "pro"}, "org": []int{1}}},
	}
	for _, m := range contexts {
		body, err := json.Marshal(map[string]any{"context": m})
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(body), func(t *testing.T) {
			r := servertest.Do(t, "POST", srv.HTTPURL+"/ofrep/v1/evaluate/flags/plan", body, "X-API-Key", srv.Creds.SDKKey)
			var remote struct {
				Variant   string `json:"variant"`
				Reason    string `json:"reason"`
				ErrorCode string `json:"errorCode"`
			}
			if err := json.Unmarshal(r.Body, &remote); err != nil || (r.Status != http.StatusOK && r.Status != http.StatusBadRequest) {
				t.Fatalf("OFREP = %d %s", r.Status, r.Body)
			}
			ctx := sdk.ContextFromMap(m)
			local := c.StringDetail("plan", &ctx, "default")
			if remote.ErrorCode != "" {
				remote.Reason = string(sdk.ReasonError) // OFREP's error answers carry no reason
			}
			if local.Variant != remote.Variant || string(local.Reason) != remote.Reason || string(local.ErrorCode) != remote.ErrorCode {
				t.Errorf("local %s %s %s, server %s %s %s", local.Variant, local.Reason, local.ErrorCode, remote.Variant, remote.Reason, remote.ErrorCode)
			}
		})
	}
}
