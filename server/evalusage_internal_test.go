package server

import (
	"testing"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

func usageRuleset(t testing.TB) *eval.Ruleset {
	t.Helper()
	doc := &model.Document{Version: 1, Project: "shop", Environments: []string{"production"},
		Flags: []*model.Flag{{Key: "a", Type: model.TypeBool, Environments: map[string]*model.Targeting{
			"production": {Enabled: true, Default: &model.Serve{Variant: "on"}}}}}}
	rs, err := eval.Compile(doc, "production", nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestEvalUsageCountsWithoutAllocating(t *testing.T) {
	u := newEvalUsage()
	rs := usageRuleset(t)
	var ctx eval.Context
	res := rs.Evaluate("a", &ctx)
	u.count(rs, "a", &res) // the first count inserts the counter
	if n := testing.AllocsPerRun(1000, func() { u.count(rs, "a", &res) }); n != 0 {
		t.Errorf("count allocates %v times per evaluation, want 0", n)
	}
	unknown := rs.Evaluate("nope", &ctx)
	u.count(rs, "nope", &unknown)
	got := u.take()
	if len(got) != 1 || got[0].Flag != "a" || got[0].Variant != "on" || got[0].Count != 1002 || got[0].Project != "shop" {
		t.Fatalf("take() = %+v, want 1002 evaluations of a/on and no unknown flag", got)
	}
	if again := u.take(); len(again) != 0 {
		t.Errorf("take() again = %+v, want nothing new", again)
	}
}

// BenchmarkEvalUsageCount is the cost counting adds to each evaluation.
func BenchmarkEvalUsageCount(b *testing.B) {
	u := newEvalUsage()
	rs := usageRuleset(b)
	var ctx eval.Context
	res := rs.Evaluate("a", &ctx)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u.count(rs, "a", &res)
		}
	})
}
