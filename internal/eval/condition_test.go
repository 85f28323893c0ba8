package eval

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

// noSegments resolves no segment keys.
func noSegments(key string) (*segment, error) { return nil, fmt.Errorf("unknown segment %q", key) }

// holds compiles op with the JSON values and evaluates it against a context
// whose attribute "a" is the JSON attr (absent when attr is "").
func holds(t *testing.T, op model.Op, values, attr string) bool {
	t.Helper()
	var vals []any
	if err := json.Unmarshal([]byte(values), &vals); err != nil {
		t.Fatalf("values %s: %v", values, err)
	}
	c, err := compileCondition(model.Condition{Attribute: "a", Op: op, Values: vals}, noSegments)
	if err != nil {
		t.Fatalf("compileCondition(%s %s): %v", op, values, err)
	}
	ctxJSON := `{}`
	if attr != "" {
		ctxJSON = `{"a": ` + attr + `}`
	}
	ctx, err := DecodeContextJSON([]byte(ctxJSON))
	if err != nil {
		t.Fatalf("DecodeContextJSON(%s): %v", ctxJSON, err)
	}
	return c.holds(&ctx)
}

func TestConditionOperators(t *testing.T) {
	// negation maps each positive operator that has a negation to it.
	negation := map[model.Op]model.Op{
		model.OpIn:     model.OpNotIn,
		model.OpExists: model.OpNotExists,
	}
	tests := []struct {
		op     model.Op
		values string
		attr   string // JSON; "" = absent
		want   bool
	}{
		{model.OpIn, `["DE", "FR"]`, `"FR"`, true},
		{model.OpIn, `["DE", "FR"]`, `"de"`, false},
		{model.OpIn, `["DE", "FR"]`, `"GB"`, false},
		{model.OpIn, `["DE"]`, ``, false},
		{model.OpIn, `[42]`, `42`, true},
		{model.OpIn, `[42]`, `42.0`, true},
		{model.OpIn, `[42]`, `"42"`, false},
		{model.OpIn, `["42"]`, `42`, false},
		{model.OpIn, `[true]`, `true`, true},
		{model.OpIn, `[true]`, `false`, false},
		{model.OpIn, `[false]`, `false`, true},
		{model.OpIn, `["true"]`, `true`, false},
		{model.OpIn, `["staff"]`, `["ops", "staff"]`, true},
		{model.OpIn, `["staff"]`, `["ops"]`, false},
		{model.OpIn, `["staff"]`, `[]`, false},
		{model.OpIn, `["staff"]`, `[null]`, false},
		{model.OpIn, `["staff"]`, `[null, "staff"]`, true},
		{model.OpIn, `["a","b","c","d","e","f","g","h","i","j"]`, `"j"`, true},
		{model.OpIn, `["a","b","c","d","e","f","g","h","i","j"]`, `"k"`, false},
		{model.OpIn, `["a","b","c","d","e","f","g","h","i","j", 1]`, `1`, true},
		{model.OpContains, `["corp"]`, `"ana@corp.example"`, true},
		{model.OpContains, `["Corp"]`, `"ana@corp.example"`, false},
		{model.OpContains, `["x", "corp"]`, `"ana@corp.example"`, true},
		{model.OpContains, `["1"]`, `12`, false},
		{model.OpContains, `[1]`, `"12"`, false},
		{model.OpContains, `["s"]`, `["ops", "x"]`, true},
		{model.OpContains, `[""]`, `""`, true},
		{model.OpContains, `["a"]`, ``, false},
		{model.OpStartsWith, `["ana"]`, `"ana@x"`, true},
		{model.OpStartsWith, `["x"]`, `"ana@x"`, false},
		{model.OpEndsWith, `["@x"]`, `"ana@x"`, true},
		{model.OpEndsWith, `["ana"]`, `"ana@x"`, false},
		{model.OpMatches, `["^qa-[0-9]+@"]`, `"qa-12@corp"`, true},
		{model.OpMatches, `["[0-9]{2}@"]`, `"ana24@mail"`, true},
		{model.OpMatches, `["^[0-9]+$"]`, `"x1"`, false},
		{model.OpMatches, `["1"]`, `1`, false},
		{model.OpMatches, `["^b"]`, `["a", "b"]`, true},
		{model.OpLT, `[18]`, `17.5`, true},
		{model.OpLT, `[18]`, `18`, false},
		{model.OpLTE, `[18]`, `18`, true},
		{model.OpGT, `[18]`, `18`, false},
		{model.OpGT, `[18]`, `18.001`, true},
		{model.OpGTE, `[18]`, `18`, true},
		{model.OpGTE, `[18]`, `"20"`, false},
		{model.OpGTE, `["18"]`, `20`, false},
		{model.OpGTE, `[67, 32]`, `40`, true},
		{model.OpLT, `[0]`, `[5, -1]`, true},
		{model.OpLT, `[0]`, `true`, false},
		{model.OpSemverEQ, `["1.2.0"]`, `"1.2"`, true},
		{model.OpSemverEQ, `["1.2.0"]`, `"v1.2.0"`, true},
		{model.OpSemverEQ, `["1.2.0"]`, `"1.2.0+build.7"`, true},
		{model.OpSemverEQ, `["1.2.0"]`, `"1.2.0-rc.1"`, false},
		{model.OpSemverEQ, `["1.2.0"]`, `"V1.2.0"`, false},
		{model.OpSemverEQ, `["1.2.0"]`, `"01.2.0"`, false},
		{model.OpSemverEQ, `["1.2.0"]`, `120`, false},
		{model.OpSemverLT, `["2.0.0"]`, `"2.0.0-rc.1"`, true},
		{model.OpSemverLT, `["2.0.0"]`, `"2.0.0"`, false},
		{model.OpSemverLTE, `["2.0.0"]`, `"2.0.0"`, true},
		{model.OpSemverGT, `["1.10.0"]`, `"1.9.9"`, false},
		{model.OpSemverGT, `["1.9.9"]`, `"1.10.0"`, true},
		{model.OpSemverGTE, `["3.8.0-beta.1", "2.2"]`, `"2.4-rc.1"`, false},
		{model.OpSemverGTE, `["3.8.0-beta.1", "2.2"]`, `"2.4.0-rc.1"`, true},
		{model.OpSemverGTE, `["garbage", "2.2"]`, `"2.2.0"`, true},
		{model.OpSemverGTE, `["2.2"]`, `["garbage", "2.3"]`, true},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `"2023-12-31T23:59:59Z"`, true},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `"2024-01-01T00:00:00Z"`, false},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `"2024-01-01T01:00:00+02:00"`, true},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `"2023-12-31T23:59:59.999999999999Z"`, true},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `1704067199.5`, true},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `1704067200`, false},
		{model.OpBefore, `[1704067200]`, `"2023-12-31T23:59:59Z"`, true},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `"2023-12-31t23:59:59z"`, false},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `"2023-12-31"`, false},
		{model.OpBefore, `["2024-01-01T00:00:00Z"]`, `true`, false},
		{model.OpBefore, `["not a time"]`, `"2023-12-31T23:59:59Z"`, false},
		{model.OpAfter, `["2024-01-01T00:00:00Z"]`, `"2024-01-01T00:00:00.000000001Z"`, true},
		{model.OpAfter, `["2024-01-01T00:00:00.5Z"]`, `1704067200.5`, false},
		{model.OpAfter, `["2024-01-01T00:00:00.1Z"]`, `1704067200.1`, false},
		{model.OpBefore, `["2024-01-01T00:00:00.1Z"]`, `1704067200.1`, true},
		{model.OpAfter, `[1506943245]`, `["2010-01-01T00:00:00Z", 1506943246]`, true},
		{model.OpExists, `[]`, `"x"`, true},
		{model.OpExists, `[]`, `[]`, true},
		{model.OpExists, `[]`, `false`, true},
		{model.OpExists, `[]`, `null`, false},
		{model.OpExists, `[]`, ``, false},
		{model.OpExists, `[]`, `{}`, true},
		{model.OpExists, `[]`, `{"x":1}`, true},
		{model.OpIn, `["x"]`, `{"x":"x"}`, false},
		{model.OpIn, `["x"]`, `[{"x":"x"}]`, false},
		{model.OpIn, `["x"]`, `[["x"]]`, false},
		{model.OpIn, `["x"]`, `[{"x":"x"}, ["x"], "x"]`, true},
		{model.OpContains, `[""]`, `{"a":""}`, false},
		{model.OpStartsWith, `[""]`, `{}`, false},
		{model.OpEndsWith, `[""]`, `[{}]`, false},
		{model.OpMatches, `[""]`, `{}`, false},
		{model.OpLT, `[1e308]`, `{"n":1}`, false},
		{model.OpGTE, `[-1e308]`, `[{"n":1}]`, false},
		{model.OpSemverGTE, `["0.0.0"]`, `{"v":"1.0.0"}`, false},
		{model.OpAfter, `[0]`, `{"t":1}`, false},
		{model.OpBefore, `[1e12]`, `[[1]]`, false},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%s %s %s", tc.attr, tc.op, tc.values)
		t.Run(name, func(t *testing.T) {
			if got := holds(t, tc.op, tc.values, tc.attr); got != tc.want {
				t.Errorf("%s %s %s = %v, want %v", tc.attr, tc.op, tc.values, got, tc.want)
			}
			neg, ok := negation[tc.op]
			if !ok {
				return
			}
			// A negation is the exact opposite, except that not_in reads
			// the attribute and is false when it is absent.
			want := !tc.want
			if neg == model.OpNotIn && (tc.attr == "" || tc.attr == "null") {
				want = false
			}
			if got := holds(t, neg, tc.values, tc.attr); got != want {
				t.Errorf("%s %s %s = %v, want %v", tc.attr, neg, tc.values, got, want)
			}
		})
	}
}

func TestConditionAbsentAttributeIsFalse(t *testing.T) {
	for _, op := range []model.Op{
		model.OpIn, model.OpNotIn, model.OpContains, model.OpStartsWith, model.OpEndsWith, model.OpMatches,
		model.OpLT, model.OpLTE, model.OpGT, model.OpGTE,
		model.OpSemverEQ, model.OpSemverLT, model.OpSemverLTE, model.OpSemverGT, model.OpSemverGTE,
		model.OpBefore, model.OpAfter, model.OpExists,
	} {
		t.Run(string(op), func(t *testing.T) {
			if holds(t, op, `["1"]`, "") {
				t.Errorf("%s on an absent attribute holds", op)
			}
		})
	}
	if !holds(t, model.OpNotExists, `[]`, "") {
		t.Error("not_exists on an absent attribute does not hold")
	}
}

func TestConditionTargetingKeyAttribute(t *testing.T) {
	c, err := compileCondition(model.Condition{Attribute: "targetingKey", Op: model.OpStartsWith, Values: []any{"qa-"}}, noSegments)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ctx  *Context
		want bool
	}{
		{NewContext("qa-1"), true},
		{NewContext("user-1"), false},
		{new(Context), false},
	}
	for _, tc := range tests {
		if got := c.holds(tc.ctx); got != tc.want {
			key, _ := tc.ctx.TargetingKey()
			t.Errorf("targetingKey starts_with qa- for %q = %v, want %v", key, got, tc.want)
		}
	}
}

func TestConditionAttributeReferences(t *testing.T) {
	const ctxJSON = `{"targetingKey":"user-1","plan":"top","user.plan":"dotted",
		"user":{"plan":"pro","age":42,"org":{"id":"org-1","tags":["a","b"],"none":null},"list":[{"plan":"pro"}],"s":"str"},
		"a/b":{"x":"slash"},"m~n":{"x":"tilde"},"":{"":"empty"}}`
	ctx, err := DecodeContextJSON([]byte(ctxJSON))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attr   string
		op     model.Op
		values []any
		want   bool
	}{
		{"plan", model.OpIn, []any{"top"}, true},
		{"/plan", model.OpIn, []any{"top"}, true},
		{"user.plan", model.OpIn, []any{"dotted"}, true},
		{"/user/plan", model.OpIn, []any{"pro"}, true},
		{"/user/plan", model.OpNotIn, []any{"pro"}, false},
		{"/user/age", model.OpGT, []any{41.0}, true},
		{"/user/org/id", model.OpStartsWith, []any{"org-"}, true},
		{"/user/org/tags", model.OpIn, []any{"b"}, true},
		{"/user/org", model.OpExists, nil, true},
		{"/user/org", model.OpIn, []any{"org-1"}, false},
		{"/user/org", model.OpNotIn, []any{"org-1"}, true},
		{"/user/org/none", model.OpExists, nil, false},
		{"/user/org/none", model.OpNotExists, nil, true},
		{"/user/org/missing", model.OpNotIn, []any{"x"}, false},
		{"/user/org/missing", model.OpNotExists, nil, true},
		{"/user/list/0/plan", model.OpExists, nil, false},
		{"/user/s/x", model.OpExists, nil, false},
		{"/user/plan/x", model.OpNotExists, nil, true},
		{"/nobody/plan", model.OpNotExists, nil, true},
		{"/a~1b/x", model.OpIn, []any{"slash"}, true},
		{"/m~0n/x", model.OpIn, []any{"tilde"}, true},
		{"//", model.OpIn, []any{"empty"}, true},
		{"targetingKey", model.OpIn, []any{"user-1"}, true},
		{"/targetingKey", model.OpIn, []any{"user-1"}, true},
		{"/targetingKey/x", model.OpNotExists, nil, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %s %v", tc.attr, tc.op, tc.values), func(t *testing.T) {
			c, err := compileCondition(model.Condition{Attribute: tc.attr, Op: tc.op, Values: tc.values}, noSegments)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.holds(&ctx); got != tc.want {
				t.Errorf("%s %s %v = %v, want %v", tc.attr, tc.op, tc.values, got, tc.want)
			}
			if n := testing.AllocsPerRun(10, func() { c.holds(&ctx) }); n != 0 {
				t.Errorf("%s %s allocates %v times", tc.attr, tc.op, n)
			}
		})
	}
}

func TestCompileConditionErrors(t *testing.T) {
	tests := []struct {
		name string
		cond model.Condition
	}{
		{"unknown operator", model.Condition{Attribute: "a", Op: "like", Values: []any{"x"}}},
		{"invalid regexp", model.Condition{Attribute: "a", Op: model.OpMatches, Values: []any{"("}}},
		{"segment key not a string", model.Condition{Op: model.OpInSegment, Values: []any{1.0}}},
		{"unknown segment", model.Condition{Op: model.OpNotInSegment, Values: []any{"nope"}}},
		{"bad pointer escape", model.Condition{Attribute: "/user/~2", Op: model.OpExists}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := compileCondition(tc.cond, noSegments); err == nil {
				t.Errorf("compileCondition(%+v) = nil error, want an error", tc.cond)
			}
		})
	}
}

func TestInSegmentConditions(t *testing.T) {
	segs := map[string]*segment{
		"a": {include: newKeySet([]string{"u1"}, nil)},
		"b": {include: newKeySet([]string{"u2"}, nil)},
	}
	lookup := func(key string) (*segment, error) { return segs[key], nil }
	in, err := compileCondition(model.Condition{Op: model.OpInSegment, Values: []any{"a", "b"}}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	notIn, err := compileCondition(model.Condition{Op: model.OpNotInSegment, Values: []any{"a", "b"}}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want bool
	}{{"u1", true}, {"u2", true}, {"u3", false}} {
		ctx := NewContext(tc.key)
		if got := in.holds(ctx); got != tc.want {
			t.Errorf("in_segment [a b] for %s = %v, want %v", tc.key, got, tc.want)
		}
		if got := notIn.holds(ctx); got != !tc.want {
			t.Errorf("not_in_segment [a b] for %s = %v, want %v", tc.key, got, !tc.want)
		}
	}
	if !notIn.holds(new(Context)) {
		t.Error("not_in_segment without a targeting key does not hold")
	}
}
