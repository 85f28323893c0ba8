package store_test

import (
	"testing"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

func TestSubscribeSeesEveryCommitAfterOnCommit(t *testing.T) {
	var order []string
	s := storetest.Open(t, t.TempDir()+"/s.db", store.Options{OnCommit: func(*store.State, *store.Commit) { order = append(order, "OnCommit") }})
	var seen []*store.Commit
	remove := s.Subscribe(func(st *store.State, c *store.Commit) {
		if st != c.State || st != s.State() {
			t.Error("the hook got a State other than the one published")
		}
		order = append(order, "hook")
		seen = append(seen, c)
	})
	c := seed(t, s)
	remove()
	update(t, s, func(tx *store.Tx) error { return tx.UpdateProject(store.Project{Key: "shop", Description: "x"}, "") })
	if len(seen) != 1 || seen[0] != c || len(order) != 3 || order[0] != "OnCommit" || order[1] != "hook" {
		t.Errorf("hook saw %d commits, calls %v; want the one commit before removal, after OnCommit", len(seen), order)
	}
}
