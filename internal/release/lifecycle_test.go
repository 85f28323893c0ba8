package release_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

const staged = `{"id": "spring", "environment": "production", "release_notes": "New checkout",
  "items": [{"flag": "checkout", "variant": "on"}, {"flag": "banner", "variant": "new"}, {"component": "app", "version": "2.0.0"}],
  "plan": [
    {"name": "staff", "segments": ["staff"], "weight": 100000},
    {"name": "ten", "weight": 10000},
    {"name": "all", "weight": 100000}
  ]}`

func TestStagedReleaseLifecycle(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	r := e.release("spring")
	if r.State != model.StateDraft || r.Salt != "spring" || r.BucketBy != "targetingKey" || r.Mode != model.ModePull {
		t.Fatalf("created release = %+v, want a draft with default salt, bucket_by and mode", r)
	}
	rev0 := e.revision()

	c := e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	r = e.release("spring")
	if r.State != model.StateInProgress || r.Stage != 1 || r.Requester != alice.KeyID {
		t.Fatalf("after Start: state %s stage %d requester %q", r.State, r.Stage, r.Requester)
	}
	if c.Revision == 0 || e.revision() != c.Revision || c.Revision <= rev0 {
		t.Fatalf("Start revision %d (environment %d, before %d): want one new revision", c.Revision, e.revision(), rev0)
	}
	if got := r.Timeline[len(r.Timeline)-1]; got.Revision != c.Revision || got.From != model.StateDraft || got.To != model.StateInProgress || got.Stage != 1 {
		t.Errorf("start event = %+v, want DRAFT → IN_PROGRESS stage 1 at revision %d", got, c.Revision)
	}
	overlays := e.project().Overlays("production")
	if len(overlays) != 1 || len(overlays[0].Audience) != 1 || overlays[0].Salt != "spring" {
		t.Fatalf("Overlays = %+v, want the first stage", overlays)
	}
	if got := e.project().Overlays("staging"); len(got) != 0 {
		t.Errorf("Overlays(staging) = %+v, want none", got)
	}

	for stage := 2; stage <= 3; stage++ {
		e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
		if r = e.release("spring"); r.Stage != stage {
			t.Fatalf("after Advance: stage %d, want %d", r.Stage, stage)
		}
	}
	beforeComplete := e.export()
	c = e.update(bob, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
	r = e.release("spring")
	// Completed, the release keeps only its notes overlay: no audience.
	if o := e.project().Overlays("production"); r.State != model.StateCompleted || len(o) != 1 || !o[0].Completed || len(o[0].Audience) != 0 {
		t.Fatalf("after the last Advance: state %s, overlays %+v, want only the notes overlay", r.State, o)
	}
	if len(c.Revisions) != 1 {
		t.Errorf("completion changed revisions %v, want one environment once", c.Revisions)
	}
	if e.export() == beforeComplete {
		t.Error("completion wrote no targeting")
	}
	ps := e.project()
	if tg, _, _ := ps.FlagTargeting("checkout", "production"); tg.Default.Variant != "on" || len(tg.Rules) != 0 {
		t.Errorf("checkout targeting after completion = %+v, want default on and no rules", tg)
	}
	if tg, _, _ := ps.FlagTargeting("banner", "production"); tg.Default.Variant != "new" || tg.Rules[0].ID != "release-spring" || tg.Rules[0].Serve.Variant != "new" {
		t.Errorf("banner targeting after completion = %+v, want default new behind a first rule release-spring", tg)
	}
	if tg, _, _ := ps.ComponentTargeting("app", "production"); tg.Default.Version != "2.0.0" {
		t.Errorf("app targeting after completion = %+v, want default 2.0.0", tg)
	}
	if got, want := actions(r), []string{"create", "start", "advance", "advance", "complete"}; !slices.Equal(got, want) {
		t.Errorf("timeline = %v, want %v", got, want)
	}
	for i := 1; i < len(r.Timeline); i++ {
		if r.Timeline[i].Revision <= r.Timeline[i-1].Revision {
			t.Errorf("timeline[%d].Revision = %d, not after %d", i, r.Timeline[i].Revision, r.Timeline[i-1].Revision)
		}
	}
}

// TestCompletionServesWhatTheLastStageServed compiles the environment
// before and after completion and compares every item for many contexts.
func TestCompletionServesWhatTheLastStageServed(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "eu", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "checkout", "variant": "on"}, {"flag": "banner", "variant": "new"}],
	  "plan": [{"segments": ["staff"], "weight": 100000}, {"segments": ["eu"], "weight": 20000}, {"segments": ["eu"], "weight": 100000}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("eu"), time.Time{}) })
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("eu")) })
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("eu")) })
	ps := e.project()
	during, err := eval.CompileWith(ps.Document(), "production", nil, ps.Overlays("production"))
	if err != nil {
		t.Fatal(err)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("eu")) })
	ps = e.project()
	after, err := eval.CompileWith(ps.Document(), "production", nil, ps.Overlays("production"))
	if err != nil {
		t.Fatal(err)
	}
	countries := []string{"DE", "FR", "US"}
	for i := range 500 {
		ctx := eval.NewContext(fmt.Sprintf("user-%d", i)).String("country", countries[i%3]).Bool("vip", i%5 == 0)
		if i%7 == 0 {
			ctx.SetTargetingKey("s1")
		}
		for _, flag := range []string{"checkout", "banner"} {
			if d, a := during.Evaluate(flag, ctx).Variant, after.Evaluate(flag, ctx).Variant; d != a {
				t.Fatalf("%s for context %d: %q during the last stage, %q after completion", flag, i, d, a)
			}
		}
	}
}

func TestCompletedReleaseShowsNoDrift(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "all", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "checkout", "variant": "on"}], "plan": [{"weight": 100000}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("all"), time.Time{}) })
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("all")) })
	ps := e.project()
	r, _, _ := ps.Release("all")
	if r.State != model.StateCompleted {
		t.Fatalf("state = %s, want COMPLETED", r.State)
	}
	if d := release.Drift(ps, r); len(d) != 0 {
		t.Errorf("Drift of a completed release = %v, want none: completion wrote the targeting itself", d)
	}
}

func TestRollBackRestoresTheExactPreviousState(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	before := e.export()
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
	rev := e.revision()
	c := e.update(bob, func(tx *domain.Tx) error { return release.RollBack(tx, req("spring")) })
	if c.Revision != rev+1 && c.Revision <= rev {
		t.Errorf("rollback revision %d, want a new one after %d", c.Revision, rev)
	}
	if got := e.export(); got != before {
		t.Errorf("export after rollback differs:\n%s\nwant\n%s", got, before)
	}
	if r := e.release("spring"); r.State != model.StateRolledBack || len(e.project().Overlays("production")) != 0 {
		t.Errorf("after RollBack: state %s, overlays %v", r.State, e.project().Overlays("production"))
	}
	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
	if !isPrecondition(err) {
		t.Errorf("Advance after RollBack = %v, want a failed precondition", err)
	}
}

func TestStartRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup string // another release, started first
		rel   string
		want  string
	}{
		{"no release notes", "", `{"id": "r", "environment": "production", "items": [{"flag": "checkout", "variant": "on"}], "plan": [{"weight": 1}]}`, "release_notes: are required"},
		{"no items", "", `{"id": "r", "environment": "production", "release_notes": "n", "plan": [{"weight": 1}]}`, "at least one item"},
		{"no stages", "", `{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}]}`, "at least one stage"},
		{"unknown flag", "", `{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "nope", "variant": "on"}], "plan": [{"weight": 1}]}`, `unknown flag "nope"`},
		{"unknown variant", "", `{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "banner", "variant": "nope"}], "plan": [{"weight": 1}]}`, `has no variant "nope"`},
		{"withdrawn version", "", `{"id": "r", "environment": "production", "release_notes": "n", "items": [{"component": "app", "version": "0.9.0"}], "plan": [{"weight": 1}]}`, "withdrawn"},
		{"unknown segment", "", `{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}], "plan": [{"segments": ["nope"], "weight": 1}]}`, `unknown segment "nope"`},
		{"disabled flag", "", `{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "dark", "variant": "on"}], "plan": [{"weight": 1}]}`, "not enabled"},
		{"item in another release", `{"id": "other", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}], "plan": [{"weight": 1}]}`,
			`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "banner", "variant": "new"}, {"flag": "checkout", "variant": "on"}], "plan": [{"weight": 1}]}`, "flags/checkout is in release other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != "" {
				e.create(tc.setup)
				e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("other"), time.Time{}) })
			}
			e.create(tc.rel)
			before, rev := e.release("r"), e.revision()
			_, err := e.try(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
			if !isPrecondition(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start = %v, want a failed precondition containing %q", err, tc.want)
			}
			if after := e.release("r"); after.State != model.StateDraft || len(after.Timeline) != len(before.Timeline) || e.revision() != rev {
				t.Errorf("a refused Start changed the release (%s) or the revision (%d → %d)", after.State, rev, e.revision())
			}
		})
	}
}

func TestApprovalGate(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 100000, "gate": {"approval": {}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })

	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("r")) })
	if !isPrecondition(err) || !strings.Contains(err.Error(), "approval") {
		t.Fatalf("Advance before approval = %v, want a failed precondition about approval", err)
	}
	_, err = e.try(alice, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) })
	if !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("Approve by the requester = %v, want permission denied", err)
	}
	e.update(bob, func(tx *domain.Tx) error {
		return release.Approve(tx, release.Request{Project: "shop", ID: "r", Note: "looks good"})
	})
	_, err = e.try(bob, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) })
	if !isPrecondition(err) {
		t.Errorf("a second Approve by the same key = %v, want a failed precondition", err)
	}
	r := e.release("r")
	if len(r.Approvals) != 1 || r.Approvals[0].By != bob.KeyID || r.Approvals[0].Stage != 2 || r.Approvals[0].Comment != "looks good" {
		t.Errorf("approvals = %+v, want bob's for stage 2", r.Approvals)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("r")) })
	if r = e.release("r"); r.Stage != 2 || len(r.Approvals) != 0 {
		t.Errorf("after Advance: stage %d, approvals %v; want stage 2 and the approvals consumed", r.Stage, r.Approvals)
	}
	if got, want := actions(r), []string{"create", "start", "approve", "advance"}; !slices.Equal(got, want) {
		t.Errorf("timeline = %v, want %v", got, want)
	}
}

func TestApprovalByAdminOnly(t *testing.T) {
	e := newEnv(t)
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000, "gate": {"approval": {"approvers": "admin"}}}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
	if r := e.release("r"); r.State != model.StateScheduled {
		t.Fatalf("Start with an approval gate on the first stage: state %s, want SCHEDULED", r.State)
	}
	if _, err := e.try(bob, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) }); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Fatalf("Approve by a release manager of an admin gate = %v, want permission denied", err)
	}
	e.update(root, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) })
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("r")) })
	if r := e.release("r"); r.State != model.StateInProgress || r.Stage != 1 {
		t.Errorf("after approval and Advance: %s stage %d", r.State, r.Stage)
	}
}

func TestDriftBlocksAdvanceUntilAcknowledged(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	if d := release.Drift(e.project(), e.release("spring")); len(d) != 0 {
		t.Fatalf("Drift right after Start = %v", d)
	}
	// Someone changes the banner's targeting outside the release, overriding
	// its hold.
	e.update(root, func(tx *domain.Tx) error {
		tx.OverrideRelease("shop", "spring", "hotfix")
		tg, meta, _ := e.project().FlagTargeting("banner", "production")
		c := *tg
		c.Default = &model.Serve{Variant: "new"}
		return tx.SetFlagTargeting("shop", "banner", "production", &c, meta.Etag)
	})
	if d := release.Drift(e.project(), e.release("spring")); !slices.Equal(d, []string{"flags/banner"}) {
		t.Fatalf("Drift = %v, want [flags/banner]", d)
	}
	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
	if !isPrecondition(err) || !strings.Contains(err.Error(), "flags/banner") {
		t.Fatalf("Advance of a drifted release = %v, want a failed precondition naming flags/banner", err)
	}
	// Pausing is always possible; resuming needs the acknowledgement too.
	e.update(alice, func(tx *domain.Tx) error { return release.Pause(tx, req("spring")) })
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Resume(tx, req("spring")) }); !isPrecondition(err) {
		t.Fatalf("Resume of a drifted release = %v, want a failed precondition", err)
	}
	e.update(alice, func(tx *domain.Tx) error {
		return release.Resume(tx, release.Request{Project: "shop", ID: "spring", AcknowledgeDrift: true})
	})
	if d := release.Drift(e.project(), e.release("spring")); len(d) != 0 {
		t.Errorf("Drift after acknowledging = %v, want none", d)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) })
	r := e.release("spring")
	if r.Stage != 2 || !strings.Contains(r.Timeline[len(r.Timeline)-2].Note, "drift acknowledged: flags/banner") {
		t.Errorf("stage %d, timeline %+v: want stage 2 and the acknowledgement recorded", r.Stage, r.Timeline)
	}
}

func TestPauseKeepsTheAudience(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	rev := e.revision()
	e.update(alice, func(tx *domain.Tx) error { return release.Pause(tx, req("spring")) })
	if e.revision() != rev || len(e.project().Overlays("production")) != 1 {
		t.Errorf("Pause changed the revision (%d → %d) or dropped the overlay", rev, e.revision())
	}
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, req("spring")) }); !isPrecondition(err) {
		t.Errorf("Advance while paused = %v, want a failed precondition", err)
	}
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Cancel(tx, req("spring")) }); !isPrecondition(err) {
		t.Errorf("Cancel of a started release = %v, want a failed precondition", err)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Resume(tx, req("spring")) })
	if r := e.release("spring"); r.State != model.StateInProgress || r.Stage != 1 {
		t.Errorf("after Resume: %s stage %d", r.State, r.Stage)
	}
}

func TestDraftOnlyEdits(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	r := e.release("spring")
	r2 := *r
	r2.Title = "Spring launch"
	_, meta, _ := e.project().Release("spring")
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Update(tx, "shop", &r2, "stale") }); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("Update with a stale etag = %v, want a conflict", err)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Update(tx, "shop", &r2, meta.Etag) })
	if got := e.release("spring").Title; got != "Spring launch" {
		t.Errorf("title after Update = %q", got)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Update(tx, "shop", &r2, "") }); !isPrecondition(err) {
		t.Errorf("Update of a started release = %v, want a failed precondition", err)
	}
	if _, err := e.try(alice, func(tx *domain.Tx) error { return release.Delete(tx, "shop", "spring", "") }); !isPrecondition(err) {
		t.Errorf("Delete of a started release = %v, want a failed precondition", err)
	}
}

func TestStoreProtectsReleasedItems(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	for name, fn := range map[string]func(tx *domain.Tx) error{
		"delete flag":      func(tx *domain.Tx) error { return tx.DeleteFlag("shop", "banner", "") },
		"delete segment":   func(tx *domain.Tx) error { return tx.DeleteSegment("shop", "staff", "") },
		"delete env":       func(tx *domain.Tx) error { return tx.DeleteEnvironment("shop", "production", "") },
		"withdraw version": withdraw("2.0.0"),
	} {
		// Even overriding the release's hold on its items, nothing it
		// needs may go.
		overridden := func(tx *domain.Tx) error {
			tx.OverrideRelease("shop", "spring", "cleanup")
			return fn(tx)
		}
		if _, err := e.try(root, overridden); !isPrecondition(err) || !strings.Contains(err.Error(), "roll it back or complete it") {
			t.Errorf("%s during the release = %v, want a failed precondition", name, err)
		}
	}
	e.update(alice, func(tx *domain.Tx) error { return release.RollBack(tx, req("spring")) })
	e.update(root, func(tx *domain.Tx) error { return tx.DeleteFlag("shop", "banner", "") })
}

func withdraw(version string) func(tx *domain.Tx) error {
	return func(tx *domain.Tx) error {
		ps, _ := tx.Project("shop")
		c, _, _ := ps.Component("app")
		cc := *c
		cc.Versions = slices.Clone(c.Versions)
		for i := range cc.Versions {
			if cc.Versions[i].Version == version {
				cc.Versions[i].Withdrawn = true
			}
		}
		return tx.UpdateComponent("shop", &cc, "")
	}
}

func TestReleasesSurviveReopen(t *testing.T) {
	e := newEnv(t)
	e.create(staged)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("spring"), time.Time{}) })
	want := e.release("spring")
	_, wantMeta, _ := e.project().Release("spring")
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	st := domaintest.Open(t, e.path, domain.Options{})
	ps, _ := st.State().Project("shop")
	got, meta, ok := ps.Release("spring")
	if !ok || meta.Etag != wantMeta.Etag || got.State != want.State || len(got.Timeline) != len(want.Timeline) || !got.Timeline[1].Time.Equal(want.Timeline[1].Time) {
		t.Errorf("after reopening: %+v %+v, want %+v %+v", got, meta, want, wantMeta)
	}
	if len(ps.Overlays("production")) != 1 {
		t.Error("after reopening: the overlay is gone")
	}
}
