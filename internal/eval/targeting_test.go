package eval

import (
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

func TestSegmentMembership(t *testing.T) {
	de, err := compileCondition(model.Condition{Attribute: "country", Op: model.OpIn, Values: []any{"DE"}}, noSegments)
	if err != nil {
		t.Fatal(err)
	}
	beta, err := compileCondition(model.Condition{Attribute: "plan", Op: model.OpIn, Values: []any{"beta"}}, noSegments)
	if err != nil {
		t.Fatal(err)
	}
	all := &segment{include: newKeySet([]string{"in", "both"}, nil), exclude: newKeySet([]string{"out", "both"}, nil), conds: []condition{de, beta}}
	anyOf := &segment{conds: []condition{de, beta}, any: true}
	listed := &segment{include: newKeySet([]string{"in"}, nil)}
	tests := []struct {
		name string
		seg  *segment
		ctx  *Context
		want bool
	}{
		{"included", all, NewContext("in"), true},
		{"excluded", all, NewContext("out").String("country", "DE").String("plan", "beta"), false},
		{"exclude wins over include", all, NewContext("both"), false},
		{"all conditions", all, NewContext("x").String("country", "DE").String("plan", "beta"), true},
		{"not all conditions", all, NewContext("x").String("country", "DE"), false},
		{"no key, conditions", all, new(Context).String("country", "DE").String("plan", "beta"), true},
		{"any condition", anyOf, new(Context).String("plan", "beta"), true},
		{"no condition of any", anyOf, new(Context).String("plan", "pro"), false},
		{"no conditions: only included", listed, NewContext("x"), false},
		{"no conditions: included", listed, NewContext("in"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.seg.contains(tc.ctx); got != tc.want {
				t.Errorf("contains = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRolloutBoundaries(t *testing.T) {
	// Bucket("new-checkout", "edge-382139") is 49999 and
	// Bucket("new-checkout", "edge-31291") is 50000 (shared vectors).
	resolve := func(variant, _ string) (int32, error) { return int32(variant[0] - 'a'), nil }
	tests := []struct {
		name    string
		rollout []model.Weighted
		key     string
		want    int32
	}{
		{"below the first sum", []model.Weighted{{Variant: "a", Weight: 50000}, {Variant: "b", Weight: 50000}}, "edge-382139", 0},
		{"at the first sum goes to the second", []model.Weighted{{Variant: "a", Weight: 50000}, {Variant: "b", Weight: 50000}}, "edge-31291", 1},
		{"zero weight is never served", []model.Weighted{{Variant: "a", Weight: 0}, {Variant: "b", Weight: 100000}, {Variant: "c", Weight: 0}}, "edge-31291", 1},
		{"growing the first entry keeps its units", []model.Weighted{{Variant: "a", Weight: 50001}, {Variant: "b", Weight: 49999}}, "edge-31291", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := compileServe(model.Serve{Rollout: tc.rollout}, resolve)
			if err != nil {
				t.Fatal(err)
			}
			tg := targeting{salt: "new-checkout", saltHash: saltPrefix("new-checkout"), bucketBy: attrRef{name: TargetingKeyAttribute}}
			if m := tg.serve(&s, NewContext(tc.key), ReasonSplit, "r"); m.outcome != tc.want || m.reason != ReasonSplit {
				t.Errorf("serve(%s) = %+v, want outcome %d", tc.key, m, tc.want)
			}
		})
	}
}
