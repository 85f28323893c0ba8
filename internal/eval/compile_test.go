package eval

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

// parseDoc loads a JSON document through model.Parse and model.Validate.
func parseDoc(t testing.TB, js string) *model.Document {
	t.Helper()
	doc, err := model.Parse([]byte(js))
	if err != nil {
		t.Fatalf("model.Parse: %v", err)
	}
	if err := model.Validate(doc); err != nil {
		t.Fatalf("model.Validate: %v", err)
	}
	return doc
}

// TestCompileErrors feeds Compile documents that model.Validate refuses:
// Compile must refuse them too rather than build a ruleset that misbehaves.
func TestCompileErrors(t *testing.T) {
	const head = `{"version": 1, "project": "p", "environments": ["prod"], `
	tests := []struct {
		name, doc, env, want string
	}{
		{"unknown environment", head + `"flags": []}`, "staging", `unknown environment "staging"`},
		{"unknown off variant", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"off_variant": "maybe"}}}]}`, "prod", `unknown variant "maybe"`},
		{"unknown served variant", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"default": {"variant": "x"}}}}]}`, "prod", `unknown variant "x"`},
		{"unknown target variant", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"targets": [{"variant": "x", "keys": ["k"]}]}}}]}`, "prod", `targets[0]: unknown variant "x"`},
		{"unknown segment", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"rules": [{"id": "r", "segments": ["s"], "serve": {"variant": "on"}}]}}}]}`, "prod", `unknown segment "s"`},
		{"unknown prerequisite", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"prerequisites": [{"flag": "g", "variant": "on"}]}}}]}`, "prod", `unknown flag "g"`},
		{"unknown prerequisite variant", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"prerequisites": [{"flag": "g", "variant": "x"}]}}}, {"key": "g", "type": "bool"}]}`, "prod", `has no variant "x"`},
		{"prerequisite cycle", head + `"flags": [
			{"key": "f", "type": "bool", "environments": {"prod": {"prerequisites": [{"flag": "g", "variant": "on"}]}}},
			{"key": "g", "type": "bool", "environments": {"prod": {"prerequisites": [{"flag": "f", "variant": "on"}]}}}]}`, "prod", `cycle`},
		{"segment cycle", head + `"segments": [
			{"key": "a", "conditions": [{"op": "in_segment", "values": ["b"]}]},
			{"key": "b", "conditions": [{"op": "not_in_segment", "values": ["a"]}]}]}`, "prod", `cycle`},
		{"self-referencing segment", head + `"segments": [{"key": "a", "conditions": [{"op": "in_segment", "values": ["a"]}]}]}`, "prod", `cycle`},
		{"invalid regexp", head + `"segments": [{"key": "a", "conditions": [{"attribute": "x", "op": "matches", "values": ["("]}]}]}`, "prod", `missing closing )`},
		{"unknown operator", head + `"segments": [{"key": "a", "conditions": [{"attribute": "x", "op": "like", "values": ["a"]}]}]}`, "prod", `unknown operator "like"`},
		{"weights short", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"default": {"rollout": [{"variant": "on", "weight": 99999}]}}}}]}`, "prod", `sum to 99999`},
		{"negative weight", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"default": {"rollout": [{"variant": "on", "weight": 100001}, {"variant": "off", "weight": -1}]}}}}]}`, "prod", `out of range`},
		{"duplicate rule id", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"rules": [{"id": "r", "serve": {"variant": "on"}}, {"id": "r", "serve": {"variant": "on"}}]}}}]}`, "prod", `duplicate or empty id "r"`},
		{"variant of wrong type", head + `"flags": [{"key": "f", "type": "number", "variants": [{"key": "a", "value": "1"}]}]}`, "prod", `does not fit type number`},
		{"duplicate flag", head + `"flags": [{"key": "f", "type": "bool"}, {"key": "f", "type": "bool"}]}`, "prod", `duplicate`},
		{"bad component version", head + `"components": [{"key": "c", "versions": [{"version": "1.0"}, {"version": "x"}]}]}`, "prod", `"x" is not a semantic version`},
		{"same precedence", head + `"components": [{"key": "c", "versions": [{"version": "1.0.0"}, {"version": "1.0.0+b"}]}]}`, "prod", `same precedence`},
		{"unknown served version", head + `"components": [{"key": "c", "versions": [{"version": "1.0.0"}], "environments": {"prod": {"default": {"version": "2.0.0"}}}}]}`, "prod", `unknown version "2.0.0"`},
		{"withdrawn served version", head + `"components": [{"key": "c", "versions": [{"version": "1.0.0", "withdrawn": true}], "environments": {"prod": {"default": {"version": "1.0.0"}}}}]}`, "prod", `withdrawn`},
		{"bad min_supported", head + `"components": [{"key": "c", "min_supported": "soon"}]}`, "prod", `min_supported`},
		{"bad pointer in a condition", head + `"segments": [{"key": "a", "conditions": [{"attribute": "/user/~x", "op": "exists"}]}]}`, "prod", `conditions[0]: attribute: JSON Pointer "/user/~x"`},
		{"bad pointer in bucket_by", head + `"flags": [{"key": "f", "type": "bool", "environments": {"prod": {"bucket_by": "/~", "default": {"variant": "on"}}}}]}`, "prod", `bucket_by: JSON Pointer "/~"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := model.Parse([]byte(tc.doc))
			if err != nil {
				t.Fatalf("model.Parse: %v", err)
			}
			_, err = Compile(doc, tc.env, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Compile(nil, "prod", nil); err == nil {
		t.Error("Compile(nil) succeeded")
	}
}

const reuseDoc = `{"version": 1, "project": "p", "environments": ["prod"],
  "segments": [
    {"key": "big", "include": ["u1", "u2"]},
    {"key": "wraps-big", "conditions": [{"op": "in_segment", "values": ["big"]}]},
    {"key": "other", "conditions": [{"attribute": "x", "op": "exists"}]}
  ],
  "flags": [
    {"key": "base", "type": "bool", "environments": {"prod": {"enabled": true, "default": {"variant": "on"}}}},
    {"key": "needs-base", "type": "bool", "environments": {"prod": {"enabled": true, "prerequisites": [{"flag": "base", "variant": "on"}], "default": {"variant": "on"}}}},
    {"key": "uses-wrapper", "type": "bool", "environments": {"prod": {"enabled": true, "rules": [{"id": "r", "segments": ["wraps-big"], "serve": {"variant": "on"}}], "default": {"variant": "off"}}}},
    {"key": "plain", "type": "bool", "environments": {"prod": {"enabled": true, "targets": [{"variant": "on", "keys": ["t"]}], "default": {"variant": "off"}}}}
  ],
  "components": [{"key": "app", "versions": [{"version": "1.0.0"}], "environments": {"prod": {"rules": [{"id": "r", "segments": ["other"], "serve": {"version": "1.0.0"}}]}}}]
}`

// replaceSegment returns a copy of doc whose segment key is s.
func replaceSegment(doc *model.Document, s *model.Segment) *model.Document {
	next := *doc
	next.Segments = append([]*model.Segment(nil), doc.Segments...)
	for i, old := range next.Segments {
		if old.Key == s.Key {
			next.Segments[i] = s
		}
	}
	return &next
}

// replaceFlag returns a copy of doc whose flag key is f.
func replaceFlag(doc *model.Document, f *model.Flag) *model.Document {
	next := *doc
	next.Flags = append([]*model.Flag(nil), doc.Flags...)
	for i, old := range next.Flags {
		if old.Key == f.Key {
			next.Flags[i] = f
		}
	}
	return &next
}

func TestCompileReuse(t *testing.T) {
	doc := parseDoc(t, reuseDoc)
	prev, err := Compile(doc, "prod", nil)
	if err != nil {
		t.Fatal(err)
	}

	// The same document: everything is reused.
	same, err := Compile(doc, "prod", prev)
	if err != nil {
		t.Fatal(err)
	}
	for key, f := range prev.flags {
		if same.flags[key] != f {
			t.Errorf("unchanged flag %q was compiled again", key)
		}
	}
	for key, s := range prev.segments {
		if same.segments[key] != s {
			t.Errorf("unchanged segment %q was compiled again", key)
		}
	}
	if same.components["app"] != prev.components["app"] {
		t.Error("unchanged component was compiled again")
	}

	// A changed flag is compiled again, and so are the flags that depend on it.
	base := *doc.Flags[0]
	baseTg := *base.Environments["prod"]
	baseTg.Enabled = false
	base.Environments = map[string]*model.Targeting{"prod": &baseTg}
	next, err := Compile(replaceFlag(doc, &base), "prod", prev)
	if err != nil {
		t.Fatal(err)
	}
	for key, wantNew := range map[string]bool{"base": true, "needs-base": true, "uses-wrapper": false, "plain": false} {
		if gotNew := next.flags[key] != prev.flags[key]; gotNew != wantNew {
			t.Errorf("after changing base: flag %q compiled again = %v, want %v", key, gotNew, wantNew)
		}
	}
	if got := next.Evaluate("needs-base", nil).Reason; got != ReasonPrerequisiteFailed {
		t.Errorf("after disabling base: needs-base reason %s, want PREREQUISITE_FAILED", got)
	}

	// A segment whose conditions change keeps its key sets; segments and
	// flags that name it are compiled again, the rest is reused.
	big := *doc.Segments[0]
	big.Conditions = []model.Condition{{Attribute: "y", Op: model.OpExists}}
	after, err := Compile(replaceSegment(doc, &big), "prod", prev)
	if err != nil {
		t.Fatal(err)
	}
	nb, pb := after.segments["big"], prev.segments["big"]
	if nb == pb {
		t.Error("changed segment big was reused")
	}
	if nb.include == nil || nb.include != pb.include {
		t.Error("segment big's include set was rebuilt although the include list is the same slice")
	}
	if after.segments["wraps-big"] == prev.segments["wraps-big"] {
		t.Error("segment wraps-big names the changed segment but was reused")
	}
	if after.flags["uses-wrapper"] == prev.flags["uses-wrapper"] {
		t.Error("flag uses-wrapper names a changed segment but was reused")
	}
	if after.flags["plain"] != prev.flags["plain"] || after.segments["other"] != prev.segments["other"] || after.components["app"] != prev.components["app"] {
		t.Error("values unrelated to segment big were compiled again")
	}
	if got := after.Evaluate("uses-wrapper", new(Context).Bool("y", true)).Variant; got != "on" {
		t.Errorf("after changing big: uses-wrapper = %q, want on", got)
	}

	// Another project or environment is not reused from.
	other := *doc
	other.Project = "q"
	fresh, err := Compile(&other, "prod", prev)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.flags["plain"] == prev.flags["plain"] {
		t.Error("a flag was reused across projects")
	}
}
