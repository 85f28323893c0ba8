package bootstrap_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/store/boltstore"
)

// overtaken is an engine on which another replica bootstraps just before
// this one's first write.
type overtaken struct {
	domain.Backend
	once  sync.Once
	other func() error
}

func (o *overtaken) Apply(ctx context.Context, c domain.Change) (uint64, error) {
	var err error
	if len(c.Ops) > 0 {
		o.once.Do(func() { err = o.other() })
	}
	if err != nil {
		return 0, err
	}
	return o.Backend.Apply(ctx, c)
}

func (o *overtaken) Close() error { return nil }

// TestRunOvertakenBootstrapsOnce: two replicas on one empty engine both
// start to bootstrap; the one overtaken creates nothing and reports so,
// and the engine holds one admin token and one SDK key.
func TestRunOvertakenBootstrapsOnce(t *testing.T) {
	b, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opts := domain.Options{SecretKeys: domaintest.SecretKeys(t)}
	first, err := domain.Open(context.Background(), &overtaken{Backend: b, other: func() error { return nil }}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	e := &overtaken{Backend: b, other: func() error {
		_, created, err := bootstrap.Run(context.Background(), first, bootstrap.Credentials{})
		if !created {
			t.Errorf("the first replica's bootstrap created nothing")
		}
		return err
	}}
	second, err := domain.Open(context.Background(), e, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_, created, err := bootstrap.Run(context.Background(), second, bootstrap.Credentials{})
	if err != nil {
		t.Fatalf("the overtaken bootstrap = %v, want nil", err)
	}
	if created {
		t.Errorf("the overtaken replica bootstrapped too")
	}
	if n := len(second.State().APIKeys()); n != 2 {
		t.Errorf("%d API keys after two bootstraps, want 2 (one admin token, one SDK key)", n)
	}
}
