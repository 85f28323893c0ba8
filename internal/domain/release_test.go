package domain_test

import (
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

func draftRelease() *model.Release {
	return &model.Release{ID: "r1", Environment: "production", State: model.StateDraft,
		Items: []model.ReleaseItem{{Flag: "new-checkout", Variant: "on"}},
		Plan:  []model.Stage{{Segments: []string{"eu-users"}, Weight: 100000}}}
}

func TestReleaseOverlayBumpsTheRevisionOnlyWhenItChanges(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	c := update(t, s, func(tx *domain.Tx) error { return tx.CreateRelease("shop", draftRelease()) })
	if c.Revision != 0 {
		t.Errorf("creating a draft bumped revision %d", c.Revision)
	}
	ps := project(t, s.State(), "shop")
	if _, ok := ps.Meta(domain.ReleaseName("shop", "r1")); !ok {
		t.Error("Meta of the release not found")
	}

	// Entering a stage changes the overlay: one revision, stamped on the event.
	running := draftRelease()
	running.State, running.Stage = model.StateInProgress, 1
	c = update(t, s, func(tx *domain.Tx) error {
		return tx.PutRelease("shop", running, "", &model.ReleaseEvent{Action: "start"})
	})
	env, _ := project(t, s.State(), "shop").Environment("production")
	r, _, _ := project(t, s.State(), "shop").Release("r1")
	if c.Revision == 0 || env.Revision != c.Revision || r.Timeline[0].Revision != c.Revision {
		t.Errorf("start: commit revision %d, environment %d, event %d; want one new revision everywhere", c.Revision, env.Revision, r.Timeline[0].Revision)
	}
	if staging, _ := project(t, s.State(), "shop").Environment("staging"); c.Revisions[domain.EnvRef{Project: "shop", Environment: "staging"}] != 0 || staging.Revision == c.Revision {
		t.Error("the release bumped another environment")
	}
	if c.Events[0].Action != "release.start" || c.Events[0].Revision != c.Revision {
		t.Errorf("audit event %+v", c.Events[0])
	}

	// Pausing keeps the overlay: no revision, but the event is stamped
	// with the current one.
	paused := *running
	paused.State = model.StatePaused
	c = update(t, s, func(tx *domain.Tx) error {
		return tx.PutRelease("shop", &paused, "", &model.ReleaseEvent{Action: "pause"})
	})
	r, _, _ = project(t, s.State(), "shop").Release("r1")
	if c.Revision != 0 || r.Timeline[len(r.Timeline)-1].Revision != env.Revision {
		t.Errorf("pause: commit revision %d, event %+v; want none and the current revision %d", c.Revision, r.Timeline[len(r.Timeline)-1], env.Revision)
	}
}

func TestStoreRefusesBrokenOverlays(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	running := draftRelease()
	running.State, running.Stage = model.StateInProgress, 1
	update(t, s, func(tx *domain.Tx) error { return tx.CreateRelease("shop", running) })
	other := draftRelease()
	other.ID, other.State = "r2", model.StateScheduled
	_, err := s.Update(t.Context(), domain.Actor{}, func(tx *domain.Tx) error { return tx.CreateRelease("shop", other) })
	if !errors.Is(err, domain.ErrFailedPrecondition) {
		t.Errorf("a second active release of the same item = %v, want a failed precondition", err)
	}
	_, err = s.Update(t.Context(), domain.Actor{}, func(tx *domain.Tx) error { return tx.DeleteSegment("shop", "eu-users", "") })
	if !errors.Is(err, domain.ErrFailedPrecondition) {
		t.Errorf("deleting a segment a running release uses = %v, want a failed precondition", err)
	}
}

// TestLoadsDatabaseWithoutReleases opens a file whose projects predate
// releases (no releases bucket).
func TestLoadsDatabaseWithoutReleases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := domaintest.OpenFile(path, domain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s)
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		shop := tx.Bucket([]byte("projects")).Bucket([]byte("shop"))
		if shop.Bucket([]byte("releases")) == nil {
			return nil // never created: the projects of a new file have no empty collections
		}
		return shop.DeleteBucket([]byte("releases"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = domaintest.OnBolt(t, path, domain.Options{})
	if got := project(t, s.State(), "shop").Releases(); len(got) != 0 {
		t.Errorf("Releases() = %v", got)
	}
	update(t, s, func(tx *domain.Tx) error { return tx.CreateRelease("shop", draftRelease()) })
}
