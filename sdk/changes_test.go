package sdk

import (
	"slices"
	"strings"
	"testing"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/model"
)

// heldOf builds what a client holds for doc's production environment.
func heldOf(t *testing.T, doc string) *holdings {
	t.Helper()
	msg, err := bootstrapRuleset([]byte(doc), "production")
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := apply(nil, nil, msg, false)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const changesBase = `
version: 1
project: p
environments: [production]
segments:
  - {key: eu, conditions: [{attribute: country, op: in, values: [DE]}]}
  - {key: eu-beta, conditions: [{op: in_segment, values: [eu]}, {attribute: beta, op: exists}]}
  - {key: other, include: [u1]}
flags:
  - key: uses-eu
    type: bool
    environments:
      production: {enabled: true, rules: [{id: r, segments: [eu], serve: {variant: "on"}}], default: {variant: "off"}}
  - key: uses-eu-beta
    type: bool
    environments:
      production: {enabled: true, rules: [{id: r, conditions: [{op: in_segment, values: [eu-beta]}], serve: {variant: "on"}}]}
  - key: needs-uses-eu
    type: bool
    environments:
      production: {enabled: true, prerequisites: [{flag: uses-eu, variant: "on"}]}
  - key: plain
    type: bool
    environments:
      production: {enabled: true}
`

func TestChangedFlags(t *testing.T) {
	base := heldOf(t, changesBase)
	tests := []struct {
		name string
		old  *holdings
		doc  string
		want []string
	}{
		{"first ruleset", nil, changesBase, []string{"needs-uses-eu", "plain", "uses-eu", "uses-eu-beta"}},
		{"nothing", base, changesBase, []string{}},
		{"one flag", base, replace(changesBase, "production: {enabled: true}\n", "production: {enabled: false}\n"), []string{"plain"}},
		{"a segment, its users, segments naming it and prerequisites",
			base, replace(changesBase, "values: [DE]", "values: [FR]"), []string{"needs-uses-eu", "uses-eu", "uses-eu-beta"}},
		{"an unused segment", base, replace(changesBase, "include: [u1]", "include: [u2]"), []string{}},
		{"a removed flag", base, replace(changesBase, "  - key: plain\n    type: bool\n    environments:\n      production: {enabled: true}\n", ""), []string{"plain"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := changedFlags(tc.old, heldOf(t, tc.doc))
			if !slices.Equal(got, tc.want) {
				t.Errorf("changedFlags = %v, want %v", got, tc.want)
			}
		})
	}
}

func replace(s, old, new string) string { return strings.Replace(s, old, new, 1) }

// heldWith builds what a client holds for doc's production environment
// with releases in progress.
func heldWith(t *testing.T, doc string, overlays ...*model.Overlay) *holdings {
	t.Helper()
	d, err := model.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := rulesetOf(d, "production", overlays)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := apply(nil, nil, msg, false)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// releaseOf is an overlay releasing the flag plain to a share of segment
// eu, or everyone when segment is "".
func releaseOf(weight int, segment string) *model.Overlay {
	o := &model.Overlay{Release: "r", Salt: "r", Audience: []model.AudienceStage{{Weight: weight}},
		Items: []model.ReleaseItem{{Flag: "plain", Variant: "on"}}}
	if segment != "" {
		o.Audience[0].Segments = []string{segment}
	}
	return o
}

func TestChangedFlagsOfReleases(t *testing.T) {
	base := heldWith(t, changesBase, releaseOf(5000, "eu"))
	tests := []struct {
		name string
		next *holdings
		want []string
	}{
		{"same stage", heldWith(t, changesBase, releaseOf(5000, "eu")), []string{}},
		{"next stage", heldWith(t, changesBase, releaseOf(10000, "eu")), []string{"plain"}},
		{"audience segment changed", heldWith(t, replace(changesBase, "values: [DE]", "values: [FR]"), releaseOf(5000, "eu")),
			[]string{"needs-uses-eu", "plain", "uses-eu", "uses-eu-beta"}},
		{"release ended", heldWith(t, changesBase), []string{"plain"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := changedFlags(base, tc.next); !slices.Equal(got, tc.want) {
				t.Errorf("changedFlags = %v, want %v", got, tc.want)
			}
		})
	}
	if got := changedFlags(heldWith(t, changesBase), base); !slices.Equal(got, []string{"plain"}) {
		t.Errorf("changedFlags when a release starts = %v, want [plain]", got)
	}
}

func TestApplyRejects(t *testing.T) {
	good, err := bootstrapRuleset([]byte(changesBase), "production")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		corrupt func(rs *sdkpb.Ruleset)
	}{
		{"payload not matching its hash", func(rs *sdkpb.Ruleset) { rs.Sections[0].Payload = []byte(`{"key":"eu"}`) }},
		{"section neither held nor sent", func(rs *sdkpb.Ruleset) { rs.Sections = rs.Sections[1:] }},
		{"hash of the wrong size", func(rs *sdkpb.Ruleset) {
			rs.Manifest[0] = &sdkpb.SectionRef{Kind: rs.Manifest[0].Kind, Key: "eu", Hash: []byte{1}}
		}},
		{"manifest naming another key", func(rs *sdkpb.Ruleset) {
			rs.Manifest[0] = &sdkpb.SectionRef{Kind: rs.Manifest[0].Kind, Key: "not-eu", Hash: rs.Manifest[0].Hash}
		}},
		{"ruleset that does not compile", func(rs *sdkpb.Ruleset) { rs.Manifest = rs.Manifest[1:] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := cloneRuleset(good)
			tc.corrupt(msg)
			if _, _, err := apply(nil, nil, msg, false); err == nil {
				t.Error("apply = nil error, want the ruleset refused")
			}
		})
	}
	if _, _, err := apply(nil, nil, good, false); err != nil {
		t.Errorf("apply(good) = %v", err)
	}
}

// cloneRuleset copies the slices of a ruleset so that a test can break it.
func cloneRuleset(rs *sdkpb.Ruleset) *sdkpb.Ruleset {
	cp := &sdkpb.Ruleset{Project: rs.Project, Environment: rs.Environment, Revision: rs.Revision}
	cp.Manifest = append(cp.Manifest, rs.Manifest...)
	for _, s := range rs.Sections {
		cp.Sections = append(cp.Sections, &sdkpb.Section{Ref: s.Ref, Payload: s.Payload})
	}
	return cp
}

// TestApplyReusesHeldSections: sections the server does not resend are
// taken from what the client holds, with the same model values, so that
// the compiler can reuse their compiled form.
func TestApplyReusesHeldSections(t *testing.T) {
	full, err := bootstrapRuleset([]byte(changesBase), "production")
	if err != nil {
		t.Fatal(err)
	}
	first, rs, err := apply(nil, nil, full, false)
	if err != nil {
		t.Fatal(err)
	}
	bare := &sdkpb.Ruleset{Project: full.Project, Environment: full.Environment, Revision: 2, Manifest: full.Manifest}
	second, rs2, err := apply(first, rs, bare, false)
	if err != nil {
		t.Fatal(err)
	}
	if second.doc.Segments[0] != first.doc.Segments[0] || second.doc.Flags[0] != first.doc.Flags[0] {
		t.Error("held sections were decoded again")
	}
	if rs2.Revision != 2 {
		t.Errorf("Revision = %d, want 2", rs2.Revision)
	}
}
