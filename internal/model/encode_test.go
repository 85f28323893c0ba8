package model

import (
	"bytes"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// trickyStrings are strings that a careless YAML or JSON writer gets wrong.
var trickyStrings = []string{
	"", "on", "off", "On", "OFF", "yes", "no", "y", "N", "true", "False", "null", "Null", "~",
	"2.4", "1", "-1", "+1", "1e3", "0x1F", "0o17", "0b11", "1_000", "0777", ".5", ".inf", "-.Inf", ".nan",
	"2024-01-01", "2024-01-01T00:00:00Z", "12:30", "1:20:30.5", "<<", "=",
	"- x", "-", "#x", "a: b", "a #b", "a:b", " leading", "trailing ", "multi\nline", "end\n", "\n", "\n\n",
	"tab\there", "crlf\r\n", "quote\"s", "back\\slash", "'single'", "@at", "`tick", "%pct", "&amp", "*star",
	"!bang", "|pipe", ">gt", "[x]", "{x}", ",", "?", ":", "? x", "é", "emoji 😀", "line\u2028sep", "nul\x00",
	"del\x7f", "\ufeffbom", "<html>&", "space \n after", strings.Repeat("long ", 40),
	" x\ny", "a\n\n", "\ta\nb", "a\n ", "a\n\tb", "\r", "x\r", "a\u0085b", "\u0085", " \n ", "\n ", "a\n\nb\n\n\n",
	"- a\nb", "#a\nb", "a\r\nb", "\t", " ", "\x1b[0m",
}

// trickyNumbers are numbers whose text must survive a round trip exactly.
var trickyNumbers = []float64{
	0, 1, -42, 1.5, 1e21, 1e20, 1e-7, 123456789012345678, 9007199254740993, 0.1, 1.0 / 3,
	math.MaxFloat64, math.SmallestNonzeroFloat64, -1e-300, 18446744073709551616,
}

// trickyDocument is a valid document full of values that are hard to encode.
func trickyDocument() *Document {
	doc := &Document{
		Version:      1,
		Project:      "t",
		Environments: []string{"on", "2.4", "null"},
		Segments: []*Segment{{
			Key:         "s",
			Description: "multi\nline description with trailing space \n",
			Match:       MatchAny,
			Conditions:  []Condition{{Attribute: "a: b", Op: OpIn}},
			Include:     trickyStrings,
			Exclude:     []string{"x"},
		}},
		Flags: []*Flag{
			{Key: "strings", Type: TypeString},
			{Key: "numbers", Type: TypeNumber, Tags: []string{"on", "1.0", "team-x"}},
			{Key: "json", Type: TypeJSON, Variants: []Variant{
				{Key: "object", Value: map[string]any{"": "empty key", "on": true, "<<": "merge", "1": 1.0, "nested": map[string]any{"list": []any{nil, "off", 2.5, []any{}}, "empty": map[string]any{}}}},
				{Key: "list", Value: []any{"on", nil, false, map[string]any{}}},
				{Key: "scalar", Value: "no"},
			}},
			{Key: "implicit", Type: TypeBool, Environments: map[string]*Targeting{
				"on":   {},
				"2.4":  {Enabled: true, Salt: "yes", BucketBy: "null", Targets: []Target{{Variant: "on"}}, Default: &Serve{Variant: "off"}},
				"null": {Rules: []Rule{{ID: "0", Conditions: []Condition{{Op: OpExists, Attribute: "~"}}, Serve: Serve{Rollout: []Weighted{{Variant: "on", Weight: 100000}, {Variant: "off"}}}}}},
			}},
		},
		Components: []*Component{{
			Key:          "c",
			Description:  "yes",
			MinSupported: "1.0",
			Versions: []Version{
				{Version: "1.0", Notes: "on", Artifact: "oci://x:1.0", Required: true, Labels: map[string]string{"on": "off", "": "2.4"}},
				{Version: "2.0.0-rc.1+b.2", Deprecated: true, Withdrawn: true},
			},
			Environments: map[string]*Targeting{"on": {Default: &Serve{Version: "1.0"}}},
		}},
	}
	for i, s := range trickyStrings {
		doc.Flags[0].Variants = append(doc.Flags[0].Variants, Variant{Key: "s" + strconv.Itoa(i), Value: s})
		doc.Segments[0].Conditions[0].Values = append(doc.Segments[0].Conditions[0].Values, s)
	}
	for i, f := range trickyNumbers {
		doc.Flags[1].Variants = append(doc.Flags[1].Variants, Variant{Key: "n" + strconv.Itoa(i), Value: f})
		doc.Segments[0].Conditions[0].Values = append(doc.Segments[0].Conditions[0].Values, f)
	}
	return doc
}

func TestEncodeRoundTrip(t *testing.T) {
	docs := map[string]func(t *testing.T) *Document{
		"tricky": func(t *testing.T) *Document { return trickyDocument() },
		"design": func(t *testing.T) *Document { return designDocument() },
		"base":   baseDocument,
	}
	for name, data := range sharedDocuments(t) {
		docs[name] = func(t *testing.T) *Document {
			doc, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			return doc
		}
	}
	for name, build := range docs {
		for _, format := range []string{"yaml", "json"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				doc := build(t)
				out, err := Encode(doc, format)
				if err != nil {
					t.Fatalf("Encode error: %v", err)
				}
				got, err := Parse(out)
				if err != nil {
					t.Fatalf("Parse(Encode()) error: %v\n%s", err, out)
				}
				if !reflect.DeepEqual(got, doc) {
					t.Errorf("Parse(Encode()) = %s, want %s", dump(got), dump(doc))
				}
			})
		}
	}
}

func TestEncodeTrickyDocumentIsValid(t *testing.T) {
	if got := problems(t, Validate(trickyDocument())); got != nil {
		t.Errorf("Validate(trickyDocument()) = %q, want none", got)
	}
}

func TestEncodeDeterministic(t *testing.T) {
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			first, err := Encode(trickyDocument(), format)
			if err != nil {
				t.Fatalf("Encode error: %v", err)
			}
			for range 20 {
				again, err := Encode(trickyDocument(), format)
				if err != nil {
					t.Fatalf("Encode error: %v", err)
				}
				if !bytes.Equal(again, first) {
					t.Fatalf("Encode() = %s, want %s", again, first)
				}
			}
		})
	}
}

func TestEncodeYAML(t *testing.T) {
	got, err := Encode(designDocument(), "yaml")
	if err != nil {
		t.Fatalf("Encode error: %v", err)
	}
	want := `version: 1
project: shop
environments: [production, staging]
segments:
  - key: eu-users
    match: all
    conditions:
      - {attribute: country, op: in, values: [DE, FR, ES]}
    include: [user-1]
    exclude: [user-9]
flags:
  - key: new-checkout
    type: bool
    variants:
      - {key: "on", value: true}
      - {key: "off", value: false}
    environments:
      production:
        enabled: true
        off_variant: "off"
        salt: new-checkout
        bucket_by: targetingKey
        prerequisites:
          - {flag: checkout-api-v2, variant: "on"}
        targets:
          - {variant: "on", keys: [qa-1, qa-2]}
        rules:
          - id: eu
            segments: [eu-users]
            conditions:
              - {attribute: plan, op: in, values: [beta]}
            serve: {variant: "on"}
          - id: half
            serve:
              rollout:
                - {variant: "on", weight: 50000}
                - {variant: "off", weight: 50000}
        default: {variant: "off"}
components:
  - key: ios-app
    min_supported: 2.2.0
    versions:
      - {version: 2.3.1, notes: Security fix, required: true}
      - {version: 2.4.0, notes: New checkout}
      - {version: 2.3.0, withdrawn: true}
    environments:
      production:
        rules:
          - id: eu
            segments: [eu-users]
            serve: {version: 2.4.0}
        default: {version: 2.3.1}
`
	if string(got) != want {
		t.Errorf("Encode(yaml) = \n%s\nwant\n%s", got, want)
	}
}

func TestEncodeJSON(t *testing.T) {
	doc := &Document{
		Version:      1,
		Project:      "p",
		Environments: nil,
		Flags: []*Flag{{
			Key:      "theme",
			Type:     TypeJSON,
			Variants: []Variant{{Key: "dark", Value: map[string]any{"z": 1e21, "a": "<b>", "m": []any{nil, 0.5}}}},
		}},
	}
	got, err := Encode(doc, "json")
	if err != nil {
		t.Fatalf("Encode error: %v", err)
	}
	want := `{
  "version": 1,
  "project": "p",
  "environments": [],
  "flags": [
    {
      "key": "theme",
      "type": "json",
      "variants": [
        {"key": "dark", "value": {"a": "<b>", "m": [null, 0.5], "z": 1e+21}}
      ]
    }
  ]
}
`
	if string(got) != want {
		t.Errorf("Encode(json) = \n%s\nwant\n%s", got, want)
	}
}

func TestEncodeQuotesStrings(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{name: "yaml 1.1 boolean", value: "on", want: `value: "on"`},
		{name: "yaml 1.1 short boolean", value: "y", want: `value: "y"`},
		{name: "yaml 1.2 boolean", value: "true", want: `value: "true"`},
		{name: "number", value: "2.4", want: `value: "2.4"`},
		{name: "integer", value: "123", want: `value: "123"`},
		{name: "null", value: "null", want: `value: "null"`},
		{name: "tilde", value: "~", want: `value: "~"`},
		{name: "empty", value: "", want: `value: ""`},
		{name: "timestamp", value: "2024-01-01", want: `value: "2024-01-01"`},
		{name: "sexagesimal", value: "1:20", want: `value: "1:20"`},
		{name: "semantic version stays plain", value: "2.4.0", want: `value: 2.4.0`},
		{name: "word stays plain", value: "beta", want: `value: beta`},
		{name: "indicator is quoted", value: "- x", want: `value: '- x'`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := &Document{Version: 1, Project: "p", Flags: []*Flag{{Key: "f", Type: TypeString, Variants: []Variant{{Key: "v", Value: tc.value}}}}}
			out, err := Encode(doc, "yaml")
			if err != nil {
				t.Fatalf("Encode error: %v", err)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("Encode(%q) = %s, want it to contain %s", tc.value, out, tc.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		doc    *Document
		format string
		want   string
	}{
		{name: "unknown format", doc: &Document{}, format: "toml", want: `encode document: unknown format "toml", want yaml or json`},
		{name: "nil document", doc: nil, format: "yaml", want: "encode document: no document"},
		{name: "non-finite number", format: "json", want: "encode document: number NaN is not finite",
			doc: &Document{Flags: []*Flag{{Key: "f", Variants: []Variant{{Key: "v", Value: math.NaN()}}}}}},
		{name: "non-JSON value", format: "yaml", want: "encode document: cannot encode a value of Go type int",
			doc: &Document{Flags: []*Flag{{Key: "f", Variants: []Variant{{Key: "v", Value: 1}}}}}},
		{name: "nil flag", format: "yaml", want: "encode document: missing flag", doc: &Document{Flags: []*Flag{nil}}},
		{name: "nil segment", format: "json", want: "encode document: missing segment", doc: &Document{Segments: []*Segment{nil}}},
		{name: "nil component", format: "yaml", want: "encode document: missing component", doc: &Document{Components: []*Component{nil}}},
		{name: "nil targeting", format: "json", want: "encode document: missing targeting",
			doc: &Document{Flags: []*Flag{{Key: "f", Environments: map[string]*Targeting{"production": nil}}}}},
		{name: "first problem wins", format: "json", want: "encode document: missing segment",
			doc: &Document{Segments: []*Segment{nil}, Flags: []*Flag{nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Encode(tc.doc, tc.format)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Encode() = %q, %v, want error %q", out, err, tc.want)
			}
		})
	}
}

// BenchmarkEncodeLargeDocument encodes 2,000 flags beside a 100,000-key
// segment.
func BenchmarkEncodeLargeDocument(b *testing.B) {
	doc := largeDocument(2000, 100_000)
	for _, format := range []string{"yaml", "json"} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(doc, format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
