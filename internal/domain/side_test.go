package domain_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

func TestSideRecordsLiveUnderTheirName(t *testing.T) {
	s := domaintest.New(t)
	ctx := context.Background()
	if _, err := s.Side("projects"); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("Side(projects) = %v, want ErrInvalid", err)
	}
	side, err := s.Side("mine")
	if err != nil {
		t.Fatal(err)
	}
	err = side.Apply(ctx, domain.Change{Ops: []domain.Op{
		{Path: domain.Path{"a", "2"}, Value: []byte("two")},
		{Path: domain.Path{"a", "1"}, Value: []byte("one")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := side.Get(ctx, domain.Path{"a", "1"}); err != nil || string(v) != "one" {
		t.Errorf("Get(a/1) = %q, %v; want one", v, err)
	}
	var got []string
	side.Range(ctx, domain.Path{"a"}, "", 0, true, func(r domain.Record) error {
		got = append(got, r.Path.String())
		return nil
	})
	if want := []string{"a/2", "a/1"}; !slices.Equal(got, want) {
		t.Errorf("Range(a, reverse) = %v, want %v", got, want)
	}
	err = side.Apply(ctx, domain.Change{
		Conds: []domain.Cond{{Path: domain.Path{"a", "1"}, Value: []byte("uno")}},
		Ops:   []domain.Op{{Path: domain.Path{"a", "1"}}},
	})
	if !errors.Is(err, domain.ErrCondition) {
		t.Errorf("Apply with a condition that does not hold = %v, want ErrCondition", err)
	}
}

// TestWithCondsFencesWrites: the conditions a ctx carries guard every
// write made with it.
func TestWithCondsFencesWrites(t *testing.T) {
	s := domaintest.New(t)
	side, err := s.Side("leader")
	if err != nil {
		t.Fatal(err)
	}
	fenced := domain.WithConds(context.Background(), domain.Cond{Path: domain.Path{"leader", "election", "holder"}, Value: []byte("me")})
	create := func(ctx context.Context, key string) error {
		_, err := s.Update(ctx, testActor, func(tx *domain.Tx) error { return tx.CreateProject(domain.Project{Key: key}) })
		return err
	}
	if err := create(fenced, "shop"); !errors.Is(err, domain.ErrCondition) {
		t.Fatalf("Update fenced by a key nobody holds = %v, want ErrCondition", err)
	}
	if _, ok := s.State().Project("shop"); ok {
		t.Fatal("the refused Update was published")
	}
	if err := side.Apply(fenced, domain.Change{Ops: []domain.Op{{Path: domain.Path{"x", "y"}, Value: []byte("z")}}}); !errors.Is(err, domain.ErrCondition) {
		t.Errorf("a fenced side write = %v, want ErrCondition", err)
	}
	if err := side.Apply(context.Background(), domain.Change{Ops: []domain.Op{{Path: domain.Path{"election", "holder"}, Value: []byte("me")}}}); err != nil {
		t.Fatal(err)
	}
	if err := create(fenced, "shop"); err != nil {
		t.Fatalf("Update fenced by the key held = %v", err)
	}
	_, err = s.Update(fenced, testActor, func(tx *domain.Tx) error {
		return tx.CreateFlag("shop", &model.Flag{Key: "f", Type: model.TypeBool})
	})
	if err != nil {
		t.Fatal(err)
	}
}
