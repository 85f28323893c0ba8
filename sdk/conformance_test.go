package sdk_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/conformance"

	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// vectorFile is a file of the shared flag vectors.
type vectorFile = conformance.FlagFile

// outcome is what the SDK answered, in the vectors' terms.
type outcome struct {
	Variant string
	Value   any
	Reason  string
	Rule    string
	Error   string
}

// TestConformance imports every public vector document into a real server
// over REST and checks every case through the SDK's Detail getters, with
// the context built both ways an application would.
func TestConformance(t *testing.T) {
	dir := conformance.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, servertest.Options{})
	ran := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var vf vectorFile
		if err := json.Unmarshal(data, &vf); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		if len(vf.Document) == 0 {
			continue // bucketing vectors: no document
		}
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			ran += runVectors(t, srv, vf)
		})
	}
	if ran == 0 {
		t.Fatalf("no conformance cases in %s", dir)
	}
}

// runVectors imports one vector file's document and checks its cases; it
// returns the number of cases.
func runVectors(t *testing.T, srv *servertest.Server, vf vectorFile) int {
	var doc struct {
		Project      string   `json:"project"`
		Environments []string `json:"environments"`
		Flags        []struct {
			Key  string `json:"key"`
			Type string `json:"type"`
		} `json:"flags"`
	}
	if err := json.Unmarshal(vf.Document, &doc); err != nil {
		t.Fatal(err)
	}
	srv.Admin(t, "POST", "/api/v1/documents:import", map[string]any{"document": vf.Document})
	types := map[string]string{}
	for _, f := range doc.Flags {
		types[f.Key] = f.Type
	}
	clients := map[string]*sdk.Client{}
	for _, env := range doc.Environments {
		clients[env] = connect(t, srv, srv.SDKKey(t, doc.Project, env))
	}
	for i, tc := range vf.Cases {
		t.Run(fmt.Sprintf("%04d-%s-%s", i, tc.Environment, tc.Flag), func(t *testing.T) {
			c := clients[tc.Environment]
			if c == nil {
				t.Fatalf("environment %q is not in the document", tc.Environment)
			}
			var want outcome
			want.Variant, want.Reason, want.Rule, want.Error = tc.Expect.Variant, tc.Expect.Reason, tc.Expect.Rule, tc.Expect.Error
			if len(tc.Expect.Value) > 0 {
				if err := json.Unmarshal(tc.Expect.Value, &want.Value); err != nil {
					t.Fatal(err)
				}
			}
			for how, ctx := range contexts(t, tc.Context) {
				got := evaluate(c, types[tc.Flag], tc.Flag, &ctx)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s flag %q, context %s = %+v, want %+v", how, types[tc.Flag], tc.Flag, tc.Context, got, want)
				}
			}
		})
	}
	return len(vf.Cases)
}

// contexts builds a case's context with ContextFromJSON and with
// encoding/json plus ContextFromMap.
func contexts(t *testing.T, raw json.RawMessage) map[string]sdk.Context {
	t.Helper()
	decoded, err := sdk.ContextFromJSON(raw)
	if err != nil {
		t.Fatalf("ContextFromJSON(%s): %v", raw, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return map[string]sdk.Context{"ContextFromJSON": decoded, "ContextFromMap": sdk.ContextFromMap(m)}
}

// evaluate calls the Detail getter of the flag's type (Bool for a flag the
// document does not have). A returned default is no value.
func evaluate(c *sdk.Client, typ, flag string, ctx *sdk.Context) outcome {
	switch typ {
	case "string":
		return outcomeOf(c.StringDetail(flag, ctx, "default"))
	case "number":
		return outcomeOf(c.Float64Detail(flag, ctx, -1))
	case "json":
		return outcomeOf(c.JSONDetail(flag, ctx, "default"))
	}
	return outcomeOf(c.BoolDetail(flag, ctx, false))
}

func outcomeOf[T any](d sdk.Detail[T]) outcome {
	o := outcome{Variant: d.Variant, Reason: string(d.Reason), Rule: d.Rule, Error: string(d.ErrorCode)}
	if d.Variant != "" {
		o.Value = d.Value
	}
	return o
}
