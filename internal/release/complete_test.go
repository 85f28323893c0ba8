package release_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

func TestCompletionTargeting(t *testing.T) {
	tests := []struct {
		name  string
		plan  string
		flag  string // the banner has a rule serving old; checkout has none
		rules []string
		def   string
		cond  bool // the release rule uses an in_segment condition
		err   string
	}{
		{"everyone, no rules: default only", `[{"weight": 5000}, {"weight": 100000}]`, "checkout", nil, "on", false, ""},
		{"everyone, other rules: default and a first rule", `[{"weight": 100000}]`, "banner", []string{"release-r", "vip"}, "new", false, ""},
		{"one segment: a first rule", `[{"segments": ["staff"], "weight": 100000}]`, "checkout", []string{"release-r"}, "off", false, ""},
		{"segments of several stages: one rule", `[{"segments": ["staff"], "weight": 100000}, {"segments": ["eu"], "weight": 3000}, {"segments": ["eu"], "weight": 100000}]`, "checkout", []string{"release-r"}, "off", true, ""},
		{"partial last stage", `[{"segments": ["staff"], "weight": 100000}, {"weight": 20000}]`, "checkout", nil, "", false, "widen it to 100 %"},
		{"partial stage of another segment", `[{"segments": ["staff"], "weight": 50000}, {"segments": ["eu"], "weight": 100000}]`, "checkout", nil, "", false, "stage 1 serves 50.000 %"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			variant := map[string]string{"checkout": "on", "banner": "new"}[tc.flag]
			e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "` + tc.flag + `", "variant": "` + variant + `"}], "plan": ` + tc.plan + `}`)
			e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
			for e.release("r").Stage < len(e.release("r").Plan) {
				e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("r")) })
			}
			before := e.export()
			_, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("r")) })
			if tc.err != "" {
				if !isPrecondition(err) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("completing = %v, want a failed precondition containing %q", err, tc.err)
				}
				if e.export() != before || e.release("r").State != model.StateInProgress {
					t.Error("a refused completion changed something")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tg, _, _ := e.project().FlagTargeting(tc.flag, "production")
			var ids []string
			for _, r := range tg.Rules {
				ids = append(ids, r.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.rules, ",") || tg.Default.Variant != tc.def {
				t.Errorf("targeting rules %v default %q, want %v and %q", ids, tg.Default.Variant, tc.rules, tc.def)
			}
			if tc.cond && (len(tg.Rules[0].Conditions) != 1 || tg.Rules[0].Conditions[0].Op != model.OpInSegment || len(tg.Rules[0].Conditions[0].Values) != 2) {
				t.Errorf("release rule %+v, want one in_segment condition over both segments", tg.Rules[0])
			}
		})
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), e.clock.Now().Add(time.Hour)) })
	e.update(alice, func(tx *domain.Tx) error { return release.Cancel(tx, req("spring")) })
	if r := e.release("spring"); r.State != model.StateCancelled {
		t.Errorf("state %s after Cancel", r.State)
	}
	// Its items are free again.
	e.create(strings.Replace(staged, `"spring"`, `"again"`, 1))
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("again"), time.Time{}) })
}
