package eval

import (
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

// unitCase is a case of TestUnit, which TestEvaluateUnit shares.
type unitCase struct {
	name   string
	flag   string
	ctx    *Context
	want   string
	wantOK bool
}

// unitRuleset compiles flags bucketed by the targeting key, by another
// attribute, and without targeting, with the cases of Unit for them.
func unitRuleset(t *testing.T) (*Ruleset, []unitCase) {
	t.Helper()
	doc := &model.Document{
		Version: 1, Project: "p", Environments: []string{"prod"},
		Flags: []*model.Flag{
			{Key: "by-key", Type: model.TypeBool, Environments: map[string]*model.Targeting{"prod": {Enabled: true}}},
			{Key: "by-account", Type: model.TypeBool, Environments: map[string]*model.Targeting{"prod": {Enabled: true, BucketBy: "account"}}},
			{Key: "no-targeting", Type: model.TypeBool},
		},
	}
	rs, err := Compile(doc, "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs, []unitCase{
		{"targeting key", "by-key", NewContext("u1").String("account", "a1"), "u1", true},
		{"bucket_by string", "by-account", NewContext("u1").String("account", "a1"), "a1", true},
		{"bucket_by integral number", "by-account", NewContext("u1").Number("account", 42), "42", true},
		{"bucket_by fraction", "by-account", NewContext("u1").Number("account", 4.2), "", false},
		{"bucket_by absent", "by-account", NewContext("u1"), "", false},
		{"no targeting here", "no-targeting", NewContext("u1"), "u1", true},
		{"unknown flag", "nope", NewContext("u1"), "u1", true},
		{"no targeting key", "by-key", new(Context), "", false},
		{"nil context", "by-key", nil, "", false},
	}
}

func TestUnit(t *testing.T) {
	rs, tests := unitRuleset(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := rs.Unit(tc.flag, tc.ctx)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Unit(%q) = %q, %v, want %q, %v", tc.flag, got, ok, tc.want, tc.wantOK)
			}
		})
	}
	ctx := NewContext("u1").String("account", "a1")
	if n := testing.AllocsPerRun(100, func() { rs.Unit("by-account", ctx) }); n != 0 {
		t.Errorf("Unit of a string attribute allocates %v times, want 0", n)
	}
}

func TestEvaluateUnitIsEvaluateAndUnit(t *testing.T) {
	rs, tests := unitRuleset(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, unit, ok := rs.EvaluateUnit(tc.flag, tc.ctx)
			if want := rs.Evaluate(tc.flag, tc.ctx); !reflect.DeepEqual(r, want) {
				t.Errorf("EvaluateUnit(%q) result = %+v, want %+v", tc.flag, r, want)
			}
			if unit != tc.want || ok != tc.wantOK {
				t.Errorf("EvaluateUnit(%q) unit = %q, %v, want %q, %v", tc.flag, unit, ok, tc.want, tc.wantOK)
			}
		})
	}
}
