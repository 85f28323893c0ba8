package snapshot_test

import (
	"log/slog"
	"testing"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/snapshot"
)

func compiled(t *testing.T, revision uint64) *eval.Ruleset {
	t.Helper()
	rs, err := eval.Compile(&model.Document{Version: 1, Project: "shop", Environments: []string{"production"}}, "production", nil)
	if err != nil {
		t.Fatal(err)
	}
	rs.Revision = revision
	return rs
}

// Publish swaps a relay's ruleset in, never an older one over a newer,
// and marks the set ready and changed.
func TestPublish(t *testing.T) {
	s := snapshot.NewSet(slog.New(slog.DiscardHandler))
	changed := s.Changed()
	r2 := compiled(t, 2)
	s.Publish(r2)
	select {
	case <-changed:
	default:
		t.Error("Publish did not signal a change")
	}
	if !s.Ready() || s.Get("shop", "production") != r2 {
		t.Fatalf("after Publish: ready %v, ruleset %v, want ready and revision 2", s.Ready(), s.Get("shop", "production"))
	}
	s.Publish(compiled(t, 1))
	if got := s.Get("shop", "production"); got != r2 {
		t.Errorf("after publishing revision 1 over 2: revision %d, want 2", got.Revision)
	}
	r3 := compiled(t, 3)
	s.Publish(r3)
	if got := s.Get("shop", "production"); got != r3 {
		t.Errorf("after publishing revision 3: revision %d, want 3", got.Revision)
	}
}
