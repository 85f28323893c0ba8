package section_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/section"
)

const doc = `
version: 1
project: shop
environments: [production, staging]
segments:
  - key: eu
    conditions: [{attribute: country, op: in, values: [DE, 49, true]}]
    include: [u1]
flags:
  - key: banner
    type: json
    variants: [{key: a, value: {text: "<b>", n: 1.5, list: [1, "x", null]}}]
    environments:
      production: {enabled: true, off_variant: a, default: {variant: a}}
      staging: {enabled: false, off_variant: a}
  - key: plain
    type: bool
components:
  - key: app
    versions: [{version: 1.0.0}]
    environments:
      production: {default: {version: 1.0.0}}
`

func parse(t *testing.T) *model.Document {
	t.Helper()
	d, err := model.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Validate(d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	d := parse(t)
	overlays := []*model.Overlay{{
		Release: "spring", Salt: "spring", BucketBy: "account",
		Audience: []model.AudienceStage{{Segments: []string{"eu"}, Weight: 100000}, {Weight: 5000}},
		Items:    []model.ReleaseItem{{Flag: "plain", Variant: "on"}, {Component: "app", Version: "1.0.0"}},
	}, {
		Experiment: "ab", Salt: "ab", Audience: []model.AudienceStage{{Weight: 50000}},
		Items:      []model.ReleaseItem{{Flag: "banner"}},
		Allocation: []model.Weighted{{Variant: "a", Weight: 100000}},
	}}
	secs, err := section.Encode(d, "production", overlays)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []section.Decoded
	for _, s := range secs {
		if s.Hash != section.HashOf(s.Payload) {
			t.Errorf("%s %q: hash does not match the payload", s.Kind, s.Key)
		}
		dec, err := section.Decode(s.Kind, s.Key, s.Payload)
		if err != nil {
			t.Fatalf("Decode(%s %q): %v", s.Kind, s.Key, err)
		}
		decoded = append(decoded, dec)
	}
	got, gotOverlays, err := section.Document("shop", "production", decoded)
	if err != nil {
		t.Fatal(err)
	}
	want := *d
	want.Environments = []string{"production"}
	want.Flags = []*model.Flag{onlyEnv(d.Flags[0], "production"), onlyEnv(d.Flags[1], "production")}
	comp := *d.Components[0]
	comp.Environments = map[string]*model.Targeting{"production": d.Components[0].Environments["production"]}
	want.Components = []*model.Component{&comp}
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("Document(Decode(Encode(doc))) = %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(gotOverlays, overlays) {
		t.Errorf("Document(Decode(Encode(doc))) overlays = %+v, want %+v", gotOverlays, overlays)
	}
	keys := []string{secs[len(secs)-2].Key, secs[len(secs)-1].Key}
	if last := secs[len(secs)-1]; last.Kind != section.KindOverlay || !slices.Equal(keys, []string{"spring", "experiment:ab"}) {
		t.Errorf("last sections = %v, want the overlays spring and experiment:ab (overlays come last)", keys)
	}
}

func onlyEnv(f *model.Flag, env string) *model.Flag {
	cp := *f
	cp.Environments = nil
	if tg := f.Environments[env]; tg != nil {
		cp.Environments = map[string]*model.Targeting{env: tg}
	}
	return &cp
}

// TestHashes pins what changes a section's hash: its own environment's
// targeting, not another environment's.
func TestHashes(t *testing.T) {
	d := parse(t)
	base, _ := section.Flag(d.Flags[0], "production")
	otherEnv := *d.Flags[0]
	otherEnv.Environments = map[string]*model.Targeting{
		"production": d.Flags[0].Environments["production"],
		"staging":    {Enabled: true, OffVariant: "a"},
	}
	sameEnv := *d.Flags[0]
	sameEnv.Environments = map[string]*model.Targeting{"production": {Enabled: false, OffVariant: "a"}}
	tests := []struct {
		name string
		flag *model.Flag
		env  string
		same bool
	}{
		{"same flag", d.Flags[0], "production", true},
		{"another environment changed", &otherEnv, "production", true},
		{"this environment changed", &sameEnv, "production", false},
		{"another environment", d.Flags[0], "staging", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := section.Flag(tc.flag, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if (s.Hash == base.Hash) != tc.same {
				t.Errorf("hash equal to the base = %v, want %v", s.Hash == base.Hash, tc.same)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		kind    section.Kind
		key     string
		payload string
		want    string
	}{
		{"not JSON", section.KindFlag, "a", "{", "decode flag"},
		{"other key", section.KindSegment, "a", `{"key": "b"}`, `holds key "b"`},
		{"unknown kind", section.Kind(9), "a", `{"key": "a"}`, "unknown kind(9)"},
		{"wrong shape", section.KindComponent, "a", `{"key": 1}`, "decode component"},
		{"overlay of another release", section.KindOverlay, "a", `{"release": "b"}`, `holds key "b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := section.Decode(tc.kind, tc.key, []byte(tc.payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestHashFromBytes(t *testing.T) {
	if _, ok := section.HashFromBytes(make([]byte, 31)); ok {
		t.Error("HashFromBytes(31 bytes) ok, want refused")
	}
	h := section.HashOf([]byte("x"))
	if got, ok := section.HashFromBytes(h[:]); !ok || got != h {
		t.Errorf("HashFromBytes(hash) = %x, %v", got, ok)
	}
}
