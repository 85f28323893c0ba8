package eval_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/conformance"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// vectorFile is a conformance file: a document and cases, or bucketing cases.
type vectorFile struct {
	Document json.RawMessage   `json:"document"`
	Cases    []json.RawMessage `json:"cases"`
}

type bucketCase struct {
	Salt   string `json:"salt"`
	Unit   string `json:"unit"`
	Bucket uint32 `json:"bucket"`
}

// flagCase is one shared flag vector.
type flagCase = conformance.FlagCase

type availabilityCase struct {
	Environment    string          `json:"environment"`
	Component      string          `json:"component"`
	Context        json.RawMessage `json:"context"`
	CurrentVersion string          `json:"current_version"`
	Expect         struct {
		Version string      `json:"version"`
		Reason  string      `json:"reason"`
		Rule    string      `json:"rule"`
		Update  string      `json:"update"`
		Notes   []eval.Note `json:"notes"`
		Error   string      `json:"error"`
	} `json:"expect"`
}

func readVectors(t *testing.T, path string) vectorFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if len(vf.Cases) == 0 {
		t.Fatalf("%s has no cases", path)
	}
	return vf
}

// compileAll loads a document through the import path (model.Parse,
// model.Validate) and compiles every environment.
func compileAll(t testing.TB, raw []byte) map[string]*eval.Ruleset {
	t.Helper()
	doc, err := model.Parse(raw)
	if err != nil {
		t.Fatalf("model.Parse: %v", err)
	}
	if err := model.Validate(doc); err != nil {
		t.Fatalf("model.Validate: %v", err)
	}
	rulesets := make(map[string]*eval.Ruleset, len(doc.Environments))
	for _, env := range doc.Environments {
		rs, err := eval.Compile(doc, env, nil)
		if err != nil {
			t.Fatalf("Compile(%q): %v", env, err)
		}
		rulesets[env] = rs
	}
	return rulesets
}

// namedContext is a context and how it was built.
type namedContext struct {
	how string
	ctx *eval.Context
}

// contexts decodes a case context both ways a server or SDK would: with
// DecodeContextJSON, and with encoding/json plus ContextFromMap.
func contexts(t *testing.T, raw json.RawMessage) []namedContext {
	t.Helper()
	decoded, err := eval.DecodeContextJSON(raw)
	if err != nil {
		t.Fatalf("DecodeContextJSON(%s): %v", raw, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", raw, err)
	}
	fromMap := eval.ContextFromMap(m)
	return []namedContext{{"DecodeContextJSON", &decoded}, {"ContextFromMap", &fromMap}}
}

// sameJSON reports whether got and want hold equal JSON values; an absent
// want matches only nil.
func sameJSON(got any, want json.RawMessage) bool {
	if len(want) == 0 {
		return got == nil
	}
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		return false
	}
	return reflect.DeepEqual(got, w)
}

func TestConformance(t *testing.T) {
	for _, path := range conformance.MustFiles(t, conformance.Dir(t)) {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			vf := readVectors(t, path)
			if strings.HasPrefix(name, "bucketing") {
				runBucketing(t, vf)
				return
			}
			runFlags(t, vf)
		})
	}
}

func runBucketing(t *testing.T, vf vectorFile) {
	for i, raw := range vf.Cases {
		var tc bucketCase
		if err := json.Unmarshal(raw, &tc); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		t.Run(fmt.Sprintf("%03d", i), func(t *testing.T) {
			if got := eval.Bucket(tc.Salt, tc.Unit); got != tc.Bucket {
				t.Errorf("Bucket(%q, %q) = %d, want %d", tc.Salt, tc.Unit, got, tc.Bucket)
			}
		})
	}
}

func runFlags(t *testing.T, vf vectorFile) {
	rulesets := compileAll(t, vf.Document)
	for i, raw := range vf.Cases {
		var tc flagCase
		if err := json.Unmarshal(raw, &tc); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		t.Run(fmt.Sprintf("%04d-%s-%s", i, tc.Environment, tc.Flag), func(t *testing.T) {
			rs := rulesets[tc.Environment]
			if rs == nil {
				t.Fatalf("environment %q is not in the document", tc.Environment)
			}
			for _, c := range contexts(t, tc.Context) {
				got := rs.Evaluate(tc.Flag, c.ctx)
				want := tc.Expect
				if got.Variant != want.Variant || got.Reason != eval.Reason(want.Reason) ||
					got.Rule != want.Rule || got.ErrorCode != eval.ErrorCode(want.Error) ||
					!sameJSON(got.Value, want.Value) || !sameJSON(decodeJSON(got.ValueJSON), want.Value) {
					t.Errorf("%s: Evaluate(%q, %s) = {variant %q, value %s, reason %s, rule %q, error %q}, want {variant %q, value %s, reason %s, rule %q, error %q}",
						c.how, tc.Flag, tc.Context, got.Variant, got.ValueJSON, got.Reason, got.Rule, got.ErrorCode,
						want.Variant, want.Value, want.Reason, want.Rule, want.Error)
				}
			}
		})
	}
}

func decodeJSON(b []byte) any {
	if b == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Sprintf("invalid JSON %q", b)
	}
	return v
}

func TestAvailabilityConformance(t *testing.T) {
	for _, path := range conformance.MustFiles(t, conformance.Dir(t, "availability")) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			vf := readVectors(t, path)
			rulesets := compileAll(t, vf.Document)
			for i, raw := range vf.Cases {
				var tc availabilityCase
				if err := json.Unmarshal(raw, &tc); err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				t.Run(fmt.Sprintf("%04d-%s-%s-%s", i, tc.Environment, tc.Component, tc.CurrentVersion), func(t *testing.T) {
					rs := rulesets[tc.Environment]
					if rs == nil {
						t.Fatalf("environment %q is not in the document", tc.Environment)
					}
					for _, c := range contexts(t, tc.Context) {
						got := rs.Availability(tc.Component, c.ctx, tc.CurrentVersion)
						want := tc.Expect
						if got.Version != want.Version || got.Reason != eval.Reason(want.Reason) ||
							got.Rule != want.Rule || got.Update != eval.Update(want.Update) ||
							got.ErrorCode != eval.ErrorCode(want.Error) || !sameNotes(got.Notes, want.Notes) {
							t.Errorf("%s: Availability(%q, %s, %q) = %+v, want %+v", c.how, tc.Component, tc.Context, tc.CurrentVersion, got, want)
						}
					}
				})
			}
		})
	}
}

func sameNotes(got, want []eval.Note) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestVectorFilesRequiresVectors pins that the vector loader refuses a
// directory without vectors rather than passing vacuously.
func TestVectorFilesRequiresVectors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
	}{
		{"empty directory", t.TempDir()},
		{"no json files", dir},
		{"missing directory", filepath.Join(dir, "missing")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if files, err := conformance.Files(tc.dir); err == nil {
				t.Errorf("vectorFiles(%s) = %v, nil; want an error", tc.dir, files)
			}
		})
	}
}
