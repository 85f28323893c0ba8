package server

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

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
		c.count(rs, key, res.Reason)
	}
	// A recompiled ruleset keeps counting into the same series.
	rs2 := compileFlags(t, 2)
	c.count(rs2, "a", eval.ReasonStatic)
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
	c.count(rs, "a", eval.ReasonStatic) // builds the table
	allocs := testing.AllocsPerRun(1000, func() {
		res := rs.Evaluate("a", ctx)
		c.count(rs, "a", res.Reason)
		c.table(rs).counts("nope").add(eval.ReasonError)
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
		c.count(rs, "a", res.Reason)
	}
}
