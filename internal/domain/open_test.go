package domain_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/store/boltstore"
)

// overtaken is an engine on which another replica opens the store just
// before this one's first write: that replica writes the schema record
// first.
type overtaken struct {
	domain.Backend
	once  sync.Once
	other func() error
}

func (o *overtaken) Apply(ctx context.Context, c domain.Change) (uint64, error) {
	var err error
	o.once.Do(func() { err = o.other() })
	if err != nil {
		return 0, err
	}
	return o.Backend.Apply(ctx, c)
}

func (o *overtaken) Close() error { return nil }

// TestOpenOvertakenOnAnEmptyEngine: replicas started together on an empty
// engine all open it, though another writes the schema record between
// this one's load and its own write of it.
func TestOpenOvertakenOnAnEmptyEngine(t *testing.T) {
	b, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opts := domain.Options{SecretKeys: domaintest.SecretKeys(t)}
	e := &overtaken{Backend: b, other: func() error {
		s, err := domain.Open(context.Background(), &overtaken{Backend: b, other: func() error { return nil }}, opts)
		if err != nil {
			return err
		}
		return s.Close()
	}}
	s, err := domain.Open(context.Background(), e, opts)
	if err != nil {
		t.Fatalf("Open after another replica wrote the schema = %v, want nil", err)
	}
	s.Close()
}
