package domain_test

import (
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
)

func TestSubscribeSeesEveryCommitAfterOnCommit(t *testing.T) {
	var order []string
	s := domaintest.Open(t, t.TempDir()+"/s.db", domain.Options{OnCommit: func(*domain.State, *domain.Commit) { order = append(order, "OnCommit") }})
	var seen []*domain.Commit
	remove := s.Subscribe(func(st *domain.State, c *domain.Commit) {
		if st != c.State || st != s.State() {
			t.Error("the hook got a State other than the one published")
		}
		order = append(order, "hook")
		seen = append(seen, c)
	})
	c := seed(t, s)
	remove()
	update(t, s, func(tx *domain.Tx) error { return tx.UpdateProject(domain.Project{Key: "shop", Description: "x"}, "") })
	if len(seen) != 1 || seen[0] != c || len(order) != 3 || order[0] != "OnCommit" || order[1] != "hook" {
		t.Errorf("hook saw %d commits, calls %v; want the one commit before removal, after OnCommit", len(seen), order)
	}
}
