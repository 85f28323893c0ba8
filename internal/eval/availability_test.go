package eval_test

import (
	"testing"

	"github.com/switchyard/switchyard/internal/eval"
)

const appDoc = `{"version": 1, "project": "m", "environments": ["prod", "dev", "test"],
  "segments": [{"key": "beta", "include": ["b1"]}],
  "components": [
    {"key": "app", "min_supported": "1.2.0",
     "versions": [
       {"version": "1.0.0", "notes": "first"},
       {"version": "1.2.0", "notes": "baseline"},
       {"version": "1.3.0", "notes": "broken", "withdrawn": true},
       {"version": "v1.3.1", "notes": "fix", "required": true},
       {"version": "1.4.0", "notes": "features"},
       {"version": "2.0.0-rc.1", "notes": "next"}
     ],
     "environments": {
       "prod": {"targets": [{"version": "2.0.0-rc.1", "keys": ["qa"]}],
                "rules": [{"id": "beta", "segments": ["beta"], "serve": {"version": "1.4.0"}},
                          {"id": "split", "conditions": [{"attribute": "region", "op": "in", "values": ["eu"]}],
                           "serve": {"rollout": [{"version": "1.4.0", "weight": 100000}]}}],
                "default": {"version": "v1.3.1"}},
       "dev": {"rules": [{"id": "only", "conditions": [{"attribute": "region", "op": "exists"}], "serve": {"version": "1.4.0"}}]},
       "test": {"bucket_by": "device", "default": {"rollout": [{"version": "1.4.0", "weight": 100000}]}}
     }},
    {"key": "other", "versions": [{"version": "1.0.0"}]}
  ]}`

func TestAvailability(t *testing.T) {
	prod := mustCompile(t, appDoc, "prod")
	dev := mustCompile(t, appDoc, "dev")
	test := mustCompile(t, appDoc, "test")
	notes := func(vs ...string) []eval.Note {
		all := map[string]string{"1.0.0": "first", "1.2.0": "baseline", "v1.3.1": "fix", "1.4.0": "features", "2.0.0-rc.1": "next"}
		out := make([]eval.Note, len(vs))
		for i, v := range vs {
			out[i] = eval.Note{Version: v, Notes: all[v]}
		}
		return out
	}
	tests := []struct {
		name      string
		rs        *eval.Ruleset
		component string
		ctx       string
		current   string
		want      eval.Availability
	}{
		{"unknown component", prod, "nope", `{}`, "1.0.0", eval.Availability{Reason: eval.ReasonError, ErrorCode: eval.ErrorFlagNotFound}},
		{"no current version", prod, "app", `{}`, "", eval.Availability{Reason: eval.ReasonError, ErrorCode: eval.ErrorInvalidContext}},
		{"bad current version", prod, "app", `{}`, "1.2-rc.1", eval.Availability{Reason: eval.ReasonError, ErrorCode: eval.ErrorInvalidContext}},
		{"bad targeting key", prod, "app", `{"targetingKey": 1}`, "1.0.0", eval.Availability{Reason: eval.ReasonError, ErrorCode: eval.ErrorInvalidContext}},
		{"invalid before disabled", dev, "other", `{}`, "x", eval.Availability{Reason: eval.ReasonError, ErrorCode: eval.ErrorInvalidContext}},
		{"no targeting", prod, "other", `{}`, "1.0.0", eval.Availability{Reason: eval.ReasonDisabled, Update: eval.UpdateNone}},
		{"no default, nothing matched", dev, "app", `{}`, "1.0.0", eval.Availability{Reason: eval.ReasonDisabled, Update: eval.UpdateNone}},
		{"rule without default", dev, "app", `{"region": "x"}`, "1.2.0", eval.Availability{Version: "1.4.0", Reason: eval.ReasonTargetingMatch, Rule: "only", Update: eval.UpdateRequired, Notes: notes("v1.3.1", "1.4.0")}},
		{"default, optional", prod, "app", `{}`, "1.2.0", eval.Availability{Version: "v1.3.1", Reason: eval.ReasonDefault, Rule: "default", Update: eval.UpdateRequired, Notes: notes("v1.3.1")}},
		{"required in between", prod, "app", `{"targetingKey": "b1"}`, "1.2.0", eval.Availability{Version: "1.4.0", Reason: eval.ReasonTargetingMatch, Rule: "beta", Update: eval.UpdateRequired, Notes: notes("v1.3.1", "1.4.0")}},
		{"optional above the required one", prod, "app", `{"targetingKey": "b1"}`, "1.3.1", eval.Availability{Version: "1.4.0", Reason: eval.ReasonTargetingMatch, Rule: "beta", Update: eval.UpdateOptional, Notes: notes("1.4.0")}},
		{"build metadata ignored", prod, "app", `{"targetingKey": "b1"}`, "1.3.1+b7", eval.Availability{Version: "1.4.0", Reason: eval.ReasonTargetingMatch, Rule: "beta", Update: eval.UpdateOptional, Notes: notes("1.4.0")}},
		{"current withdrawn", prod, "app", `{}`, "1.3.0", eval.Availability{Version: "v1.3.1", Reason: eval.ReasonDefault, Rule: "default", Update: eval.UpdateRequired, Notes: notes("v1.3.1")}},
		{"below min_supported", prod, "app", `{"targetingKey": "qa"}`, "1.0.0", eval.Availability{Version: "2.0.0-rc.1", Reason: eval.ReasonTargetingMatch, Rule: "targets", Update: eval.UpdateRequired, Notes: notes("1.2.0", "v1.3.1", "1.4.0", "2.0.0-rc.1")}},
		{"current between versions", prod, "app", `{"targetingKey": "qa"}`, "1.4.0-beta", eval.Availability{Version: "2.0.0-rc.1", Reason: eval.ReasonTargetingMatch, Rule: "targets", Update: eval.UpdateOptional, Notes: notes("1.4.0", "2.0.0-rc.1")}},
		{"up to date", prod, "app", `{}`, "1.3.1", eval.Availability{Version: "v1.3.1", Reason: eval.ReasonDefault, Rule: "default", Update: eval.UpdateNone}},
		{"newer: never a downgrade", prod, "app", `{}`, "v3", eval.Availability{Version: "v1.3.1", Reason: eval.ReasonDefault, Rule: "default", Update: eval.UpdateNone}},
		{"rollout", prod, "app", `{"targetingKey": "u", "region": "eu"}`, "1.4.0", eval.Availability{Version: "1.4.0", Reason: eval.ReasonSplit, Rule: "split", Update: eval.UpdateNone}},
		{"rollout without unit", prod, "app", `{"region": "eu"}`, "1.4.0", eval.Availability{Reason: eval.ReasonError, ErrorCode: eval.ErrorTargetingKeyMissing}},
		{"static default rollout", test, "app", `{"device": 17}`, "1.2.0", eval.Availability{Version: "1.4.0", Reason: eval.ReasonSplit, Rule: "default", Update: eval.UpdateRequired, Notes: notes("v1.3.1", "1.4.0")}},
		{"default rollout needs bucket_by", test, "app", `{"targetingKey": "u"}`, "1.2.0", eval.Availability{Reason: eval.ReasonError, ErrorCode: eval.ErrorTargetingKeyMissing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rs.Availability(tc.component, mustContext(t, tc.ctx), tc.current)
			if (got.ErrorCode == "") != (got.ErrorMessage == "") {
				t.Errorf("Availability(%q, %s, %q): error code %q with message %q", tc.component, tc.ctx, tc.current, got.ErrorCode, got.ErrorMessage)
			}
			got.ErrorMessage = ""
			if !sameAvailability(got, tc.want) {
				t.Errorf("Availability(%q, %s, %q) = %+v, want %+v", tc.component, tc.ctx, tc.current, got, tc.want)
			}
		})
	}
}

func sameAvailability(a, b eval.Availability) bool {
	return a.Version == b.Version && a.Reason == b.Reason && a.Rule == b.Rule && a.Update == b.Update &&
		a.ErrorCode == b.ErrorCode && sameNotes(a.Notes, b.Notes)
}

func TestAvailabilityDoesNotAllocate(t *testing.T) {
	rs := mustCompile(t, appDoc, "prod")
	ctx := mustContext(t, `{"targetingKey": "qa"}`)
	if n := testing.AllocsPerRun(100, func() { rs.Availability("app", ctx, "1.0.0") }); n != 0 {
		t.Errorf("Availability allocates %v times", n)
	}
	if keys := rs.ComponentKeys(); len(keys) != 2 || keys[0] != "app" || keys[1] != "other" {
		t.Errorf("ComponentKeys() = %v, want [app other]", keys)
	}
}
