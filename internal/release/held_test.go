package release_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// serveBannerNew makes banner's production default serve "new".
func serveBannerNew(e *env) func(tx *domain.Tx) error {
	return func(tx *domain.Tx) error {
		tg, _, _ := e.project().FlagTargeting("banner", "production")
		c := *tg
		c.Default = &model.Serve{Variant: "new"}
		return tx.SetFlagTargeting("shop", "banner", "production", &c, "")
	}
}

func TestActiveReleaseHoldsItsItems(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })

	tests := []struct {
		name string
		fn   func(tx *domain.Tx) error
	}{
		{"targeting", serveBannerNew(e)},
		{"delete", func(tx *domain.Tx) error { return tx.DeleteFlag("shop", "banner", "") }},
		{"variants", func(tx *domain.Tx) error {
			f, _, _ := e.project().Flag("banner")
			c := *f
			c.Variants = append([]model.Variant{{Key: "newer", Value: "nn"}}, f.Variants...)
			return tx.UpdateFlag("shop", &c, "")
		}},
		{"versions", func(tx *domain.Tx) error {
			c, _, _ := e.project().Component("app")
			cc := *c
			cc.Versions = append([]model.Version{{Version: "3.0.0"}}, c.Versions...)
			return tx.UpdateComponent("shop", &cc, "")
		}},
		{"import", func(tx *domain.Tx) error {
			doc, err := model.Parse([]byte(strings.Replace(testDoc, `"default": {"version": "1.0.0"}`, `"default": {"version": "2.0.0"}`, 1)))
			if err != nil {
				return err
			}
			_, err = tx.Import(doc, false)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.try(root, tc.fn)
			var he *domain.HeldError
			if !errors.As(err, &he) || !errors.Is(err, domain.ErrConflict) || he.Release != "spring" || !strings.Contains(err.Error(), `release "spring"`) {
				t.Fatalf("edit of a held item = %v, want a conflict naming release spring", err)
			}
		})
	}
	// "dark" is not in the release: deleting it needs no override. Only
	// the release's environment is held; descriptions are not.
	e.update(root, func(tx *domain.Tx) error {
		tg := &model.Targeting{Enabled: true, OffVariant: "old", Default: &model.Serve{Variant: "new"}}
		if err := tx.SetFlagTargeting("shop", "banner", "staging", tg, ""); err != nil {
			return err
		}
		f, _, _ := e.project().Flag("banner")
		c := *f
		c.Description = "the home page banner"
		if err := tx.UpdateFlag("shop", &c, ""); err != nil {
			return err
		}
		return tx.DeleteFlag("shop", "dark", "")
	})
}

func TestOverrideIsOnTheTimelineAndRollBackKeepsIt(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	before := len(e.release("spring").Timeline)
	e.clock.Add(time.Minute)
	c := e.update(root, func(tx *domain.Tx) error {
		tx.OverrideRelease("shop", "spring", "INC-7: banner text is wrong")
		return serveBannerNew(e)(tx)
	})
	r := e.release("spring")
	if len(r.Timeline) != before+1 {
		t.Fatalf("timeline = %v, want one override event more", actions(r))
	}
	ev := r.Timeline[len(r.Timeline)-1]
	if ev.Action != "override" || ev.Actor != root.KeyID || ev.ActorName != root.Name || !ev.Time.Equal(e.clock.Now()) ||
		!strings.Contains(ev.Note, "INC-7: banner text is wrong") || !strings.Contains(ev.Note, "flags/banner") ||
		ev.Revision != c.Revision || r.State != model.StateInProgress {
		t.Errorf("override event = %+v (release %s), want who, when, why and what at revision %d", ev, r.State, c.Revision)
	}
	// The edit is drift: going on needs it acknowledged. Rolling back
	// removes the overlay and keeps the edit.
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) }); !isPrecondition(err) {
		t.Errorf("Advance after an override = %v, want the drift refused until acknowledged", err)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.RollBack(tx, req("spring")) })
	if tg, _, _ := e.project().FlagTargeting("banner", "production"); tg.Default.Variant != "new" || len(e.project().Overlays("production")) != 0 {
		t.Errorf("after RollBack: default %v, overlays %v; want the overridden edit kept and no overlay", tg.Default, e.project().Overlays("production"))
	}
	// An ended release holds nothing.
	e.update(root, func(tx *domain.Tx) error { return tx.DeleteFlag("shop", "banner", "") })
}
