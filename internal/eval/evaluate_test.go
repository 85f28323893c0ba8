package eval_test

import (
	"slices"
	"testing"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// mustCompile loads a JSON document through model.Parse and model.Validate
// and compiles env.
func mustCompile(t testing.TB, doc, env string) *eval.Ruleset {
	t.Helper()
	d, err := model.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("model.Parse: %v", err)
	}
	if err := model.Validate(d); err != nil {
		t.Fatalf("model.Validate: %v", err)
	}
	rs, err := eval.Compile(d, env, nil)
	if err != nil {
		t.Fatalf("Compile(%q): %v", env, err)
	}
	return rs
}

// mustContext decodes a JSON context.
func mustContext(t testing.TB, js string) *eval.Context {
	t.Helper()
	ctx, err := eval.DecodeContextJSON([]byte(js))
	if err != nil {
		t.Fatalf("DecodeContextJSON(%s): %v", js, err)
	}
	return &ctx
}

// outcome is the part of a Result the step tests compare.
type outcome struct {
	Variant string
	Reason  eval.Reason
	Rule    string
	Error   eval.ErrorCode
}

func outcomeOf(r eval.Result) outcome {
	return outcome{r.Variant, r.Reason, r.Rule, r.ErrorCode}
}

// stepsDoc exercises every step of DESIGN §3 flag evaluation.
const stepsDoc = `{
  "version": 1, "project": "p", "environments": ["prod", "dev"],
  "segments": [
    {"key": "de", "conditions": [{"attribute": "country", "op": "in", "values": ["DE"]}], "include": ["inc"], "exclude": ["exc"]},
    {"key": "listed", "include": ["l1"]}
  ],
  "flags": [
    {"key": "base", "type": "bool", "environments": {"prod": {"enabled": true, "default": {"variant": "on"}}}},
    {"key": "base-off", "type": "bool", "environments": {"prod": {"enabled": false}}},
    {"key": "base-split", "type": "bool", "environments": {"prod": {"enabled": true,
      "default": {"rollout": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}}},
    {"key": "color", "type": "string",
     "variants": [{"key": "red", "value": "#f00"}, {"key": "green", "value": "#0f0"}, {"key": "blue", "value": "#00f"}],
     "environments": {"prod": {"enabled": true, "off_variant": "red",
       "prerequisites": [{"flag": "base", "variant": "on"}],
       "targets": [{"variant": "green", "keys": ["t1", "t2"]}, {"variant": "blue", "keys": ["t2", "t3"]}],
       "rules": [
         {"id": "germany", "segments": ["de"], "serve": {"variant": "blue"}},
         {"id": "split", "conditions": [{"attribute": "plan", "op": "in", "values": ["beta"]}],
          "serve": {"rollout": [{"variant": "green", "weight": 100000}]}},
         {"id": "late", "conditions": [{"attribute": "plan", "op": "exists"}], "serve": {"variant": "green"}}
       ],
       "default": {"variant": "green"}},
      "dev": {"enabled": false, "off_variant": "blue"}}},
    {"key": "no-entry-string", "type": "string", "variants": [{"key": "a", "value": "a"}], "environments": {"prod": {"enabled": true, "off_variant": "a", "default": {"variant": "a"}}}},
    {"key": "no-default", "type": "number", "variants": [{"key": "one", "value": 1}, {"key": "two", "value": 2}],
     "environments": {"prod": {"enabled": true, "off_variant": "one", "rules": [{"id": "r", "conditions": [{"attribute": "x", "op": "exists"}], "serve": {"variant": "two"}}]}}},
    {"key": "needs-off", "type": "bool", "environments": {"prod": {"enabled": true, "prerequisites": [{"flag": "base-off", "variant": "off"}], "default": {"variant": "on"}}}},
    {"key": "needs-split", "type": "bool", "environments": {"prod": {"enabled": true, "prerequisites": [{"flag": "base-split", "variant": "on"}], "default": {"variant": "on"}}}},
    {"key": "needs-color", "type": "bool", "environments": {"prod": {"enabled": true, "prerequisites": [{"flag": "color", "variant": "green"}], "default": {"variant": "on"}}}},
    {"key": "by-account", "type": "bool", "environments": {"prod": {"enabled": true, "bucket_by": "account", "salt": "s",
      "rules": [{"id": "first", "conditions": [{"attribute": "plan", "op": "exists"}],
                 "serve": {"rollout": [{"variant": "on", "weight": 1}, {"variant": "off", "weight": 99999}]}}],
      "default": {"variant": "on"}}}}
  ]
}`

func TestEvaluateSteps(t *testing.T) {
	prod := mustCompile(t, stepsDoc, "prod")
	dev := mustCompile(t, stepsDoc, "dev")
	tests := []struct {
		name string
		rs   *eval.Ruleset
		flag string
		ctx  string
		want outcome
	}{
		{"unknown flag", prod, "nope", `{"targetingKey": "u"}`, outcome{"", eval.ReasonError, "", eval.ErrorFlagNotFound}},
		{"unknown flag wins over a bad targeting key", prod, "nope", `{"targetingKey": 7}`, outcome{"", eval.ReasonError, "", eval.ErrorFlagNotFound}},
		{"non-string targeting key", prod, "base", `{"targetingKey": 7}`, outcome{"", eval.ReasonError, "", eval.ErrorInvalidContext}},
		{"array targeting key", prod, "base", `{"targetingKey": ["u"]}`, outcome{"", eval.ReasonError, "", eval.ErrorInvalidContext}},
		{"null targeting key is absent", prod, "base", `{"targetingKey": null}`, outcome{"on", eval.ReasonStatic, "default", ""}},
		{"disabled serves off variant", dev, "color", `{"targetingKey": "t1"}`, outcome{"blue", eval.ReasonDisabled, "", ""}},
		{"disabled implicit bool serves off", prod, "base-off", `{}`, outcome{"off", eval.ReasonDisabled, "", ""}},
		{"no entry, implicit bool: off", dev, "base", `{}`, outcome{"off", eval.ReasonDisabled, "", ""}},
		{"no entry, explicit variants: nothing", dev, "no-entry-string", `{}`, outcome{"", eval.ReasonDisabled, "", ""}},
		{"first target listing a key wins", prod, "color", `{"targetingKey": "t2"}`, outcome{"green", eval.ReasonTargetingMatch, "targets", ""}},
		{"later target", prod, "color", `{"targetingKey": "t3"}`, outcome{"blue", eval.ReasonTargetingMatch, "targets", ""}},
		{"targets before rules", prod, "color", `{"targetingKey": "t3", "country": "DE"}`, outcome{"blue", eval.ReasonTargetingMatch, "targets", ""}},
		{"rule by segment condition", prod, "color", `{"targetingKey": "u", "country": "DE"}`, outcome{"blue", eval.ReasonTargetingMatch, "germany", ""}},
		{"segment include", prod, "color", `{"targetingKey": "inc"}`, outcome{"blue", eval.ReasonTargetingMatch, "germany", ""}},
		{"segment exclude wins", prod, "color", `{"targetingKey": "exc", "country": "DE"}`, outcome{"green", eval.ReasonDefault, "default", ""}},
		{"no key: segment conditions still apply", prod, "color", `{"country": "DE"}`, outcome{"blue", eval.ReasonTargetingMatch, "germany", ""}},
		{"rollout rule is SPLIT", prod, "color", `{"targetingKey": "u", "plan": "beta"}`, outcome{"green", eval.ReasonSplit, "split", ""}},
		{"rollout without unit is an error, no fall-through", prod, "color", `{"plan": "beta"}`, outcome{"", eval.ReasonError, "", eval.ErrorTargetingKeyMissing}},
		{"fixed rule after", prod, "color", `{"targetingKey": "u", "plan": "pro"}`, outcome{"green", eval.ReasonTargetingMatch, "late", ""}},
		{"default with rules is DEFAULT", prod, "color", `{"targetingKey": "u"}`, outcome{"green", eval.ReasonDefault, "default", ""}},
		{"default without targets or rules is STATIC", prod, "base", `{}`, outcome{"on", eval.ReasonStatic, "default", ""}},
		{"absent default serves off variant", prod, "no-default", `{}`, outcome{"one", eval.ReasonDefault, "default", ""}},
		{"default rollout without unit", prod, "base-split", `{}`, outcome{"", eval.ReasonError, "", eval.ErrorTargetingKeyMissing}},
		{"prerequisite disabled fails even with matching off variant", prod, "needs-off", `{}`, outcome{"off", eval.ReasonPrerequisiteFailed, "", ""}},
		{"prerequisite in error fails", prod, "needs-split", `{}`, outcome{"off", eval.ReasonPrerequisiteFailed, "", ""}},
		{"prerequisite whose prerequisite passes", prod, "needs-color", `{"targetingKey": "u"}`, outcome{"on", eval.ReasonStatic, "default", ""}},
		{"prerequisite with other variant fails", prod, "needs-color", `{"targetingKey": "t3"}`, outcome{"off", eval.ReasonPrerequisiteFailed, "", ""}},
		{"bucket_by attribute string", prod, "by-account", `{"plan": "x", "account": "a-1"}`, outcome{"off", eval.ReasonSplit, "first", ""}},
		{"bucket_by attribute integral number", prod, "by-account", `{"plan": "x", "account": 42}`, outcome{"off", eval.ReasonSplit, "first", ""}},
		{"bucket_by ignores targeting key", prod, "by-account", `{"plan": "x", "targetingKey": "u"}`, outcome{"", eval.ReasonError, "", eval.ErrorTargetingKeyMissing}},
		{"bucket_by non-integral number", prod, "by-account", `{"plan": "x", "account": 4.5}`, outcome{"", eval.ReasonError, "", eval.ErrorTargetingKeyMissing}},
		{"bucket_by bool", prod, "by-account", `{"plan": "x", "account": true}`, outcome{"", eval.ReasonError, "", eval.ErrorTargetingKeyMissing}},
		{"bucket_by array", prod, "by-account", `{"plan": "x", "account": ["a"]}`, outcome{"", eval.ReasonError, "", eval.ErrorTargetingKeyMissing}},
		{"bucket_by number too large", prod, "by-account", `{"plan": "x", "account": 9007199254740992}`, outcome{"", eval.ReasonError, "", eval.ErrorTargetingKeyMissing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := outcomeOf(tc.rs.Evaluate(tc.flag, mustContext(t, tc.ctx))); got != tc.want {
				t.Errorf("Evaluate(%q, %s) = %+v, want %+v", tc.flag, tc.ctx, got, tc.want)
			}
		})
	}
}

func TestEvaluateValues(t *testing.T) {
	rs := mustCompile(t, `{"version": 1, "project": "p", "environments": ["prod"], "flags": [
	  {"key": "j", "type": "json", "variants": [{"key": "v", "value": {"b": [1, "x", null], "a": "<&>"}}],
	   "environments": {"prod": {"enabled": true, "off_variant": "v", "default": {"variant": "v"}}}},
	  {"key": "n", "type": "number", "variants": [{"key": "v", "value": 2.5}],
	   "environments": {"prod": {"enabled": true, "off_variant": "v", "default": {"variant": "v"}}}}
	]}`, "prod")
	tests := []struct {
		flag     string
		wantJSON string
	}{
		{"j", `{"a":"<&>","b":[1,"x",null]}`},
		{"n", `2.5`},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			r := rs.Evaluate(tc.flag, nil)
			if string(r.ValueJSON) != tc.wantJSON {
				t.Errorf("Evaluate(%q).ValueJSON = %s, want %s", tc.flag, r.ValueJSON, tc.wantJSON)
			}
			if !sameJSON(r.Value, []byte(tc.wantJSON)) {
				t.Errorf("Evaluate(%q).Value = %#v, want %s", tc.flag, r.Value, tc.wantJSON)
			}
		})
	}
}

func TestEvaluateErrorsCarryMessages(t *testing.T) {
	rs := mustCompile(t, stepsDoc, "prod")
	for _, tc := range []struct {
		flag, ctx string
	}{
		{"nope", `{}`},
		{"base", `{"targetingKey": 1}`},
		{"base-split", `{}`},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			r := rs.Evaluate(tc.flag, mustContext(t, tc.ctx))
			if r.ErrorCode == "" || r.ErrorMessage == "" || r.Variant != "" || r.Value != nil || r.ValueJSON != nil || r.Rule != "" {
				t.Errorf("Evaluate(%q, %s) = %+v, want an error with a message and nothing else", tc.flag, tc.ctx, r)
			}
		})
	}
}

func TestEvaluateUnsupportedAttributeIsInvalidContext(t *testing.T) {
	rs := mustCompile(t, stepsDoc, "prod")
	ctx := eval.ContextFromMap(map[string]any{"targetingKey": "u", "odd": struct{}{}})
	if got := outcomeOf(rs.Evaluate("base", &ctx)); got != (outcome{"", eval.ReasonError, "", eval.ErrorInvalidContext}) {
		t.Errorf("Evaluate with a struct attribute = %+v, want INVALID_CONTEXT", got)
	}
	if got := outcomeOf(rs.Evaluate("nope", &ctx)); got.Error != eval.ErrorFlagNotFound {
		t.Errorf("Evaluate(unknown) with a struct attribute = %+v, want FLAG_NOT_FOUND", got)
	}
}

func TestEvaluateNilRulesetAndContext(t *testing.T) {
	var nilRS *eval.Ruleset
	if got := outcomeOf(nilRS.Evaluate("x", nil)); got.Error != eval.ErrorFlagNotFound {
		t.Errorf("nil Ruleset: Evaluate = %+v, want FLAG_NOT_FOUND", got)
	}
	rs := mustCompile(t, stepsDoc, "prod")
	if got := outcomeOf(rs.Evaluate("base", nil)); got != (outcome{"on", eval.ReasonStatic, "default", ""}) {
		t.Errorf("nil Context: Evaluate = %+v, want STATIC on", got)
	}
}

func TestEvaluateAllInDocumentOrder(t *testing.T) {
	rs := mustCompile(t, stepsDoc, "prod")
	ctx := mustContext(t, `{"targetingKey": "u"}`)
	var keys []string
	rs.EvaluateAll(ctx, func(key string, r eval.Result) {
		keys = append(keys, key)
		if want := rs.Evaluate(key, ctx); outcomeOf(r) != outcomeOf(want) {
			t.Errorf("EvaluateAll gave %q %+v, Evaluate gives %+v", key, outcomeOf(r), outcomeOf(want))
		}
	})
	if want := rs.FlagKeys(); !slices.Equal(keys, want) {
		t.Errorf("EvaluateAll keys = %v, want %v", keys, want)
	}
	if rs.FlagCount() != 10 {
		t.Errorf("FlagCount() = %d, want 10", rs.FlagCount())
	}
}

func TestFlagMetadata(t *testing.T) {
	rs := mustCompile(t, stepsDoc, "prod")
	if typ, ok := rs.FlagType("color"); !ok || typ != model.TypeString {
		t.Errorf("FlagType(color) = %q, %v, want string, true", typ, ok)
	}
	if _, ok := rs.FlagType("nope"); ok {
		t.Error("FlagType(nope) found a flag")
	}
	if rs.Project() != "p" || rs.Environment() != "prod" {
		t.Errorf("Project, Environment = %q, %q, want p, prod", rs.Project(), rs.Environment())
	}
}

// TestEvaluateDoesNotAllocate checks every evaluation path on prepared
// contexts, built with the builder and decoded.
func TestEvaluateDoesNotAllocate(t *testing.T) {
	rs := mustCompile(t, stepsDoc, "prod")
	ctxs := []*eval.Context{
		eval.NewContext("u").String("country", "DE").String("plan", "beta"),
		eval.NewContext("t2"),
		new(eval.Context).Number("account", 42).String("plan", "x"),
		mustContext(t, `{"targetingKey": "exc", "country": "DE", "plan": ["a", null]}`),
		mustContext(t, `{"targetingKey": 3}`),
	}
	for _, key := range append(rs.FlagKeys(), "nope") {
		for i, ctx := range ctxs {
			if n := testing.AllocsPerRun(100, func() { rs.Evaluate(key, ctx) }); n != 0 {
				t.Errorf("Evaluate(%q, ctxs[%d]) allocates %v times", key, i, n)
			}
		}
	}
	for i, ctx := range ctxs {
		count := 0
		fn := func(string, eval.Result) { count++ }
		if n := testing.AllocsPerRun(100, func() { rs.EvaluateAll(ctx, fn) }); n != 0 {
			t.Errorf("EvaluateAll(ctxs[%d]) allocates %v times", i, n)
		}
	}
}

func TestBuilderDoesNotAllocate(t *testing.T) {
	rs := mustCompile(t, stepsDoc, "prod")
	n := testing.AllocsPerRun(100, func() {
		ctx := eval.NewContext("user-1").String("country", "DE").Number("age", 42).Bool("beta", true)
		rs.Evaluate("color", ctx)
	})
	if n != 0 {
		t.Errorf("building a context and evaluating allocates %v times", n)
	}
}

// TestResultType: every result of a known flag carries its type, errors
// and fixed results included; an unknown flag's carries none.
func TestResultType(t *testing.T) {
	rs := mustCompile(t, `{"version": 1, "project": "p", "environments": ["prod"], "flags": [
	  {"key": "b", "type": "bool", "environments": {"prod": {"enabled": true}}},
	  {"key": "s", "type": "string", "variants": [{"key": "a", "value": "x"}],
	    "environments": {"prod": {"enabled": true, "off_variant": "a",
	      "default": {"rollout": [{"variant": "a", "weight": 100000}]}}}},
	  {"key": "off", "type": "number", "variants": [{"key": "one", "value": 1}]}]}`, "prod")
	tests := []struct {
		name string
		flag string
		ctx  string
		want model.FlagType
	}{
		{"fixed", "b", `{}`, model.TypeBool},
		{"split", "s", `{"targetingKey": "u"}`, model.TypeString},
		{"targeting key missing", "s", `{}`, model.TypeString},
		{"invalid context", "s", `{"targetingKey": 1}`, model.TypeString},
		{"disabled", "off", `{}`, model.TypeNumber},
		{"unknown flag", "nope", `{}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := rs.Evaluate(tc.flag, mustContext(t, tc.ctx)).Type; got != tc.want {
				t.Errorf("Evaluate(%q).Type = %q, want %q", tc.flag, got, tc.want)
			}
		})
	}
}
