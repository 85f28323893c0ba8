// Package domaintest opens real stores (the domain on bbolt, through
// internal/store/boltstore) in test directories and checks the consistency
// of their bbolt files when the test ends; or, when EngineVariable says
// so, on a real etcd cluster.
package domaintest

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/boltstore"
)

// New opens a store on a new file in t.TempDir() with default options. See
// Open.
func New(t testing.TB) *domain.Store {
	t.Helper()
	return Open(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{})
}

// Open opens the store at path, failing the test on error; without
// opts.SecretKeys, it uses SecretKeys. When the test
// ends it closes the store (closing it earlier is fine) and runs bbolt's
// consistency check on the file, failing the test on any error it reports.
// With SWITCHYARD_TEST_ENGINE=etcd the store is on etcd instead, under a
// prefix named after path (EngineVariable).
func Open(t testing.TB, path string, opts domain.Options) *domain.Store {
	t.Helper()
	if onEtcd(t) {
		if opts.SecretKeys == nil {
			opts.SecretKeys = SecretKeys(t)
		}
		return openEtcd(t, path, opts)
	}
	s, _ := OpenBolt(t, path, opts)
	return s
}

// OpenBolt is Open that also returns the bbolt engine under the store, for
// tests that look into the file.
func OpenBolt(t testing.TB, path string, opts domain.Options) (*domain.Store, *boltstore.Store) {
	t.Helper()
	if opts.SecretKeys == nil {
		opts.SecretKeys = SecretKeys(t)
	}
	b, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := domain.Open(context.Background(), b, opts)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		Check(t, path)
	})
	return s, b
}

// OpenFile opens the bbolt file at path (boltstore.Open) and the domain on
// it, without a test's cleanup: for tests of what Open refuses.
func OpenFile(path string, opts domain.Options) (*domain.Store, error) {
	b, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		return nil, err
	}
	s, err := domain.Open(context.Background(), b, opts)
	if err != nil {
		b.Close()
		return nil, err
	}
	return s, nil
}

// Check runs bbolt's consistency check on the closed database at path and
// reports every error it finds.
func Check(t testing.TB, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Errorf("check %s: open: %v", path, err)
		return
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("check %s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("check %s: %v", path, err)
	}
}

// testKey is the secret key of the stores Open opens without one; the same
// for every test, so that a store can be reopened.
const testKey = "switchyard-storetest-secret-key!"

// SecretKeys returns the secret key Open uses when none is given.
func SecretKeys(t testing.TB) *domain.SecretKeys {
	t.Helper()
	sk, err := domain.NewSecretKeys([]byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// OnBolt is Open on bbolt whatever EngineVariable says: for tests that
// look into the file.
func OnBolt(t testing.TB, path string, opts domain.Options) *domain.Store {
	t.Helper()
	s, _ := OpenBolt(t, path, opts)
	return s
}
