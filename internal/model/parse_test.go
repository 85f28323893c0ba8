package model

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// designDocument is the document of DESIGN §2 as Parse must return it.
func designDocument() *Document {
	return &Document{
		Version:      1,
		Project:      "shop",
		Environments: []string{"production", "staging"},
		Segments: []*Segment{{
			Key:        "eu-users",
			Match:      MatchAll,
			Conditions: []Condition{{Attribute: "country", Op: OpIn, Values: []any{"DE", "FR", "ES"}}},
			Include:    []string{"user-1"},
			Exclude:    []string{"user-9"},
		}},
		Flags: []*Flag{{
			Key:      "new-checkout",
			Type:     TypeBool,
			Variants: []Variant{{Key: "on", Value: true}, {Key: "off", Value: false}},
			Environments: map[string]*Targeting{
				"production": {
					Enabled:       true,
					OffVariant:    "off",
					Salt:          "new-checkout",
					BucketBy:      "targetingKey",
					Prerequisites: []Prerequisite{{Flag: "checkout-api-v2", Variant: "on"}},
					Targets:       []Target{{Variant: "on", Keys: []string{"qa-1", "qa-2"}}},
					Rules: []Rule{
						{
							ID:         "eu",
							Segments:   []string{"eu-users"},
							Conditions: []Condition{{Attribute: "plan", Op: OpIn, Values: []any{"beta"}}},
							Serve:      Serve{Variant: "on"},
						},
						{
							ID:    "half",
							Serve: Serve{Rollout: []Weighted{{Variant: "on", Weight: 50000}, {Variant: "off", Weight: 50000}}},
						},
					},
					Default: &Serve{Variant: "off"},
				},
			},
		}},
		Components: []*Component{{
			Key:          "ios-app",
			MinSupported: "2.2.0",
			Versions: []Version{
				{Version: "2.3.1", Notes: "Security fix", Required: true},
				{Version: "2.4.0", Notes: "New checkout"},
				{Version: "2.3.0", Withdrawn: true},
			},
			Environments: map[string]*Targeting{
				"production": {
					Rules:   []Rule{{ID: "eu", Segments: []string{"eu-users"}, Serve: Serve{Version: "2.4.0"}}},
					Default: &Serve{Version: "2.3.1"},
				},
			},
		}},
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseDesignExample(t *testing.T) {
	tests := []struct {
		name string
		file string
	}{
		{name: "yaml", file: "design.yaml"},
		{name: "json", file: "design.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(readTestdata(t, tc.file))
			if err != nil {
				t.Fatalf("Parse(%s) error: %v", tc.file, err)
			}
			if want := designDocument(); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%s) = %s, want %s", tc.file, dump(got), dump(want))
			}
		})
	}
}

// dump renders a document for a failure message.
func dump(doc *Document) string {
	out, err := Encode(doc, "json")
	if err != nil {
		return fmt.Sprintf("%#v", doc)
	}
	return string(out)
}

// minimal wraps YAML lines for the body of a flag into a whole document.
func flagDoc(lines ...string) string {
	return "version: 1\nproject: p\nenvironments: [production]\nflags:\n" + strings.Join(lines, "\n") + "\n"
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		input string
		get   func(*Document) any
		want  any
	}{
		{
			name:  "yaml float version text stays a string",
			input: "version: 1\nproject: p\ncomponents:\n  - key: c\n    versions: [{version: 2.4}]\n",
			get:   func(d *Document) any { return d.Components[0].Versions[0].Version },
			want:  "2.4",
		},
		{
			name:  "yaml integer key is its text",
			input: "version: 1\nproject: p\nsegments: [{key: 123}]\n",
			get:   func(d *Document) any { return d.Segments[0].Key },
			want:  "123",
		},
		{
			name:  "yaml unquoted on is a string",
			input: flagDoc("  - {key: f, type: bool, environments: {production: {default: {variant: on}}}}"),
			get:   func(d *Document) any { return d.Flags[0].Environments["production"].Default.Variant },
			want:  "on",
		},
		{
			name:  "yaml unquoted yes value is a string",
			input: flagDoc("  - {key: f, type: string, variants: [{key: a, value: yes}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  "yes",
		},
		{
			name:  "yaml unquoted true value is a boolean",
			input: flagDoc("  - {key: f, type: bool, variants: [{key: a, value: true}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  true,
		},
		{
			name:  "yaml integer value is float64",
			input: flagDoc("  - {key: f, type: number, variants: [{key: a, value: 42}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  float64(42),
		},
		{
			name:  "yaml hex value is float64",
			input: flagDoc("  - {key: f, type: number, variants: [{key: a, value: 0x1F}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  float64(31),
		},
		{
			name:  "yaml float value",
			input: flagDoc("  - {key: f, type: number, variants: [{key: a, value: -1.5e3}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  -1500.0,
		},
		{
			name:  "yaml infinity value",
			input: flagDoc("  - {key: f, type: number, variants: [{key: a, value: -.inf}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  math.Inf(-1),
		},
		{
			name:  "yaml object value",
			input: flagDoc("  - {key: f, type: json, variants: [{key: a, value: {bg: black, n: 1, tags: [x, on], nested: {ok: true, none: null}}}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  map[string]any{"bg": "black", "n": 1.0, "tags": []any{"x", "on"}, "nested": map[string]any{"ok": true, "none": nil}},
		},
		{
			name:  "yaml empty object value is not nil",
			input: flagDoc("  - {key: f, type: json, variants: [{key: a, value: {}}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  map[string]any{},
		},
		{
			name:  "yaml empty list value is not nil",
			input: flagDoc("  - {key: f, type: json, variants: [{key: a, value: []}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  []any{},
		},
		{
			name:  "yaml integer object key is its text",
			input: flagDoc("  - {key: f, type: json, variants: [{key: a, value: {1: one}}]}"),
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  map[string]any{"1": "one"},
		},
		{
			name:  "yaml timestamp condition value is its text",
			input: "version: 1\nproject: p\nsegments: [{key: s, conditions: [{attribute: t, op: before, values: [2024-01-01T00:00:00Z]}]}]\n",
			get:   func(d *Document) any { return d.Segments[0].Conditions[0].Values },
			want:  []any{"2024-01-01T00:00:00Z"},
		},
		{
			name:  "yaml mixed condition values",
			input: "version: 1\nproject: p\nsegments: [{key: s, conditions: [{attribute: a, op: in, values: [x, 1, 2.5, true, off]}]}]\n",
			get:   func(d *Document) any { return d.Segments[0].Conditions[0].Values },
			want:  []any{"x", 1.0, 2.5, true, "off"},
		},
		{
			name:  "yaml weight with underscores",
			input: flagDoc("  - {key: f, type: bool, environments: {production: {default: {rollout: [{variant: on, weight: 100_000}]}}}}"),
			get:   func(d *Document) any { return d.Flags[0].Environments["production"].Default.Rollout[0].Weight },
			want:  100000,
		},
		{
			name:  "yaml null list is nil",
			input: "version: 1\nproject: p\nenvironments: ~\nsegments: [{key: s, include: null}]\n",
			get:   func(d *Document) any { return [][]string{d.Environments, d.Segments[0].Include} },
			want:  [][]string{nil, nil},
		},
		{
			name:  "yaml empty list is nil",
			input: "version: 1\nproject: p\nenvironments: []\nsegments: [{key: s, include: []}]\nflags: []\n",
			get:   func(d *Document) any { return []any{d.Environments, d.Segments[0].Include, d.Flags} },
			want:  []any{[]string(nil), []string(nil), []*Flag(nil)},
		},
		{
			name:  "yaml null environment entry is empty targeting",
			input: flagDoc("  - key: f\n    type: bool\n    environments:\n      production:"),
			get:   func(d *Document) any { return d.Flags[0].Environments["production"] },
			want:  &Targeting{},
		},
		{
			name:  "yaml null default is absent",
			input: flagDoc("  - {key: f, type: bool, environments: {production: {default: null}}}"),
			get:   func(d *Document) any { return d.Flags[0].Environments["production"].Default },
			want:  (*Serve)(nil),
		},
		{
			name:  "yaml null string is empty",
			input: "version: 1\nproject: ~\n",
			get:   func(d *Document) any { return d.Project },
			want:  "",
		},
		{
			name:  "yaml quoted null string is text",
			input: "version: 1\nproject: 'null'\n",
			get:   func(d *Document) any { return d.Project },
			want:  "null",
		},
		{
			name:  "yaml labels",
			input: "version: 1\nproject: p\ncomponents: [{key: c, versions: [{version: 1.0.0, labels: {git: abc123, build: 42}}]}]\n",
			get:   func(d *Document) any { return d.Components[0].Versions[0].Labels },
			want:  map[string]string{"git": "abc123", "build": "42"},
		},
		{
			name:  "yaml alias",
			input: "version: 1\nproject: p\nenvironments: &envs [production, staging]\nsegments: [{key: s, include: *envs}]\n",
			get:   func(d *Document) any { return d.Segments[0].Include },
			want:  []string{"production", "staging"},
		},
		{
			name: "yaml merge key",
			input: "version: 1\nproject: p\nenvironments: [production, staging]\nflags:\n  - key: f\n    type: bool\n" +
				"    environments:\n      production: &base {enabled: true, salt: s, default: {variant: on}}\n      staging: {<<: *base, enabled: false}\n",
			get:  func(d *Document) any { return d.Flags[0].Environments["staging"] },
			want: &Targeting{Salt: "s", Default: &Serve{Variant: "on"}},
		},
		{
			name:  "yaml byte order mark",
			input: "\ufeffversion: 1\nproject: p\n",
			get:   func(d *Document) any { return d.Project },
			want:  "p",
		},
		{
			name:  "yaml flow document that is not json",
			input: "{version: 1, project: p}",
			get:   func(d *Document) any { return d.Project },
			want:  "p",
		},
		{
			name:  "json numbers are float64",
			input: `{"version": 1, "project": "p", "flags": [{"key": "f", "type": "number", "variants": [{"key": "a", "value": 1e3}]}]}`,
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  1000.0,
		},
		{
			name:  "json object value",
			input: `{"version": 1, "project": "p", "flags": [{"key": "f", "type": "json", "variants": [{"key": "a", "value": {"x": [1, "on", null, {"y": false}]}}]}]}`,
			get:   func(d *Document) any { return d.Flags[0].Variants[0].Value },
			want:  map[string]any{"x": []any{1.0, "on", nil, map[string]any{"y": false}}},
		},
		{
			name:  "json null keys is nil",
			input: `{"version": 1, "project": "p", "flags": [{"key": "f", "type": "bool", "environments": {"production": {"targets": [{"variant": "on", "keys": null}]}}}]}`,
			get:   func(d *Document) any { return d.Flags[0].Environments["production"].Targets[0].Keys },
			want:  []string(nil),
		},
		{
			name:  "json duplicate key keeps the last",
			input: `{"version": 1, "project": "a", "project": "b"}`,
			get:   func(d *Document) any { return d.Project },
			want:  "b",
		},
		{
			name:  "json escapes",
			input: `{"version": 1, "project": "p", "segments": [{"key": "s", "description": "\u00e9\n\"x\""}]}`,
			get:   func(d *Document) any { return d.Segments[0].Description },
			want:  "é\n\"x\"",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.input))
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tc.input, err)
			}
			if got := tc.get(doc); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q): got %#v, want %#v", tc.input, got, tc.want)
			}
		})
	}
}

// problems returns the messages of err, which must be an Errors value.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T) is not an Errors value", err, err)
	}
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{
			name: "unknown key deep in yaml",
			input: "version: 1\nproject: p\nenvironments: [production]\nflags:\n  - {key: a, type: bool}\n  - {key: b, type: bool}\n" +
				"  - key: c\n    type: bool\n    environments:\n      production:\n        rules:\n          - id: r\n            sevre: {variant: on}\n",
			want: []string{"flags[2].environments.production.rules[0].sevre: unknown field (line 13)"},
		},
		{
			name:  "unknown top-level key",
			input: "version: 1\nproject: p\nflgas: []\n",
			want:  []string{"flgas: unknown field (line 3)"},
		},
		{
			name:  "keys are case-sensitive in json",
			input: `{"Version": 1, "project": "p"}`,
			want:  []string{"Version: unknown field"},
		},
		{
			name:  "unknown key in json",
			input: `{"version": 1, "project": "p", "segments": [{"key": "s", "includes": ["a"]}]}`,
			want:  []string{"segments[0].includes: unknown field"},
		},
		{
			name:  "every problem is reported",
			input: "version: 1\nproject: [p]\nsegments:\n  - key: s\n    colour: red\n    include: a\n  - nope\n",
			want: []string{
				"project: expected a string, got a list (line 2)",
				"segments[0].colour: unknown field (line 5)",
				"segments[0].include: expected a list, got string \"a\" (line 6)",
				"segments[1]: expected an object, got string \"nope\" (line 7)",
			},
		},
		{
			name:  "string where a list is expected",
			input: "version: 1\nproject: p\nenvironments: production\n",
			want:  []string{"environments: expected a list, got string \"production\" (line 3)"},
		},
		{
			name:  "object where a string is expected",
			input: "version: 1\nproject: {name: p}\n",
			want:  []string{"project: expected a string, got an object (line 2)"},
		},
		{
			name:  "null item in a list of strings",
			input: "version: 1\nproject: p\nsegments: [{key: s, include: [a, null]}]\n",
			want:  []string{"segments[0].include[1]: expected a string, got null (line 3)"},
		},
		{
			name:  "list item in a list of strings",
			input: "version: 1\nproject: p\nsegments: [{key: s, include: [a, [b]]}]\n",
			want:  []string{"segments[0].include[1]: expected a string, got a list (line 3)"},
		},
		{
			name:  "null item in a list of objects",
			input: "version: 1\nproject: p\nsegments: [null]\n",
			want:  []string{"segments[0]: expected an object, got null (line 3)"},
		},
		{
			name:  "fractional weight",
			input: flagDoc("  - {key: f, type: bool, environments: {production: {default: {rollout: [{variant: on, weight: 50000.5}]}}}}"),
			want:  []string{"flags[0].environments.production.default.rollout[0].weight: expected an integer, got number 50000.5 (line 5)"},
		},
		{
			name:  "float-written weight",
			input: flagDoc("  - {key: f, type: bool, environments: {production: {default: {rollout: [{variant: on, weight: 100000.0}]}}}}"),
			want:  []string{"flags[0].environments.production.default.rollout[0].weight: expected an integer, got number 100000.0 (line 5)"},
		},
		{
			name:  "quoted weight",
			input: flagDoc("  - {key: f, type: bool, environments: {production: {default: {rollout: [{variant: on, weight: '100000'}]}}}}"),
			want:  []string{"flags[0].environments.production.default.rollout[0].weight: expected an integer, got string \"100000\" (line 5)"},
		},
		{
			name:  "leading-zero weight is ambiguous",
			input: flagDoc("  - {key: f, type: bool, environments: {production: {default: {rollout: [{variant: on, weight: 0100}]}}}}"),
			want:  []string{"flags[0].environments.production.default.rollout[0].weight: expected an integer, got number 0100 (line 5)"},
		},
		{
			name:  "json fractional weight",
			input: `{"version": 1, "project": "p", "flags": [{"key": "f", "type": "bool", "environments": {"production": {"default": {"rollout": [{"variant": "on", "weight": 1e5}]}}}}]}`,
			want:  []string{"flags[0].environments.production.default.rollout[0].weight: expected an integer, got number 1e5"},
		},
		{
			name:  "quoted version",
			input: "version: '1'\nproject: p\n",
			want:  []string{"version: expected an integer, got string \"1\" (line 1)"},
		},
		{
			name:  "yaml 1.1 boolean is not a boolean",
			input: flagDoc("  - {key: f, type: bool, environments: {production: {enabled: yes}}}"),
			want:  []string{"flags[0].environments.production.enabled: expected a boolean, got string \"yes\" (line 5)"},
		},
		{
			name:  "json number where a string is expected",
			input: `{"version": 1, "project": 123}`,
			want:  []string{"project: expected a string, got number 123"},
		},
		{
			name:  "json string where a boolean is expected",
			input: `{"version": 1, "project": "p", "components": [{"key": "c", "versions": [{"version": "1.0.0", "required": "true"}]}]}`,
			want:  []string{"components[0].versions[0].required: expected a boolean, got string \"true\""},
		},
		{
			name:  "json string where the deprecated boolean is expected",
			input: `{"version": 1, "project": "p", "components": [{"key": "c", "versions": [{"version": "1.0.0", "deprecated": "yes"}]}]}`,
			want:  []string{"components[0].versions[0].deprecated: expected a boolean, got string \"yes\""},
		},
		{
			name:  "json number out of range",
			input: `{"version": 1, "project": "p", "flags": [{"key": "f", "type": "number", "variants": [{"key": "a", "value": 1e999}]}]}`,
			want:  []string{"flags[0].variants[0].value: invalid number number 1e999"},
		},
		{
			name:  "duplicate yaml key",
			input: "version: 1\nproject: p\nproject: q\n",
			want:  []string{"project: duplicate key (line 3)"},
		},
		{
			name:  "duplicate environment key",
			input: flagDoc("  - key: f\n    type: bool\n    environments:\n      production: {}\n      production: {}"),
			want:  []string{"flags[0].environments.production: duplicate key (line 9)"},
		},
		{
			name:  "odd key is quoted in the path",
			input: "version: 1\nproject: p\nsegments: [{key: s, \"a b\": 1}]\n",
			want:  []string{"segments[0][\"a b\"]: unknown field (line 3)"},
		},
		{
			name:  "list at the top level",
			input: "- version: 1\n",
			want:  []string{"expected an object at the top level, got a list (line 1)"},
		},
		{
			name:  "json null document",
			input: "null",
			want:  []string{"expected an object at the top level, got null"},
		},
		{
			name:  "empty input",
			input: "",
			want:  []string{"empty document"},
		},
		{
			name:  "comment only",
			input: "# nothing\n",
			want:  []string{"empty document"},
		},
		{
			name:  "yaml syntax error",
			input: "version: 1\nproject: [p\n",
			want:  []string{"invalid YAML: line 1: did not find expected ',' or ']'"},
		},
		{
			name:  "two yaml documents",
			input: "version: 1\nproject: p\n---\nversion: 1\n",
			want:  []string{"more than one YAML document"},
		},
		{
			name:  "exponential aliases",
			input: billionLaughs(),
			want:  []string{"document expands to too many nodes (aliases)"},
		},
		{
			name:  "self-referencing alias",
			input: "version: 1\nproject: p\nflags: [{key: f, type: json, variants: [{key: a, value: &x [*x]}]}]\n",
			want:  []string{"flags[0].variants[0].value" + strings.Repeat("[0]", maxDepth) + ": value nested too deeply (line 3)"},
		},
		{
			name:  "non-scalar key",
			input: "version: 1\nproject: p\n? [a]\n: 1\n",
			want:  []string{"object key must be a scalar, got a list (line 3)"},
		},
		{
			name:  "merge of a scalar",
			input: "version: 1\nproject: p\n<<: 1\n",
			want:  []string{"[\"<<\"]: merge expects an object or a list of objects, got number 1 (line 3)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := Parse([]byte(tc.input))
			if got := problems(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%.200q) errors = %.2000q, want %.2000q", tc.input, got, tc.want)
			}
			if err != nil && doc != nil {
				t.Errorf("Parse(%q) returned a document with an error", tc.input)
			}
		})
	}
}

// billionLaughs is a small YAML document whose aliases expand to 10^9
// strings.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("version: 1\nproject: p\nflags: [{key: f, type: json, variants: [{key: a, value: {\n")
	b.WriteString("  x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol],\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "  x%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("],\n")
	}
	b.WriteString("}}]}]\n")
	return b.String()
}

// largeSegment returns a document with one segment of n include keys.
func largeSegment(n int, format string) []byte {
	var b strings.Builder
	if format == "json" {
		b.WriteString(`{"version": 1, "project": "p", "segments": [{"key": "big", "include": [`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, `"user-%d"`, i)
		}
		b.WriteString("]}]}\n")
		return []byte(b.String())
	}
	b.WriteString("version: 1\nproject: p\nsegments:\n  - key: big\n    include:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "      - user-%d\n", i)
	}
	return []byte(b.String())
}

func TestParseLargeSegment(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			data := largeSegment(1_000_000, format)
			start := time.Now()
			doc, err := Parse(data)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if got := len(doc.Segments[0].Include); got != 1_000_000 {
				t.Errorf("len(Include) = %d, want 1000000", got)
			}
			if err := Validate(doc); err != nil {
				t.Errorf("Validate error: %v", err)
			}
			t.Logf("Parse of %d bytes of %s: %v", len(data), format, elapsed)
		})
	}
}

func BenchmarkParseLargeSegment(b *testing.B) {
	for _, format := range []string{"yaml", "json"} {
		b.Run(format, func(b *testing.B) {
			data := largeSegment(1_000_000, format)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidateLargeSegment(b *testing.B) {
	doc, err := Parse(largeSegment(1_000_000, "json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParse checks that Parse and Validate never panic, and that a document
// that passes both survives an Encode and Parse round trip in both formats.
func FuzzParse(f *testing.F) {
	f.Add(readTestdata(f, "design.yaml"))
	f.Add(readTestdata(f, "design.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse error %v is not a non-empty Errors", err)
			}
			return
		}
		if err := Validate(doc); err != nil {
			return
		}
		for _, format := range []string{"yaml", "json"} {
			out, err := Encode(doc, format)
			if err != nil {
				t.Fatalf("Encode(%s) error: %v", format, err)
			}
			again, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Encode(%s)) error: %v\n%s", format, err, out)
			}
			if !reflect.DeepEqual(again, doc) {
				t.Fatalf("Parse(Encode(%s)) = %s, want %s", format, dump(again), dump(doc))
			}
		}
	})
}

// largeDocument returns a valid document with many segments, flags and
// components and one segment of n include keys: the shape a big project
// exports.
func largeDocument(flags, n int) *Document {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	doc := &Document{
		Version:      1,
		Project:      "big",
		Environments: []string{"production", "staging"},
		Segments:     []*Segment{{Key: "big", Description: "long list", Include: keys}},
	}
	for i := range 100 {
		doc.Segments = append(doc.Segments, &Segment{
			Key:        "s" + strconv.Itoa(i),
			Match:      MatchAny,
			Conditions: []Condition{{Attribute: "country", Op: OpIn, Values: []any{"DE", "FR", 1.5, true}}, {Attribute: "/user/plan", Op: OpStartsWith, Values: []any{"beta"}}},
			Exclude:    []string{"user-9"},
		})
	}
	for i := range flags {
		key := "f" + strconv.Itoa(i)
		targeting := func() *Targeting {
			return &Targeting{
				Enabled:    true,
				OffVariant: "off",
				Salt:       key,
				Targets:    []Target{{Variant: "on", Keys: []string{"qa-1", "qa-2"}}},
				Rules: []Rule{
					{ID: "eu", Segments: []string{"s1"}, Conditions: []Condition{{Attribute: "plan", Op: OpIn, Values: []any{"beta"}}}, Serve: Serve{Variant: "on"}},
					{ID: "half", Serve: Serve{Rollout: []Weighted{{Variant: "on", Weight: 50000}, {Variant: "off", Weight: 50000}}}},
				},
				Default: &Serve{Variant: "off"},
			}
		}
		doc.Flags = append(doc.Flags, &Flag{
			Key:          key,
			Description:  "flag number " + strconv.Itoa(i),
			Type:         TypeString,
			Tags:         []string{"team-a"},
			Variants:     []Variant{{Key: "on", Value: "green"}, {Key: "off", Value: "grey"}},
			Environments: map[string]*Targeting{"production": targeting(), "staging": targeting()},
		})
	}
	for i := range 50 {
		doc.Components = append(doc.Components, &Component{
			Key:          "c" + strconv.Itoa(i),
			MinSupported: "1.0.0",
			Versions:     []Version{{Version: "1.0.0", Notes: "first"}, {Version: "1.1.0", Required: true, Labels: map[string]string{"git": "abc"}}},
			Environments: map[string]*Targeting{"production": {Default: &Serve{Rollout: []Weighted{{Version: "1.0.0", Weight: 10000}, {Version: "1.1.0", Weight: 90000}}}}},
		})
	}
	return doc
}

func TestLargeDocumentIsValid(t *testing.T) {
	if got := problems(t, Validate(largeDocument(10, 10))); got != nil {
		t.Errorf("Validate(largeDocument()) = %q, want none", got)
	}
}

// BenchmarkParseLargeDocument parses 2,000 flags beside a 100,000-key
// segment.
func BenchmarkParseLargeDocument(b *testing.B) {
	doc := largeDocument(2000, 100_000)
	for _, format := range []string{"yaml", "json"} {
		b.Run(format, func(b *testing.B) {
			data, err := Encode(doc, format)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
