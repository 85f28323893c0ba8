package eval_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// overlayDoc has flags and a component for every overlay case: a flag with
// targets and rules, a disabled flag, a prerequisite chain, a flag with no
// rules (STATIC) and a component without targeting.
const overlayDoc = `{
  "version": 1, "project": "p", "environments": ["prod"],
  "segments": [
    {"key": "staff", "include": ["s1", "s2"]},
    {"key": "de", "conditions": [{"attribute": "country", "op": "in", "values": ["DE"]}]}
  ],
  "flags": [
    {"key": "checkout", "type": "bool", "environments": {"prod": {"enabled": true,
      "targets": [{"variant": "off", "keys": ["pinned"]}],
      "rules": [{"id": "beta", "conditions": [{"attribute": "beta", "op": "in", "values": [true]}], "serve": {"variant": "on"}}],
      "default": {"variant": "off"}}}},
    {"key": "killed", "type": "bool", "environments": {"prod": {"enabled": false}}},
    {"key": "api", "type": "bool", "environments": {"prod": {"enabled": true, "default": {"variant": "off"}}}},
    {"key": "needs-api", "type": "bool", "environments": {"prod": {"enabled": true,
      "prerequisites": [{"flag": "api", "variant": "on"}], "default": {"variant": "on"}}}},
    {"key": "plain", "type": "string", "variants": [{"key": "a", "value": "A"}, {"key": "b", "value": "B"}],
      "environments": {"prod": {"enabled": true, "off_variant": "a", "default": {"variant": "a"}}}}
  ],
  "components": [
    {"key": "app", "versions": [{"version": "1.0.0"}, {"version": "2.0.0"}]}
  ]
}`

// overlayCase is one conformance-style case: an overlay set, a flag or a
// component, a context and the expected outcome.
type overlayCase struct {
	name      string
	overlays  string // JSON array of model.Overlay
	flag      string
	component string
	context   string
	variant   string // or version, for components
	reason    eval.Reason
	rule      string
}

func TestOverlayEvaluation(t *testing.T) {
	const (
		staffAll  = `[{"release": "r1", "salt": "r1", "audience": [{"segments": ["staff"], "weight": 100000}], "items": [{"flag": "checkout", "variant": "on"}, {"flag": "plain", "variant": "b"}, {"component": "app", "version": "2.0.0"}, {"flag": "killed", "variant": "on"}, {"flag": "api", "variant": "on"}]}]`
		everyone  = `[{"release": "r1", "salt": "r1", "audience": [{"weight": 100000}], "items": [{"flag": "checkout", "variant": "on"}]}]`
		nobody    = `[{"release": "r1", "salt": "r1", "audience": [{"weight": 0}], "items": [{"flag": "checkout", "variant": "on"}]}]`
		partial   = `[{"release": "r1", "salt": "r1", "audience": [{"weight": 50000}], "items": [{"flag": "checkout", "variant": "on"}]}]`
		anySeg    = `[{"release": "r1", "salt": "r1", "audience": [{"segments": ["staff", "de"], "weight": 100000}], "items": [{"flag": "checkout", "variant": "on"}]}]`
		byAccount = `[{"release": "r1", "salt": "r1", "bucket_by": "account", "audience": [{"weight": 50000}], "items": [{"flag": "checkout", "variant": "on"}]}]`
	)
	// Units on either side of 50 % under salt r1.
	in50, out50 := unitWithBucket(t, "r1", func(b uint32) bool { return b < 50000 }), unitWithBucket(t, "r1", func(b uint32) bool { return b >= 50000 })
	tests := []overlayCase{
		{"no overlay: own default", "", "checkout", "", `{"targetingKey": "s1"}`, "off", eval.ReasonDefault, "default"},
		{"in audience", staffAll, "checkout", "", `{"targetingKey": "s1"}`, "on", eval.ReasonTargetingMatch, "release:r1"},
		{"not in audience: own rules", staffAll, "checkout", "", `{"targetingKey": "u", "beta": true}`, "on", eval.ReasonTargetingMatch, "beta"},
		{"not in audience: own default", staffAll, "checkout", "", `{"targetingKey": "u"}`, "off", eval.ReasonDefault, "default"},
		{"targets win over the release", everyone, "checkout", "", `{"targetingKey": "pinned"}`, "off", eval.ReasonTargetingMatch, "targets"},
		{"kill switch wins", staffAll, "killed", "", `{"targetingKey": "s1"}`, "off", eval.ReasonDisabled, ""},
		{"release before rules", everyone, "checkout", "", `{"targetingKey": "u", "beta": true}`, "on", eval.ReasonTargetingMatch, "release:r1"},
		{"everyone includes no key", everyone, "checkout", "", `{}`, "on", eval.ReasonTargetingMatch, "release:r1"},
		{"weight 0 is nobody", nobody, "checkout", "", `{"targetingKey": "s1"}`, "off", eval.ReasonDefault, "default"},
		{"partial: bucket below", partial, "checkout", "", `{"targetingKey": "` + in50 + `"}`, "on", eval.ReasonTargetingMatch, "release:r1"},
		{"partial: bucket above", partial, "checkout", "", `{"targetingKey": "` + out50 + `"}`, "off", eval.ReasonDefault, "default"},
		{"partial: no unit falls through", partial, "checkout", "", `{"beta": true}`, "on", eval.ReasonTargetingMatch, "beta"},
		{"bucket_by attribute", byAccount, "checkout", "", `{"targetingKey": "` + out50 + `", "account": "` + in50 + `"}`, "on", eval.ReasonTargetingMatch, "release:r1"},
		{"bucket_by attribute absent", byAccount, "checkout", "", `{"targetingKey": "` + in50 + `"}`, "off", eval.ReasonDefault, "default"},
		{"any listed segment", anySeg, "checkout", "", `{"targetingKey": "u", "country": "DE"}`, "on", eval.ReasonTargetingMatch, "release:r1"},
		{"no listed segment", anySeg, "checkout", "", `{"targetingKey": "u", "country": "FR"}`, "off", eval.ReasonDefault, "default"},
		{"static default becomes DEFAULT", staffAll, "plain", "", `{"targetingKey": "u"}`, "a", eval.ReasonDefault, "default"},
		{"string flag in audience", staffAll, "plain", "", `{"targetingKey": "s2"}`, "b", eval.ReasonTargetingMatch, "release:r1"},
		{"prerequisite sees the release", staffAll, "needs-api", "", `{"targetingKey": "s1"}`, "on", eval.ReasonStatic, "default"},
		{"prerequisite outside the audience", staffAll, "needs-api", "", `{"targetingKey": "u"}`, "off", eval.ReasonPrerequisiteFailed, ""},
		{"component in audience", staffAll, "", "app", `{"targetingKey": "s1"}`, "2.0.0", eval.ReasonTargetingMatch, "release:r1"},
		{"component outside: no targeting", staffAll, "", "app", `{"targetingKey": "u"}`, "", eval.ReasonDisabled, ""},
	}
	doc := parseOverlayDoc(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := eval.CompileWith(doc, "prod", nil, parseOverlays(t, tc.overlays))
			if err != nil {
				t.Fatalf("CompileWith: %v", err)
			}
			ctx := mustContext(t, tc.context)
			var got outcome
			if tc.component != "" {
				a := rs.Availability(tc.component, ctx, "0.1.0")
				got = outcome{a.Version, a.Reason, a.Rule, a.ErrorCode}
			} else {
				got = outcomeOf(rs.Evaluate(tc.flag, ctx))
			}
			want := outcome{tc.variant, tc.reason, tc.rule, ""}
			if got != want {
				t.Errorf("evaluate %s%s(%s) = %+v, want %+v", tc.flag, tc.component, tc.context, got, want)
			}
		})
	}
}

// TestOverlayAudienceIsExact checks membership against the bucketing
// contract for many units: a unit is in a union of stages exactly when it
// is in one of them, every item of the release agrees, and widening never
// drops a unit.
func TestOverlayAudienceIsExact(t *testing.T) {
	doc := parseOverlayDoc(t)
	stages := []model.AudienceStage{{Segments: []string{"staff"}, Weight: 100000}, {Weight: 5000}, {Segments: []string{"de"}, Weight: 20000}, {Weight: 30000}}
	items := []model.ReleaseItem{{Flag: "checkout", Variant: "on"}, {Flag: "plain", Variant: "b"}, {Component: "app", Version: "2.0.0"}}
	wasIn := map[string]bool{}
	for n := 1; n <= len(stages); n++ {
		o := &model.Overlay{Release: "wide", Salt: "salt-x", Audience: stages[:n], Items: items}
		rs, err := eval.CompileWith(doc, "prod", nil, []*model.Overlay{o})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3000 {
			unit := fmt.Sprintf("user-%d", i)
			country := []string{"DE", "FR"}[i%2]
			ctx := eval.NewContext(unit).String("country", country)
			b := int(eval.Bucket("salt-x", unit))
			want := false
			for _, st := range stages[:n] {
				seg := len(st.Segments) == 0 || (st.Segments[0] == "de" && country == "DE")
				want = want || (seg && b < st.Weight)
			}
			got := []bool{
				rs.Evaluate("checkout", ctx).Rule == "release:wide",
				rs.Evaluate("plain", ctx).Variant == "b",
				rs.Availability("app", ctx, "0.1.0").Version == "2.0.0",
			}
			for j, g := range got {
				if g != want {
					t.Fatalf("stage %d: %s (bucket %d, %s) item %d in audience = %v, want %v", n, unit, b, country, j, g, want)
				}
			}
			if wasIn[unit] && !want {
				t.Fatalf("stage %d dropped %s", n, unit)
			}
			wasIn[unit] = want
		}
	}
}

func TestCompileWithRefusesBadOverlays(t *testing.T) {
	tests := []struct {
		name     string
		overlays string
		want     string
	}{
		{"unknown variant", `[{"release": "r", "salt": "r", "audience": [], "items": [{"flag": "checkout", "variant": "nope"}]}]`, `unknown variant "nope"`},
		{"unknown segment", `[{"release": "r", "salt": "r", "audience": [{"segments": ["nope"], "weight": 1}], "items": []}]`, `unknown segment "nope"`},
		{"unknown version", `[{"release": "r", "salt": "r", "audience": [], "items": [{"component": "app", "version": "9.0.0"}]}]`, `unknown version "9.0.0"`},
		{"weight out of range", `[{"release": "r", "salt": "r", "audience": [{"weight": 100001}], "items": []}]`, "out of range"},
		{"claimed twice", `[{"release": "r", "salt": "r", "audience": [], "items": [{"flag": "api", "variant": "on"}]}, {"release": "s", "salt": "s", "audience": [], "items": [{"flag": "api", "variant": "off"}]}]`, `in release "r" too`},
	}
	doc := parseOverlayDoc(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := eval.CompileWith(doc, "prod", nil, parseOverlays(t, tc.overlays))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CompileWith = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestOverlayDoesNotAllocate(t *testing.T) {
	doc := parseOverlayDoc(t)
	o := &model.Overlay{Release: "r", Salt: "r", Audience: []model.AudienceStage{{Segments: []string{"staff", "de"}, Weight: 100000}, {Weight: 30000}},
		Items: []model.ReleaseItem{{Flag: "checkout", Variant: "on"}, {Component: "app", Version: "2.0.0"}}}
	rs, err := eval.CompileWith(doc, "prod", nil, []*model.Overlay{o})
	if err != nil {
		t.Fatal(err)
	}
	ctxs := []*eval.Context{eval.NewContext("s1"), eval.NewContext("u").String("country", "FR"), new(eval.Context), new(eval.Context).Number("targetingKey", 1)}
	for i, ctx := range ctxs {
		if n := testing.AllocsPerRun(100, func() { rs.Evaluate("checkout", ctx) }); n != 0 {
			t.Errorf("Evaluate(checkout, ctxs[%d]) allocates %v times", i, n)
		}
		if n := testing.AllocsPerRun(100, func() { rs.Availability("app", ctx, "1.0.0") }); n != 0 {
			t.Errorf("Availability(app, ctxs[%d]) allocates %v times", i, n)
		}
	}
}

func parseOverlayDoc(t testing.TB) *model.Document {
	t.Helper()
	d, err := model.Parse([]byte(overlayDoc))
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Validate(d); err != nil {
		t.Fatal(err)
	}
	return d
}

func parseOverlays(t testing.TB, js string) []*model.Overlay {
	t.Helper()
	if js == "" {
		return nil
	}
	var out []*model.Overlay
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("overlays %s: %v", js, err)
	}
	return out
}

// unitWithBucket returns the first unit "u-N" whose bucket under salt
// satisfies ok.
func unitWithBucket(t testing.TB, salt string, ok func(uint32) bool) string {
	t.Helper()
	for i := range 1000 {
		u := fmt.Sprintf("u-%d", i)
		if ok(eval.Bucket(salt, u)) {
			return u
		}
	}
	t.Fatal("no unit found")
	return ""
}

// TestPushReleaseMakesTheUpdateRequired: a version served by a release in
// push mode is an update its audience must take; in pull mode, and outside
// the audience, the component's own rules decide.
func TestPushReleaseMakesTheUpdateRequired(t *testing.T) {
	tests := []struct {
		name     string
		push     bool
		key      string
		current  string
		wantVer  string
		wantUpd  eval.Update
		wantRule string
	}{
		{"push, in the audience", true, "s1", "1.0.0", "2.0.0", eval.UpdateRequired, "release:r1"},
		{"pull, in the audience", false, "s1", "1.0.0", "2.0.0", eval.UpdateOptional, "release:r1"},
		{"push, already on the version", true, "s1", "2.0.0", "2.0.0", eval.UpdateNone, "release:r1"},
		{"push, outside the audience", true, "u1", "1.0.0", "", eval.UpdateNone, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			overlays := fmt.Sprintf(`[{"release": "r1", "salt": "r1", "push": %t,
			  "audience": [{"segments": ["staff"], "weight": 100000}], "items": [{"component": "app", "version": "2.0.0"}]}]`, tc.push)
			rs, err := eval.CompileWith(parseOverlayDoc(t), "prod", nil, parseOverlays(t, overlays))
			if err != nil {
				t.Fatalf("CompileWith: %v", err)
			}
			got := rs.Availability("app", eval.NewContext(tc.key), tc.current)
			if got.Version != tc.wantVer || got.Update != tc.wantUpd || got.Rule != tc.wantRule {
				t.Errorf("Availability = %+v, want version %q, update %s, rule %q", got, tc.wantVer, tc.wantUpd, tc.wantRule)
			}
		})
	}
}
