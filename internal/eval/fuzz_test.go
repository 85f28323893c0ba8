package eval_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/internal/conformance"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// fuzzRulesets compiles every environment of every conformance document and
// of the bench flag set.
func fuzzRulesets(f *testing.F) []*eval.Ruleset {
	f.Helper()
	dir := conformance.Dir(f)
	var docs [][]byte
	for _, sub := range []string{dir, filepath.Join(dir, "availability")} {
		files, err := conformance.Files(sub)
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			var vf vectorFile
			if err := json.Unmarshal(data, &vf); err != nil {
				f.Fatalf("decode %s: %v", path, err)
			}
			if len(vf.Document) > 0 {
				docs = append(docs, vf.Document)
			}
		}
	}
	flagset := os.Getenv("SWITCHYARD_BENCH_FLAGSET")
	if flagset == "" {
		flagset = conformance.FlagSet(f)
	}
	data, err := os.ReadFile(flagset)
	if err != nil {
		f.Fatalf("read bench flag set: %v", err)
	}
	docs = append(docs, data)
	var rulesets []*eval.Ruleset
	for _, doc := range docs {
		d, err := model.Parse(doc)
		if err != nil {
			f.Fatalf("model.Parse: %v", err)
		}
		if err := model.Validate(d); err != nil {
			f.Fatalf("model.Validate: %v", err)
		}
		for _, env := range d.Environments {
			rs, err := eval.Compile(d, env, nil)
			if err != nil {
				f.Fatalf("Compile(%s, %s): %v", d.Project, env, err)
			}
			rulesets = append(rulesets, rs)
		}
	}
	return rulesets
}

// checkResult checks the invariants every flag result keeps.
func checkResult(t *testing.T, key string, r eval.Result) {
	t.Helper()
	isError := r.Reason == eval.ReasonError
	switch {
	case isError != (r.ErrorCode != ""), isError != (r.ErrorMessage != ""):
		t.Fatalf("%s: reason %s with error %q %q", key, r.Reason, r.ErrorCode, r.ErrorMessage)
	case isError && (r.Variant != "" || r.Value != nil || r.ValueJSON != nil || r.Rule != ""):
		t.Fatalf("%s: error result carries %+v", key, r)
	case (r.Variant != "") != (r.ValueJSON != nil):
		t.Fatalf("%s: variant %q with value %s", key, r.Variant, r.ValueJSON)
	case (r.Reason == eval.ReasonDisabled || r.Reason == eval.ReasonPrerequisiteFailed) && r.Rule != "":
		t.Fatalf("%s: reason %s with rule %q", key, r.Reason, r.Rule)
	}
}

// checkAvailability checks the invariants every availability keeps.
func checkAvailability(t *testing.T, key string, a eval.Availability) {
	t.Helper()
	isError := a.Reason == eval.ReasonError
	switch {
	case isError != (a.ErrorCode != ""):
		t.Fatalf("%s: reason %s with error %q", key, a.Reason, a.ErrorCode)
	case isError && (a.Version != "" || a.Update != "" || a.Notes != nil):
		t.Fatalf("%s: error availability carries %+v", key, a)
	case !isError && a.Update == "":
		t.Fatalf("%s: no update level in %+v", key, a)
	case (a.Update == eval.UpdateNone) != (a.Notes == nil) && !isError:
		t.Fatalf("%s: update %s with notes %v", key, a.Update, a.Notes)
	}
}

// FuzzEvaluate evaluates every flag and component of the conformance
// documents and the bench flag set for arbitrary contexts: evaluation never
// panics and its results keep their invariants.
func FuzzEvaluate(f *testing.F) {
	rulesets := fuzzRulesets(f)
	f.Add([]byte(`{"targetingKey":"user-1","country":"DE","plan":"beta"}`), "2.3.1")
	f.Add([]byte(`{"targetingKey":"u013","user":{"plan":"pro","age":43,"country":"SE","id":"uid-1","org":{"id":"org-156","region":"ap-south","groups":[null,"vip"]}},"a/b":{"region":"eu-west","age":30}}`), "2.2.0")
	f.Add([]byte(`{"targetingKey":"u1","user":{"id":{"not":"a unit"},"org":[{"id":"org-1"}]},"a/b":[{"age":1}],"country":{"code":"DE"}}`), "1.0.0")
	f.Add([]byte(`{"targetingKey":"u2","user":"not-an-object","a/b":null,"groups":[["vip"],{"x":1},"vip"]}`), "v3")
	f.Fuzz(func(t *testing.T, data []byte, current string) {
		ctx, err := eval.DecodeContextJSON(data)
		if err != nil {
			return
		}
		for _, rs := range rulesets {
			rs.EvaluateAll(&ctx, func(key string, r eval.Result) {
				checkResult(t, key, r)
				if again := rs.Evaluate(key, &ctx); again.Variant != r.Variant || again.Reason != r.Reason || again.Rule != r.Rule {
					t.Fatalf("%s: Evaluate %+v differs from EvaluateAll %+v", key, again, r)
				}
			})
			for _, key := range rs.ComponentKeys() {
				checkAvailability(t, key, rs.Availability(key, &ctx, current))
			}
		}
	})
}
