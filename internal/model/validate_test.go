package model

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/conformance"
)

// baseYAML is a valid document that the validation cases break one field
// at a time. Indexes: segments eu-users(0), internal(1); flags
// checkout-api-v2(0), new-checkout(1), banner(2), price(3), theme(4);
// components ios-app(0).
const baseYAML = `
version: 1
project: shop
environments: [production, staging]
segments:
  - key: eu-users
    conditions:
      - {attribute: country, op: in, values: [DE, FR]}
    include: [user-1]
  - key: internal
    match: any
    conditions:
      - {attribute: email, op: ends_with, values: ["@corp.example"]}
      - {op: in_segment, values: [eu-users]}
flags:
  - key: checkout-api-v2
    type: bool
    environments:
      production: {enabled: true, default: {variant: "on"}}
  - key: new-checkout
    type: bool
    variants:
      - {key: "on", value: true}
      - {key: "off", value: false}
    environments:
      production:
        enabled: true
        off_variant: "off"
        prerequisites: [{flag: checkout-api-v2, variant: "on"}]
        targets: [{variant: "on", keys: [qa-1]}]
        rules:
          - id: eu
            segments: [eu-users]
            conditions: [{attribute: plan, op: in, values: [beta]}]
            serve: {variant: "on"}
          - id: half
            serve: {rollout: [{variant: "on", weight: 50000}, {variant: "off", weight: 50000}]}
        default: {variant: "off"}
  - key: banner
    type: string
    variants: [{key: a, value: A}, {key: b, value: B}]
    environments:
      staging: {off_variant: a, default: {variant: b}}
  - key: price
    type: number
    variants: [{key: low, value: 1.5}]
  - key: theme
    type: json
    variants: [{key: dark, value: {bg: black}}]
components:
  - key: ios-app
    min_supported: 2.2.0
    versions:
      - {version: 2.3.1, required: true}
      - {version: 2.4.0}
      - {version: 2.3.0, withdrawn: true}
    environments:
      production:
        targets: [{version: 2.4.0, keys: [qa-1]}]
        rules: [{id: eu, segments: [eu-users], serve: {version: 2.4.0}}]
        default: {rollout: [{version: 2.4.0, weight: 10000}, {version: 2.3.1, weight: 90000}]}
`

func baseDocument(t *testing.T) *Document {
	t.Helper()
	doc, err := Parse([]byte(baseYAML))
	if err != nil {
		t.Fatalf("Parse(baseYAML) error: %v", err)
	}
	return doc
}

// cond returns the first condition of segment eu-users, for cases to edit.
func cond(d *Document) *Condition { return &d.Segments[0].Conditions[0] }

// prod returns the production targeting of flag new-checkout.
func prod(d *Document) *Targeting { return d.Flags[1].Environments["production"] }

// app returns the production targeting of component ios-app.
func app(d *Document) *Targeting { return d.Components[0].Environments["production"] }

func TestValidate(t *testing.T) {
	const (
		c0  = "segments[0].conditions[0]"
		nc  = "flags[1].environments.production"
		ios = "components[0].environments.production"
	)
	tests := []struct {
		name   string
		mutate func(d *Document)
		want   []string
	}{
		{name: "base document is valid", mutate: func(d *Document) {}},
		{name: "version other than 1", mutate: func(d *Document) { d.Version = 2 },
			want: []string{"version: unsupported version 2, want 1"}},
		{name: "empty project", mutate: func(d *Document) { d.Project = "" },
			want: []string{"project: required"}},
		{name: "invalid project key", mutate: func(d *Document) { d.Project = "shop!" },
			want: []string{`project: invalid key "shop!": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`}},
		{name: "key too long", mutate: func(d *Document) { d.Project = strings.Repeat("a", 129) },
			want: []string{`project: invalid key "` + strings.Repeat("a", 129) + `": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`}},
		{name: "key starting with a dot", mutate: func(d *Document) { d.Project = ".shop" },
			want: []string{`project: invalid key ".shop": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`}},
		{name: "duplicate environment", mutate: func(d *Document) { d.Environments = append(d.Environments, "production") },
			want: []string{`environments[2]: duplicate environment "production"`}},
		{name: "empty environment name", mutate: func(d *Document) { d.Environments = append(d.Environments, "") },
			want: []string{"environments[2]: required"}},
		{name: "duplicate segment", mutate: func(d *Document) { d.Segments[1].Key = "eu-users" },
			want: []string{`segments[1].key: duplicate segment "eu-users"`}},
		{name: "invalid segment key", mutate: func(d *Document) { d.Segments[1].Key = "in ternal" },
			want: []string{`segments[1].key: invalid key "in ternal": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`}},
		{name: "unknown match", mutate: func(d *Document) { d.Segments[0].Match = "some" },
			want: []string{`segments[0].match: unknown match "some", want "all" or "any"`}},
		{name: "unknown operator", mutate: func(d *Document) { cond(d).Op = "equals" },
			want: []string{c0 + `.op: unknown operator "equals"`}},
		{name: "missing operator", mutate: func(d *Document) { cond(d).Op = "" },
			want: []string{c0 + ".op: required"}},
		{name: "missing attribute", mutate: func(d *Document) { cond(d).Attribute = "" },
			want: []string{c0 + `.attribute: required by operator "in"`}},
		{name: "exists needs an attribute", mutate: func(d *Document) { *cond(d) = Condition{Op: OpExists} },
			want: []string{c0 + `.attribute: required by operator "exists"`}},
		{name: "exists needs no values", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "a", Op: OpNotExists} }},
		{name: "attribute pointer", mutate: func(d *Document) { cond(d).Attribute = "/user/a~1b/~0x" }},
		{name: "dotted attribute is a key", mutate: func(d *Document) { cond(d).Attribute = "user.plan~" }},
		{name: "attribute pointer with a bad escape", mutate: func(d *Document) { cond(d).Attribute = "/user/a~2b" },
			want: []string{c0 + `.attribute: JSON Pointer "/user/a~2b": "~2" in token 1 is not an escape (~0 is ~, ~1 is /)`}},
		{name: "attribute pointer ending in a tilde", mutate: func(d *Document) { cond(d).Attribute = "/plan~" },
			want: []string{c0 + `.attribute: JSON Pointer "/plan~": "~" in token 0 is not an escape (~0 is ~, ~1 is /)`}},
		{name: "bucket_by pointer", mutate: func(d *Document) { prod(d).BucketBy = "/user/id" }},
		{name: "bucket_by pointer with a bad escape", mutate: func(d *Document) { prod(d).BucketBy = "/user/~id" },
			want: []string{nc + `.bucket_by: JSON Pointer "/user/~id": "~i" in token 1 is not an escape (~0 is ~, ~1 is /)`}},
		{name: "component bucket_by pointer with a bad escape", mutate: func(d *Document) { app(d).BucketBy = "/~" },
			want: []string{ios + `.bucket_by: JSON Pointer "/~": "~" in token 0 is not an escape (~0 is ~, ~1 is /)`}},
		{name: "segment operator needs no attribute", mutate: func(d *Document) { d.Segments[1].Conditions[1].Op = OpNotInSegment }},
		{name: "missing values", mutate: func(d *Document) { cond(d).Values = nil },
			want: []string{c0 + `.values: operator "in" needs at least one value`}},
		{name: "list value", mutate: func(d *Document) { cond(d).Values = []any{[]any{"DE"}} },
			want: []string{c0 + ".values[0]: must be a string, number or boolean, got a list"}},
		{name: "null value", mutate: func(d *Document) { cond(d).Values = []any{"DE", nil} },
			want: []string{c0 + ".values[1]: must be a string, number or boolean, got null"}},
		{name: "non-finite value", mutate: func(d *Document) { cond(d).Values = []any{math.NaN()} },
			want: []string{c0 + ".values[0]: number must be finite, got NaN"}},
		{name: "value of a non-JSON Go type", mutate: func(d *Document) { cond(d).Values = []any{1} },
			want: []string{c0 + ".values[0]: must be a string, number or boolean, got Go type int"}},
		{name: "scalars of every type for in", mutate: func(d *Document) { cond(d).Values = []any{"DE", 1.0, true} }},
		{name: "invalid regular expression", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "email", Op: OpMatches, Values: []any{"(a"}} },
			want: []string{c0 + ".values[0]: invalid regular expression: error parsing regexp: missing closing ): `(a`"}},
		{name: "perl regular expression rejected by RE2", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "email", Op: OpMatches, Values: []any{`(?=x)`}} },
			want: []string{c0 + ".values[0]: invalid regular expression: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"}},
		{name: "number for matches", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "email", Op: OpMatches, Values: []any{1.0}} },
			want: []string{c0 + `.values[0]: operator "matches" needs a regular expression, got a number`}},
		{name: "number for contains", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "email", Op: OpContains, Values: []any{1.0}} },
			want: []string{c0 + `.values[0]: operator "contains" needs a string, got a number`}},
		{name: "string for lt", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "age", Op: OpLT, Values: []any{"18"}} },
			want: []string{c0 + `.values[0]: operator "lt" needs a number, got a string`}},
		{name: "invalid semantic version", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "v", Op: OpSemverGT, Values: []any{"1.02"}} },
			want: []string{c0 + `.values[0]: not a semantic version: "1.02"`}},
		{name: "number for a semver operator", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "v", Op: OpSemverEQ, Values: []any{2.0}} },
			want: []string{c0 + `.values[0]: operator "semver_eq" needs a semantic version, got a number`}},
		{name: "short semantic versions", mutate: func(d *Document) {
			*cond(d) = Condition{Attribute: "v", Op: OpSemverLTE, Values: []any{"2", "v2.1", "2.1.0-rc.1+b"}}
		}},
		{name: "invalid instant", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "t", Op: OpBefore, Values: []any{"yesterday"}} },
			want: []string{c0 + `.values[0]: not an RFC 3339 instant: "yesterday"`}},
		{name: "lower-case t in instant", mutate: func(d *Document) {
			*cond(d) = Condition{Attribute: "t", Op: OpAfter, Values: []any{"2024-01-01t00:00:00Z"}}
		},
			want: []string{c0 + `.values[0]: not an RFC 3339 instant: "2024-01-01t00:00:00Z"`}},
		{name: "boolean for before", mutate: func(d *Document) { *cond(d) = Condition{Attribute: "t", Op: OpBefore, Values: []any{true}} },
			want: []string{c0 + `.values[0]: operator "before" needs an RFC 3339 string or Unix seconds, got a boolean`}},
		{name: "instants and unix seconds", mutate: func(d *Document) {
			*cond(d) = Condition{Attribute: "t", Op: OpAfter, Values: []any{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123+05:30", 1.7e9}}
		}},
		{name: "unknown segment in condition", mutate: func(d *Document) { *cond(d) = Condition{Op: OpInSegment, Values: []any{"nobody"}} },
			want: []string{c0 + `.values[0]: unknown segment "nobody"`}},
		{name: "number for a segment operator", mutate: func(d *Document) { *cond(d) = Condition{Op: OpInSegment, Values: []any{1.0}} },
			want: []string{c0 + `.values[0]: operator "in_segment" needs a segment key, got a number`}},
		{name: "segment refers to itself", mutate: func(d *Document) {
			d.Segments[0].Conditions = append(d.Segments[0].Conditions, Condition{Op: OpInSegment, Values: []any{"eu-users"}})
		}, want: []string{"segments[0].conditions[1].values[0]: segment cycle: eu-users → eu-users"}},
		{name: "segments refer to each other", mutate: func(d *Document) {
			d.Segments[0].Conditions = append(d.Segments[0].Conditions, Condition{Op: OpNotInSegment, Values: []any{"internal"}})
		}, want: []string{"segments[1].conditions[1].values[0]: segment cycle: eu-users → internal → eu-users"}},
		{name: "duplicate flag", mutate: func(d *Document) { d.Flags[2].Key = "new-checkout" },
			want: []string{`flags[2].key: duplicate flag "new-checkout"`}},
		{name: "missing flag key", mutate: func(d *Document) { d.Flags[3].Key = "" },
			want: []string{"flags[3].key: required"}},
		{name: "unknown flag type", mutate: func(d *Document) { d.Flags[1].Type = "boolean" },
			want: []string{`flags[1].type: unknown type "boolean", want bool, string, number or json`}},
		{name: "missing flag type", mutate: func(d *Document) { d.Flags[3].Type = "" },
			want: []string{"flags[3].type: required"}},
		{name: "string flag without variants", mutate: func(d *Document) { d.Flags = append(d.Flags, &Flag{Key: "empty", Type: TypeString}) },
			want: []string{"flags[5].variants: a string flag needs at least one variant"}},
		{name: "duplicate variant", mutate: func(d *Document) { d.Flags[2].Variants[1].Key = "a" },
			want: []string{`flags[2].variants[1].key: duplicate variant "a" (also variants[0])`, `flags[2].environments.staging.default.variant: unknown variant "b"`}},
		{name: "missing variant key", mutate: func(d *Document) { d.Flags[3].Variants[0].Key = "" },
			want: []string{"flags[3].variants[0].key: required"}},
		{name: "invalid variant key", mutate: func(d *Document) { d.Flags[3].Variants[0].Key = "lo w" },
			want: []string{`flags[3].variants[0].key: invalid key "lo w": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`}},
		{name: "string value in a bool flag", mutate: func(d *Document) { d.Flags[1].Variants[0].Value = "true" },
			want: []string{"flags[1].variants[0].value: a bool flag needs a boolean, got a string"}},
		{name: "number value in a string flag", mutate: func(d *Document) { d.Flags[2].Variants[0].Value = 1.0 },
			want: []string{"flags[2].variants[0].value: a string flag needs a string, got a number"}},
		{name: "infinite value in a number flag", mutate: func(d *Document) { d.Flags[3].Variants[0].Value = math.Inf(1) },
			want: []string{"flags[3].variants[0].value: number must be finite, got +Inf"}},
		{name: "string value in a number flag", mutate: func(d *Document) { d.Flags[3].Variants[0].Value = "1.5" },
			want: []string{"flags[3].variants[0].value: a number flag needs a number, got a string"}},
		{name: "null value in a json flag", mutate: func(d *Document) { d.Flags[4].Variants[0].Value = nil },
			want: []string{"flags[4].variants[0].value: a json flag needs a value other than null"}},
		{name: "scalar values in a json flag", mutate: func(d *Document) {
			d.Flags[4].Variants = []Variant{{Key: "s", Value: "x"}, {Key: "n", Value: 2.0}, {Key: "b", Value: false}, {Key: "l", Value: []any{nil}}}
		}},
		{name: "nested non-finite number in a json flag", mutate: func(d *Document) { d.Flags[4].Variants[0].Value = map[string]any{"bg": []any{math.NaN()}} },
			want: []string{"flags[4].variants[0].value.bg[0]: number must be finite, got NaN"}},
		{name: "non-JSON Go type in a json flag", mutate: func(d *Document) { d.Flags[4].Variants[0].Value = map[string]any{"n": 1} },
			want: []string{"flags[4].variants[0].value.n: not a JSON value: Go type int"}},
		{name: "unknown environment in a flag", mutate: func(d *Document) {
			d.Flags[2].Environments["dev"] = d.Flags[2].Environments["staging"]
			delete(d.Flags[2].Environments, "staging")
		}, want: []string{`flags[2].environments.dev: unknown environment "dev"`}},
		{name: "missing off variant", mutate: func(d *Document) { prod(d).OffVariant = "" },
			want: []string{nc + ".off_variant: required"}},
		{name: "implicit bool flag needs no off variant", mutate: func(d *Document) {
			d.Flags[0].Environments["staging"] = &Targeting{Default: &Serve{Variant: "off"}}
		}},
		{name: "unknown off variant", mutate: func(d *Document) { prod(d).OffVariant = "of" },
			want: []string{nc + `.off_variant: unknown variant "of"`}},
		{name: "unknown prerequisite flag", mutate: func(d *Document) { prod(d).Prerequisites[0].Flag = "nope" },
			want: []string{nc + `.prerequisites[0].flag: unknown flag "nope"`}},
		{name: "missing prerequisite flag", mutate: func(d *Document) { prod(d).Prerequisites[0].Flag = "" },
			want: []string{nc + ".prerequisites[0].flag: required"}},
		{name: "missing prerequisite variant", mutate: func(d *Document) { prod(d).Prerequisites[0].Variant = "" },
			want: []string{nc + ".prerequisites[0].variant: required"}},
		{name: "unknown prerequisite variant", mutate: func(d *Document) { prod(d).Prerequisites[0].Variant = "yes" },
			want: []string{nc + `.prerequisites[0].variant: flag "checkout-api-v2" has no variant "yes"`}},
		{name: "prerequisite on an implicit variant", mutate: func(d *Document) { prod(d).Prerequisites[0].Variant = "off" }},
		{name: "prerequisite on itself", mutate: func(d *Document) {
			prod(d).Prerequisites = append(prod(d).Prerequisites, Prerequisite{Flag: "new-checkout", Variant: "on"})
		}, want: []string{nc + ".prerequisites[1]: prerequisite cycle in production: new-checkout → new-checkout"}},
		{name: "prerequisite cycle", mutate: func(d *Document) {
			d.Flags[0].Environments["production"].Prerequisites = []Prerequisite{{Flag: "new-checkout", Variant: "on"}}
		}, want: []string{nc + ".prerequisites[0]: prerequisite cycle in production: checkout-api-v2 → new-checkout → checkout-api-v2"}},
		{name: "prerequisites in different environments are no cycle", mutate: func(d *Document) {
			d.Flags[0].Environments["staging"] = &Targeting{Prerequisites: []Prerequisite{{Flag: "new-checkout", Variant: "on"}}}
		}},
		{name: "unknown target variant", mutate: func(d *Document) { prod(d).Targets[0].Variant = "maybe" },
			want: []string{nc + `.targets[0].variant: unknown variant "maybe"`}},
		{name: "missing target variant", mutate: func(d *Document) { prod(d).Targets[0].Variant = "" },
			want: []string{nc + ".targets[0].variant: required"}},
		{name: "version in a flag target", mutate: func(d *Document) { prod(d).Targets[0].Version = "1.0.0" },
			want: []string{nc + ".targets[0].version: not allowed in a flag, use variant"}},
		{name: "duplicate rule id", mutate: func(d *Document) { prod(d).Rules[1].ID = "eu" },
			want: []string{nc + `.rules[1].id: duplicate rule id "eu" (also rules[0])`}},
		{name: "same rule id in another flag", mutate: func(d *Document) {
			d.Flags[0].Environments["production"].Rules = []Rule{{ID: "eu", Serve: Serve{Variant: "on"}}}
		}},
		{name: "missing rule id", mutate: func(d *Document) { prod(d).Rules[0].ID = "" },
			want: []string{nc + ".rules[0].id: required"}},
		{name: "invalid rule id", mutate: func(d *Document) { prod(d).Rules[0].ID = "e/u" },
			want: []string{nc + `.rules[0].id: invalid key "e/u": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`}},
		{name: "unknown rule segment", mutate: func(d *Document) { prod(d).Rules[0].Segments = []string{"eu-users", "us-users"} },
			want: []string{nc + `.rules[0].segments[1]: unknown segment "us-users"`}},
		{name: "invalid rule condition", mutate: func(d *Document) { prod(d).Rules[0].Conditions[0].Op = "is" },
			want: []string{nc + `.rules[0].conditions[0].op: unknown operator "is"`}},
		{name: "serve with variant and rollout", mutate: func(d *Document) { prod(d).Rules[1].Serve.Variant = "on" },
			want: []string{nc + ".rules[1].serve: has both a variant and a rollout, want exactly one"}},
		{name: "serve with nothing", mutate: func(d *Document) { prod(d).Rules[0].Serve = Serve{} },
			want: []string{nc + ".rules[0].serve: needs a variant or a rollout"}},
		{name: "version in a flag serve", mutate: func(d *Document) { prod(d).Rules[0].Serve = Serve{Version: "1.0.0"} },
			want: []string{nc + ".rules[0].serve.version: not allowed in a flag, use variant"}},
		{name: "unknown serve variant", mutate: func(d *Document) { prod(d).Rules[0].Serve.Variant = "maybe" },
			want: []string{nc + `.rules[0].serve.variant: unknown variant "maybe"`}},
		{name: "rollout not summing to 100000", mutate: func(d *Document) { prod(d).Rules[1].Serve.Rollout[1].Weight = 49999 },
			want: []string{nc + ".rules[1].serve.rollout: weights sum to 99999, want 100000"}},
		{name: "negative weight", mutate: func(d *Document) {
			prod(d).Rules[1].Serve.Rollout = []Weighted{{Variant: "on", Weight: -1}, {Variant: "off", Weight: 100000}}
		}, want: []string{nc + ".rules[1].serve.rollout[0].weight: must not be negative, got -1"}},
		{name: "weight above 100000", mutate: func(d *Document) {
			prod(d).Rules[1].Serve.Rollout = []Weighted{{Variant: "on", Weight: 100001}}
		}, want: []string{nc + ".rules[1].serve.rollout[0].weight: must be at most 100000, got 100001", nc + ".rules[1].serve.rollout: weights sum to 0, want 100000"}},
		{name: "zero weight", mutate: func(d *Document) {
			prod(d).Rules[1].Serve.Rollout = []Weighted{{Variant: "on", Weight: 0}, {Variant: "off", Weight: 100000}}
		}},
		{name: "unknown rollout variant", mutate: func(d *Document) { prod(d).Rules[1].Serve.Rollout[0].Variant = "maybe" },
			want: []string{nc + `.rules[1].serve.rollout[0].variant: unknown variant "maybe"`}},
		{name: "missing rollout variant", mutate: func(d *Document) { prod(d).Rules[1].Serve.Rollout[0].Variant = "" },
			want: []string{nc + ".rules[1].serve.rollout[0].variant: required"}},
		{name: "version in a flag rollout", mutate: func(d *Document) { prod(d).Rules[1].Serve.Rollout[0].Version = "1.0.0" },
			want: []string{nc + ".rules[1].serve.rollout[0].version: not allowed in a flag, use variant"}},
		{name: "unknown default variant", mutate: func(d *Document) { prod(d).Default.Variant = "maybe" },
			want: []string{nc + `.default.variant: unknown variant "maybe"`}},
		{name: "default rollout", mutate: func(d *Document) { prod(d).Default = &Serve{Rollout: []Weighted{{Variant: "off", Weight: 100000}}} }},
		{name: "duplicate component", mutate: func(d *Document) { d.Components = append(d.Components, &Component{Key: "ios-app"}) },
			want: []string{`components[1].key: duplicate component "ios-app"`}},
		{name: "invalid component key", mutate: func(d *Document) { d.Components = append(d.Components, &Component{Key: "ios app"}) },
			want: []string{`components[1].key: invalid key "ios app": must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`}},
		{name: "invalid min_supported", mutate: func(d *Document) { d.Components[0].MinSupported = "2.2.0.1" },
			want: []string{`components[0].min_supported: not a semantic version: "2.2.0.1"`}},
		{name: "invalid version", mutate: func(d *Document) {
			d.Components[0].Versions = append(d.Components[0].Versions, Version{Version: "latest"})
		},
			want: []string{`components[0].versions[3].version: not a semantic version: "latest"`}},
		{name: "missing version", mutate: func(d *Document) { d.Components[0].Versions = append(d.Components[0].Versions, Version{Notes: "x"}) },
			want: []string{"components[0].versions[3].version: required"}},
		{name: "duplicate version by precedence", mutate: func(d *Document) {
			d.Components[0].Versions = append(d.Components[0].Versions, Version{Version: "v2.4"})
		},
			want: []string{`components[0].versions[3].version: duplicate version "v2.4" (same precedence as versions[1] "2.4.0")`}},
		{name: "duplicate version differing in build metadata", mutate: func(d *Document) {
			d.Components[0].Versions = append(d.Components[0].Versions, Version{Version: "2.4.0+build.7"})
		}, want: []string{`components[0].versions[3].version: duplicate version "2.4.0+build.7" (same precedence as versions[1] "2.4.0")`}},
		{name: "pre-release is another version", mutate: func(d *Document) {
			d.Components[0].Versions = append(d.Components[0].Versions, Version{Version: "2.4.0-rc.1"})
		}},
		{name: "unknown target version", mutate: func(d *Document) { app(d).Targets[0].Version = "9.9.9" },
			want: []string{ios + `.targets[0].version: unknown version "9.9.9"`}},
		{name: "target version spelled differently", mutate: func(d *Document) { app(d).Targets[0].Version = "2.4" },
			want: []string{ios + `.targets[0].version: unknown version "2.4" (registered as "2.4.0")`}},
		{name: "missing target version", mutate: func(d *Document) { app(d).Targets[0].Version = "" },
			want: []string{ios + ".targets[0].version: required"}},
		{name: "withdrawn target version", mutate: func(d *Document) { app(d).Targets[0].Version = "2.3.0" },
			want: []string{ios + `.targets[0].version: version "2.3.0" is withdrawn`}},
		{name: "withdrawn serve version", mutate: func(d *Document) { app(d).Rules[0].Serve.Version = "2.3.0" },
			want: []string{ios + `.rules[0].serve.version: version "2.3.0" is withdrawn`}},
		{name: "withdrawn rollout version", mutate: func(d *Document) { app(d).Default.Rollout[1].Version = "2.3.0" },
			want: []string{ios + `.default.rollout[1].version: version "2.3.0" is withdrawn`}},
		{name: "unknown rollout version", mutate: func(d *Document) { app(d).Default.Rollout[1].Version = "3.0.0" },
			want: []string{ios + `.default.rollout[1].version: unknown version "3.0.0"`}},
		{name: "component rollout not summing to 100000", mutate: func(d *Document) { app(d).Default.Rollout[1].Weight = 0 },
			want: []string{ios + ".default.rollout: weights sum to 10000, want 100000"}},
		{name: "variant in a component serve", mutate: func(d *Document) { app(d).Rules[0].Serve = Serve{Variant: "on"} },
			want: []string{ios + ".rules[0].serve.variant: not allowed in a component, use version"}},
		{name: "version and rollout in a component serve", mutate: func(d *Document) { app(d).Default.Version = "2.4.0" },
			want: []string{ios + ".default: has both a version and a rollout, want exactly one"}},
		{name: "empty component serve", mutate: func(d *Document) { app(d).Default = &Serve{} },
			want: []string{ios + ".default: needs a version or a rollout"}},
		{name: "variant in a component rollout", mutate: func(d *Document) { app(d).Default.Rollout[0].Variant = "on" },
			want: []string{ios + ".default.rollout[0].variant: not allowed in a component, use version"}},
		{name: "variant in a component target", mutate: func(d *Document) { app(d).Targets[0].Variant = "on" },
			want: []string{ios + ".targets[0].variant: not allowed in a component, use version"}},
		{name: "enabled in a component", mutate: func(d *Document) { app(d).Enabled = true },
			want: []string{ios + ".enabled: not allowed in a component"}},
		{name: "off_variant in a component", mutate: func(d *Document) { app(d).OffVariant = "off" },
			want: []string{ios + ".off_variant: not allowed in a component"}},
		{name: "prerequisites in a component", mutate: func(d *Document) {
			app(d).Prerequisites = []Prerequisite{{Flag: "checkout-api-v2", Variant: "on"}}
		}, want: []string{ios + ".prerequisites: not allowed in a component"}},
		{name: "unknown environment in a component", mutate: func(d *Document) { d.Components[0].Environments["dev"] = &Targeting{} },
			want: []string{`components[0].environments.dev: unknown environment "dev"`}},
		{name: "unknown segment in a component rule", mutate: func(d *Document) { app(d).Rules[0].Segments = []string{"asia"} },
			want: []string{ios + `.rules[0].segments[0]: unknown segment "asia"`}},
		{name: "duplicate rule id in a component", mutate: func(d *Document) { app(d).Rules = append(app(d).Rules, app(d).Rules[0]) },
			want: []string{ios + `.rules[1].id: duplicate rule id "eu" (also rules[0])`}},
		{name: "invalid UTF-8 in a description", mutate: func(d *Document) { d.Segments[0].Description = "\xff" },
			want: []string{"segments[0].description: invalid UTF-8"}},
		{name: "invalid UTF-8 in an include key", mutate: func(d *Document) { d.Segments[0].Include = []string{"ok", "\xc3"} },
			want: []string{"segments[0].include[1]: invalid UTF-8"}},
		{name: "invalid UTF-8 in a condition value", mutate: func(d *Document) { cond(d).Values = []any{"\xff"} },
			want: []string{c0 + ".values[0]: invalid UTF-8"}},
		{name: "invalid UTF-8 in a target key", mutate: func(d *Document) { prod(d).Targets[0].Keys = []string{"\xff"} },
			want: []string{nc + ".targets[0].keys[0]: invalid UTF-8"}},
		{name: "invalid UTF-8 in notes", mutate: func(d *Document) { d.Components[0].Versions[0].Notes = "\xff" },
			want: []string{"components[0].versions[0].notes: invalid UTF-8"}},
		{name: "nil segment", mutate: func(d *Document) { d.Segments = append(d.Segments, nil) },
			want: []string{"segments[2]: missing segment"}},
		{name: "nil flag", mutate: func(d *Document) { d.Flags = append(d.Flags, nil) },
			want: []string{"flags[5]: missing flag"}},
		{name: "nil component", mutate: func(d *Document) { d.Components = append(d.Components, nil) },
			want: []string{"components[1]: missing component"}},
		{name: "nil targeting", mutate: func(d *Document) { d.Flags[1].Environments["staging"] = nil },
			want: []string{"flags[1].environments.staging: missing targeting"}},
		{name: "every problem is reported", mutate: func(d *Document) {
			d.Version = 0
			d.Project = ""
			prod(d).Default.Variant = "maybe"
		}, want: []string{"version: unsupported version 0, want 1", "project: required", nc + `.default.variant: unknown variant "maybe"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := baseDocument(t)
			tc.mutate(doc)
			if got := problems(t, Validate(doc)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateNilDocument(t *testing.T) {
	if got, want := problems(t, Validate(nil)), []string{"no document"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Validate(nil) = %q, want %q", got, want)
	}
}

// TestValidateDesignExample checks the DESIGN §2 document, which names a
// prerequisite flag it does not define.
func TestValidateDesignExample(t *testing.T) {
	doc, err := Parse(readTestdata(t, "design.yaml"))
	if err != nil {
		t.Fatalf("Parse(design.yaml) error: %v", err)
	}
	want := []string{`flags[0].environments.production.prerequisites[0].flag: unknown flag "checkout-api-v2"`}
	if got := problems(t, Validate(doc)); !reflect.DeepEqual(got, want) {
		t.Errorf("Validate(design.yaml) = %q, want %q", got, want)
	}
	doc.Flags = append(doc.Flags, &Flag{Key: "checkout-api-v2", Type: TypeBool})
	if got := problems(t, Validate(doc)); got != nil {
		t.Errorf("Validate(design.yaml with checkout-api-v2) = %q, want none", got)
	}
}

// sharedDocuments returns the documents of the shared conformance vectors
// and the benchmark flag set, by name.
func sharedDocuments(t *testing.T) map[string][]byte {
	t.Helper()
	docs := make(map[string][]byte)
	var files []string
	dir := conformance.Dir(t)
	for _, pattern := range []string{filepath.Join(dir, "*.json"), filepath.Join(dir, "availability", "*.json")} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var vector struct {
			Document json.RawMessage `json:"document"`
		}
		if err := json.Unmarshal(data, &vector); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if vector.Document != nil {
			docs[filepath.Base(file)] = vector.Document
		}
	}
	flagset, err := os.ReadFile(conformance.FlagSet(t))
	if err != nil {
		t.Fatal(err)
	}
	docs["flagset.yaml"] = flagset
	if len(docs) < 8 {
		t.Fatalf("found %d shared documents, want at least 8", len(docs))
	}
	return docs
}

func TestValidateSharedDocuments(t *testing.T) {
	for name, data := range sharedDocuments(t) {
		t.Run(name, func(t *testing.T) {
			doc, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if got := problems(t, Validate(doc)); got != nil {
				t.Errorf("Validate() = %q, want none", got)
			}
		})
	}
}

func TestValidateStructureSkipsKeyLists(t *testing.T) {
	doc := &Document{Version: 1, Project: "p", Environments: []string{"e"},
		Segments: []*Segment{{Key: "s", Include: []string{"\xff"}, Exclude: []string{"ok", "\xfe"}}}}
	if err := ValidateStructure(doc); err != nil {
		t.Errorf("ValidateStructure = %v, want nil", err)
	}
	var fes Errors
	if err := Validate(doc); !errors.As(err, &fes) || len(fes) != 2 || fes[0].Path != "segments[0].include[0]" || fes[1].Path != "segments[0].exclude[1]" {
		t.Errorf("Validate = %v, want the two keys", err)
	}
	if err := DocumentSegmentKeys(doc); !errors.As(err, &fes) || len(fes) != 2 || fes[1].Path != "segments[0].exclude[1]" {
		t.Errorf("DocumentSegmentKeys = %v, want the two keys", err)
	}
}
