// Package benchmarks holds Switchyard's micro-benchmarks. Run them with
//
//	go test -run '^$' -bench . -benchmem ./benchmarks/
//
// SWITCHYARD_BENCH_FLAGSET names the flag set to load (default
// testdata/bench/flagset.yaml at the module root, a copy of the shared set).
package benchmarks

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/conformance"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// numContexts is how many prepared contexts a benchmark cycles through.
const numContexts = 1024

var countries = []string{"DE", "FR", "US", "GB", "ES", "IT"}

// flagsetPath returns $SWITCHYARD_BENCH_FLAGSET or the shared flag set.
func flagsetPath(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("SWITCHYARD_BENCH_FLAGSET"); p != "" {
		return p
	}
	return conformance.FlagSet(b)
}

// loadFlagset reads the bench flag set through the import path.
func loadFlagset(b *testing.B) *model.Document {
	b.Helper()
	data, err := os.ReadFile(flagsetPath(b))
	if err != nil {
		b.Fatalf("read flag set: %v", err)
	}
	doc, err := model.Parse(data)
	if err != nil {
		b.Fatalf("model.Parse: %v", err)
	}
	if err := model.Validate(doc); err != nil {
		b.Fatalf("model.Validate: %v", err)
	}
	return doc
}

func compile(b *testing.B, doc *model.Document, prev *eval.Ruleset) *eval.Ruleset {
	b.Helper()
	rs, err := eval.Compile(doc, "production", prev)
	if err != nil {
		b.Fatalf("Compile: %v", err)
	}
	return rs
}

// benchContexts returns numContexts contexts with random targeting keys and
// a country drawn from countries, the same on every run.
func benchContexts() []eval.Context {
	r := rand.New(rand.NewPCG(1, 2))
	ctxs := make([]eval.Context, numContexts)
	for i := range ctxs {
		ctxs[i].SetTargetingKey(fmt.Sprintf("user-%d", r.Uint32())).
			String("country", countries[r.IntN(len(countries))])
	}
	return ctxs
}

func BenchmarkEvaluate(b *testing.B) {
	rs := compile(b, loadFlagset(b), nil)
	ctxs := benchContexts()
	for _, key := range []string{"new-checkout", "banner"} {
		b.Run(key, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if r := rs.Evaluate(key, &ctxs[i%numContexts]); r.ErrorCode != "" {
					b.Fatalf("Evaluate(%q) = %+v", key, r)
				}
				i++
			}
		})
	}
	b.Run("all-flags", func(b *testing.B) {
		if rs.FlagCount() != 102 {
			b.Fatalf("FlagCount() = %d, want 102", rs.FlagCount())
		}
		b.ReportAllocs()
		i, errors := 0, 0
		count := func(_ string, r eval.Result) {
			if r.ErrorCode != "" {
				errors++
			}
		}
		for b.Loop() {
			rs.EvaluateAll(&ctxs[i%numContexts], count)
			i++
		}
		if errors > 0 {
			b.Fatalf("%d evaluations failed", errors)
		}
	})
}

func BenchmarkDecodeContext(b *testing.B) {
	ctxs := benchContexts()
	docs := make([][]byte, len(ctxs))
	for i := range ctxs {
		key, _ := ctxs[i].TargetingKey()
		docs[i], _ = json.Marshal(map[string]any{
			"targetingKey": key,
			"country":      countries[i%len(countries)],
			"plan":         "beta",
			"age":          30 + i%40,
			"beta":         i%2 == 0,
			"groups":       []string{"staff", "eu"},
		})
	}
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := eval.DecodeContextJSON(docs[i%numContexts]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("reuse", func(b *testing.B) {
		b.ReportAllocs()
		var ctx eval.Context
		i := 0
		for b.Loop() {
			if err := ctx.DecodeJSON(docs[i%numContexts]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkRecompile compiles the flag set plus a segment of 1,000,000
// included keys, in shard order as the store keeps a long list
// (keylist.Arrange). one-flag-change recompiles after a change to one flag
// with the previous ruleset at hand, as the server does on every write;
// one-key-change after one key was added to the segment; full compiles from
// scratch for comparison.
func BenchmarkRecompile(b *testing.B) {
	base := loadFlagset(b)
	keys := make([]string, 1_000_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	keys = keylist.Arrange(keys)
	big := &model.Segment{Key: "big", Include: keys}
	uses := &model.Flag{
		Key:  "uses-big",
		Type: model.TypeBool,
		Environments: map[string]*model.Targeting{"production": {
			Enabled: true,
			Rules:   []model.Rule{{ID: "big", Segments: []string{"big"}, Serve: model.Serve{Variant: "on"}}},
			Default: &model.Serve{Variant: "off"},
		}},
	}
	docA := *base
	docA.Segments = append(append([]*model.Segment(nil), base.Segments...), big)
	docA.Flags = append(append([]*model.Flag(nil), base.Flags...), uses)
	// docB differs from docA in one flag: banner's production targeting.
	docB := docA
	docB.Flags = append([]*model.Flag(nil), docA.Flags...)
	for i, f := range docB.Flags {
		if f.Key == "banner" {
			changed := *f
			tg := *f.Environments["production"]
			tg.Enabled = !tg.Enabled
			changed.Environments = map[string]*model.Targeting{"production": &tg}
			docB.Flags[i] = &changed
		}
	}
	docs := []*model.Document{&docA, &docB}
	// docC differs from docA in one key added to the big segment.
	docC := docA
	docC.Segments = append([]*model.Segment(nil), docA.Segments...)
	docC.Segments[len(docC.Segments)-1] = &model.Segment{Key: "big", Include: keylist.Arrange(append(slices.Clip(keys), "user-new"))}
	keyDocs := []*model.Document{&docA, &docC}

	b.Run("one-flag-change", func(b *testing.B) {
		prev := compile(b, &docA, nil)
		b.ReportAllocs()
		i := 1
		for b.Loop() {
			prev = compile(b, docs[i%2], prev)
			i++
		}
	})
	b.Run("one-key-change", func(b *testing.B) {
		prev := compile(b, &docA, nil)
		b.ReportAllocs()
		i := 1
		cpu := cpuTime(b)
		for b.Loop() {
			prev = compile(b, keyDocs[i%2], prev)
			i++
		}
		// CPU time, not wall time: the figure to compare on a shared machine.
		b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	})
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			compile(b, &docA, nil)
		}
	})
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSegmentSize evaluates a flag whose rule tests membership of a
// segment with 10 and with 1,000,000 included keys: include and exclude
// lists are hash sets, so the two cost the same.
func BenchmarkSegmentSize(b *testing.B) {
	for _, n := range []int{10, 1_000_000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("user-%d", i)
		}
		doc := &model.Document{
			Version: 1, Project: "bench", Environments: []string{"production"},
			Segments: []*model.Segment{{Key: "listed", Include: keys}},
			Flags: []*model.Flag{{
				Key: "gated", Type: model.TypeBool,
				Environments: map[string]*model.Targeting{"production": {
					Enabled: true,
					Rules:   []model.Rule{{ID: "listed", Segments: []string{"listed"}, Serve: model.Serve{Variant: "on"}}},
					Default: &model.Serve{Variant: "off"},
				}},
			}},
		}
		rs := compile(b, doc, nil)
		ctxs := benchContexts()
		for i := range ctxs {
			if i%2 == 0 {
				ctxs[i].SetTargetingKey(keys[i%n])
			}
		}
		b.Run(fmt.Sprintf("include-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				rs.Evaluate("gated", &ctxs[i%numContexts])
				i++
			}
		})
	}
}

// nestedDoc reads nested attributes through JSON Pointers: a rule on two of
// them and a rollout bucketed by a third.
const nestedDoc = `{"version": 1, "project": "p", "environments": ["production"],
  "flags": [{"key": "nested", "type": "bool", "environments": {"production": {"enabled": true, "bucket_by": "/user/org/id",
    "rules": [{"id": "gold", "conditions": [{"attribute": "/user/plan", "op": "in", "values": ["pro"]},
      {"attribute": "/user/org/tier", "op": "in", "values": ["gold"]}], "serve": {"variant": "on"}}],
    "default": {"rollout": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}}}]}`

// BenchmarkEvaluateNested evaluates a flag whose rule and rollout read
// nested attributes; like every evaluation, it must not allocate.
func BenchmarkEvaluateNested(b *testing.B) {
	doc, err := model.Parse([]byte(nestedDoc))
	if err != nil {
		b.Fatal(err)
	}
	rs := compile(b, doc, nil)
	r := rand.New(rand.NewPCG(1, 2))
	ctxs := make([]eval.Context, numContexts)
	plans, tiers := []string{"free", "pro"}, []string{"silver", "gold"}
	for i := range ctxs {
		ctxs[i].SetTargetingKey(fmt.Sprintf("user-%d", r.Uint32())).Set("user", map[string]any{
			"plan": plans[r.IntN(2)],
			"org":  map[string]any{"id": fmt.Sprintf("org-%d", r.IntN(100)), "tier": tiers[r.IntN(2)]},
		})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if res := rs.Evaluate("nested", &ctxs[i%numContexts]); res.ErrorCode != "" {
			b.Fatalf("Evaluate = %+v", res)
		}
		i++
	}
}
