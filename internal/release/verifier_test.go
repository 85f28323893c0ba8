package release_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// verifiedEnv is an env whose store publishes compiled rulesets, with a
// running Verifier subscribed to it.
func verifiedEnv(t *testing.T) *env {
	t.Helper()
	rulesets := snapshot.NewSet(discard())
	e := &env{t: t, path: filepath.Join(t.TempDir(), "switchyard.db"), clock: newClock()}
	e.store = domaintest.Open(t, e.path, domain.Options{Now: e.clock.Now, OnCommit: rulesets.Apply})
	rulesets.Apply(e.store.State(), nil)
	doc, err := model.Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	e.update(root, func(tx *domain.Tx) error { _, err := tx.Import(doc, false); return err })
	v := release.NewVerifier(discard(), e.store, rulesets)
	t.Cleanup(e.store.Subscribe(v.Observe))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// waitFor polls a release until cond holds (5 s at most).
func (e *env) waitFor(id, what string, cond func(*model.Release) bool) *model.Release {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.release(id)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("release %s: timed out waiting for %s: %+v", id, what, r)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// resolutionOf returns the resolution check of a release's stage, or nil.
func resolutionOf(r *model.Release, stage int) *model.ResolutionCheck {
	for _, v := range r.Verification {
		if v.Stage == stage {
			return v.Resolution
		}
	}
	return nil
}

func TestVerifierChecksEachStageAndKeepsTheEtag(t *testing.T) {
	e := verifiedEnv(t)
	e.create(`{"id": "v", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "checkout", "variant": "on"}, {"component": "app", "version": "2.0.0"}],
	  "plan": [{"segments": ["staff"], "weight": 100000}, {"segments": ["eu"], "weight": 30000}]}`)
	for stage := 1; stage <= 2; stage++ {
		step := func(tx *domain.Tx) error { return release.Advance(tx, req("v")) }
		if stage == 1 {
			step = func(tx *domain.Tx) error { return release.Start(tx, req("v"), time.Time{}) }
		}
		ps, _ := e.update(alice, step).State.Project("shop")
		_, before, _ := ps.Release("v")
		r := e.waitFor("v", "the resolution check", func(r *model.Release) bool { return resolutionOf(r, stage) != nil })
		c := resolutionOf(r, stage)
		if !c.Passed || c.Stage != stage || c.Revision != e.revision() || c.InAudience == 0 {
			t.Fatalf("stage %d: check %+v, want passed at revision %d", stage, c, e.revision())
		}
		if _, after, _ := e.project().Release("v"); after.Etag != before.Etag {
			t.Errorf("stage %d: recording the check changed the etag from %s to %s", stage, before.Etag, after.Etag)
		}
	}
	events, _, err := e.store.ListAudit(context.Background(), domain.AuditFilter{Resource: domain.ReleaseName("shop", "v"), Limit: 1})
	if err != nil || len(events) != 1 || events[0].Action != "release.verify" || events[0].ActorName != release.VerifierName {
		t.Errorf("last audit event %+v (%v), want release.verify by the verifier", events, err)
	}
}

func TestVerifierRecordsAFinalCheckAfterRollBack(t *testing.T) {
	e := verifiedEnv(t)
	e.create(`{"id": "v", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "checkout", "variant": "on"}], "plan": [{"segments": ["staff"], "weight": 100000}]}`)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("v"), time.Time{}) })
	e.update(alice, func(tx *domain.Tx) error { return release.RollBack(tx, req("v")) })
	r := e.waitFor("v", "the final check", func(r *model.Release) bool { return r.FinalCheck != nil })
	if c := r.FinalCheck; !c.Passed || c.Action != "roll_back" || c.InAudience != 0 || c.Contexts == 0 {
		t.Errorf("final check %+v, want a passed roll_back check with no one in the audience", c)
	}
}
