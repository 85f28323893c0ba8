package server

import (
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// usageRuleset compiles a project shop with the bool flag a, serving on
// in production.
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

// compileFlags compiles a project with the flags a, b and c in production.
func compileFlags(t testing.TB, revision uint64) *eval.Ruleset {
	t.Helper()
	doc, err := model.Parse([]byte(`
version: 1
project: p
environments: [production]
flags:
  - {key: a, type: bool, environments: {production: {enabled: true}}}
  - {key: b, type: bool, environments: {production: {enabled: true}}}
  - {key: c, type: bool}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := eval.Compile(doc, "production", nil)
	if err != nil {
		t.Fatal(err)
	}
	rs.Revision = revision
	return rs
}

func TestFlagCountsCapTheFlagLabel(t *testing.T) {
	c := newFlagCounts(2)
	rs := compileFlags(t, 1)
	for _, key := range []string{"a", "b", "c", "c", "nope"} {
		res := rs.Evaluate(key, eval.NewContext("u"))
		c.count(rs, key, &res)
	}
	// A recompiled ruleset keeps counting into the same series.
	rs2 := compileFlags(t, 2)
	res := rs2.Evaluate("a", eval.NewContext("u"))
	c.count(rs2, "a", &res)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	got, err := testutil.GatherAndCount(reg, "switchyard_flag_evaluations_total")
	if err != nil {
		t.Fatal(err)
	}
	if got != 4 {
		t.Errorf("series = %d, want 4 (a, b, _other DISABLED, _other ERROR)", got)
	}
	for _, tc := range []struct {
		flag, reason string
		want         float64
	}{
		{"a", "STATIC", 2},
		{"b", "STATIC", 1},
		{"_other", "DISABLED", 2},
		{"_other", "ERROR", 1},
	} {
		if got := flagCount(t, reg, tc.flag, tc.reason); got != tc.want {
			t.Errorf("flag %s reason %s = %v, want %v", tc.flag, tc.reason, got, tc.want)
		}
	}
}

// flagCount reads one series of switchyard_flag_evaluations_total.
func flagCount(t *testing.T, reg *prometheus.Registry, flag, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["flag"] == flag && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestFlagCountsDoNotAllocate(t *testing.T) {
	c := newFlagCounts(maxFlagSeries)
	rs := compileFlags(t, 1)
	ctx := eval.NewContext("u")
	first := rs.Evaluate("a", ctx)
	c.count(rs, "a", &first) // builds the table and the variant's counter
	allocs := testing.AllocsPerRun(1000, func() {
		res := rs.Evaluate("a", ctx)
		c.count(rs, "a", &res)
		unknown := rs.Evaluate("nope", ctx)
		c.table(rs).count("nope", &unknown)
	})
	if allocs != 0 {
		t.Errorf("evaluate and count = %v allocs, want 0", allocs)
	}
}

func BenchmarkFlagCountsNoAlloc(b *testing.B) {
	c := newFlagCounts(maxFlagSeries)
	rs := compileFlags(b, 1)
	ctx := eval.NewContext("u")
	b.ReportAllocs()
	for b.Loop() {
		res := rs.Evaluate("a", ctx)
		c.count(rs, "a", &res)
	}
}

func TestFlagCountsTakeUsageByVariant(t *testing.T) {
	c := newFlagCounts(maxFlagSeries)
	rs := usageRuleset(t)
	var ctx eval.Context
	res := rs.Evaluate("a", &ctx)
	c.count(rs, "a", &res) // the first count inserts the variant's counter
	if n := testing.AllocsPerRun(1000, func() { c.count(rs, "a", &res) }); n != 0 {
		t.Errorf("count allocates %v times per evaluation, want 0", n)
	}
	unknown := rs.Evaluate("nope", &ctx)
	c.count(rs, "nope", &unknown)
	got := c.take()
	if len(got) != 1 || got[0].Flag != "a" || got[0].Variant != "on" || got[0].Count != 1002 || got[0].Project != "shop" {
		t.Fatalf("take() = %+v, want 1002 evaluations of a/on and no unknown flag", got)
	}
	if again := c.take(); len(again) != 0 {
		t.Errorf("take() again = %+v, want nothing new", again)
	}
}

// TestFlagCountsOneCountFeedsMetricsAndUsage pins that the metric and the
// usage counts come from the same table: a flag beyond the label cap is
// counted under flag="_other" in the metric and under its own key in the
// usage counts, and only a flag unknown to the ruleset is left out of the
// usage counts.
func TestFlagCountsOneCountFeedsMetricsAndUsage(t *testing.T) {
	c := newFlagCounts(1)
	rs := compileFlags(t, 1)
	for _, key := range []string{"a", "b", "b", "c", "nope"} {
		res := rs.Evaluate(key, eval.NewContext("u"))
		c.count(rs, key, &res)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	for _, tc := range []struct {
		flag, reason string
		want         float64
	}{
		{"a", "STATIC", 1},
		{"_other", "STATIC", 2},
		{"_other", "DISABLED", 1},
		{"_other", "ERROR", 1},
	} {
		if got := flagCount(t, reg, tc.flag, tc.reason); got != tc.want {
			t.Errorf("metric flag %s reason %s = %v, want %v", tc.flag, tc.reason, got, tc.want)
		}
	}
	usage := map[string]uint64{}
	for _, n := range c.take() {
		usage[n.Flag+"/"+n.Variant] += n.Count
	}
	want := map[string]uint64{"a/off": 1, "b/off": 2, "c/off": 1}
	if !maps.Equal(usage, want) {
		t.Errorf("usage = %v, want %v", usage, want)
	}
}

// BenchmarkFlagCountsParallel is the cost counting adds to each evaluation
// when many evaluate at once.
func BenchmarkFlagCountsParallel(b *testing.B) {
	c := newFlagCounts(maxFlagSeries)
	rs := usageRuleset(b)
	var ctx eval.Context
	res := rs.Evaluate("a", &ctx)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.count(rs, "a", &res)
		}
	})
}
