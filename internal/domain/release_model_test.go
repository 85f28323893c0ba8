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

func canaryModel() *model.ReleaseModel {
	return &model.ReleaseModel{Key: "service-canary", Mode: model.ModePull, Stages: []model.Stage{
		{Name: "canary", Weight: 5000},
		{Name: "all", Weight: 100000, Gate: &model.Gate{Approval: &model.ApprovalGate{}}},
	}}
}

func TestReleaseModelWritesChangeNoRevision(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	m := canaryModel()
	c := update(t, s, func(tx *domain.Tx) error { return tx.CreateReleaseModel("shop", m) })
	if c.Revision != 0 || len(c.Events) != 1 || c.Events[0].Action != "release_model.create" || c.Events[0].Revision != 0 {
		t.Fatalf("create: revision %d, events %+v; want no revision and one release_model.create event", c.Revision, c.Events)
	}
	_, meta, ok := project(t, s.State(), "shop").ReleaseModel("service-canary")
	if !ok || meta.Etag == "" {
		t.Fatalf("ReleaseModel() = %v, %+v", ok, meta)
	}
	m.Description = "5 % first"
	c = update(t, s, func(tx *domain.Tx) error { return tx.UpdateReleaseModel("shop", m, meta.Etag) })
	if c.Revision != 0 || c.Events[0].Action != "release_model.update" {
		t.Errorf("update: revision %d, events %+v", c.Revision, c.Events)
	}
	c = update(t, s, func(tx *domain.Tx) error { return tx.DeleteReleaseModel("shop", "service-canary", "") })
	if c.Revision != 0 || c.Events[0].Action != "release_model.delete" {
		t.Errorf("delete: revision %d, events %+v", c.Revision, c.Events)
	}
	if got := project(t, s.State(), "shop").ReleaseModels(); len(got) != 0 {
		t.Errorf("ReleaseModels() after delete = %v", got)
	}
}

func TestReleaseModelStaleEtagIsAConflict(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateReleaseModel("shop", canaryModel()) })
	_, err := s.Update(t.Context(), testActor, func(tx *domain.Tx) error {
		return tx.UpdateReleaseModel("shop", canaryModel(), "stale")
	})
	if !errors.Is(err, domain.ErrConflict) {
		t.Errorf("UpdateReleaseModel(stale etag) = %v, want ErrConflict", err)
	}
}

func TestInvalidReleaseModelIsRefusedWithPaths(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	m := canaryModel()
	m.Stages[1].Weight = 100001
	_, err := s.Update(t.Context(), testActor, func(tx *domain.Tx) error { return tx.CreateReleaseModel("shop", m) })
	var fes model.Errors
	if !errors.Is(err, domain.ErrInvalid) || !errors.As(err, &fes) || fes[0].Path != "stages[1].weight" {
		t.Fatalf("CreateReleaseModel(weight 100001) = %v, want ErrInvalid at stages[1].weight", err)
	}
}

func TestReleaseModelsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateReleaseModel("shop", canaryModel()) })
	_, want, _ := project(t, s.State(), "shop").ReleaseModel("service-canary")
	s.Close()
	s = domaintest.Open(t, path, domain.Options{})
	m, got, ok := project(t, s.State(), "shop").ReleaseModel("service-canary")
	if !ok || got != want || m.Stages[1].Gate.Approval == nil {
		t.Errorf("after reopen: %v %+v %+v, want meta %+v", ok, m, got, want)
	}
	if export := project(t, s.State(), "shop").Document(); export.Flags == nil {
		t.Error("document lost its flags")
	}
}

// TestLoadsDatabaseWithoutReleaseModels opens a file whose projects predate
// release models (no release_models bucket).
func TestLoadsDatabaseWithoutReleaseModels(t *testing.T) {
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
		if shop.Bucket([]byte("release_models")) == nil {
			return nil // never created: the projects of a new file have no empty collections
		}
		return shop.DeleteBucket([]byte("release_models"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = domaintest.OnBolt(t, path, domain.Options{})
	update(t, s, func(tx *domain.Tx) error { return tx.CreateReleaseModel("shop", canaryModel()) })
}
