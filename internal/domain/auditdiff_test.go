package domain_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

// segmentOf is a segment including n keys, the first replaced by first.
func segmentOf(n int, first string) *model.Segment {
	s := &model.Segment{Key: "beta", Include: make([]string, n)}
	for i := range s.Include {
		s.Include[i] = fmt.Sprintf("user-%07d", i)
	}
	s.Include[0] = first
	return s
}

func TestAuditPagesAreBoundedByBytes(t *testing.T) {
	s := domaintest.Open(t, t.TempDir()+"/switchyard.db", domain.Options{})
	seed(t, s)
	// Each event keeps its values whole (under the summary threshold) but
	// is ~70 KB: a page of 100 would be ~3 MB.
	const updates = 40
	for i := range updates + 1 {
		update(t, s, func(tx *domain.Tx) error {
			if i == 0 {
				return tx.CreateSegment("shop", segmentOf(2800, "first"))
			}
			return tx.UpdateSegment("shop", segmentOf(2800, fmt.Sprint("v", i)), "")
		})
	}
	f := domain.AuditFilter{Resource: domain.ProjectName("shop") + "/segments/beta"}
	seen, pages := 0, 0
	for {
		events, next, err := s.ListAudit(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		size := 0
		for _, ev := range events {
			if ev.Diff != nil {
				t.Fatalf("event %d was summarized, want it whole (%d + %d bytes)", ev.Seq, len(ev.Before), len(ev.After))
			}
			size += len(ev.Before) + len(ev.After)
		}
		if size > domain.MaxAuditPageBytes {
			t.Errorf("page %d holds %d bytes of values, want at most %d", pages, size, domain.MaxAuditPageBytes)
		}
		seen += len(events)
		if next == 0 {
			break
		}
		f.Before = next
	}
	if seen != updates+1 || pages < 3 {
		t.Errorf("read %d events in %d pages, want all %d in several pages", seen, pages, updates+1)
	}
}

func TestLargeAuditValuesAreStoredAsDiffs(t *testing.T) {
	s := domaintest.Open(t, t.TempDir()+"/switchyard.db", domain.Options{})
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateSegment("shop", segmentOf(20_000, "first")) })
	next := segmentOf(20_000, "first")
	next.Include = append(next.Include[:10], next.Include[13:]...) // 3 removed
	next.Include = append(next.Include, "new-1", "new-2")
	next.Conditions = []model.Condition{{Attribute: "plan", Op: "in", Values: []any{"beta"}}}
	c := update(t, s, func(tx *domain.Tx) error { return tx.UpdateSegment("shop", next, "") })
	if len(c.Events[0].After) == 0 {
		t.Fatal("the commit's event lost its values: only the audit log summarizes")
	}
	events, _, err := s.ListAudit(context.Background(), domain.AuditFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	ev := events[0]
	if ev.Before != nil || ev.After != nil || ev.Diff == nil || ev.Diff.BeforeBytes <= domain.AuditValueLimit || len(ev.Diff.AfterSHA256) != 64 {
		t.Fatalf("stored event = %+v, want only a diff of a large change", ev)
	}
	got := map[string]domain.AuditChange{}
	for _, ch := range ev.Diff.Changes {
		got[ch.Path] = ch
	}
	inc := got["include"]
	if inc.Change != "list" || inc.BeforeCount != 20_000 || inc.AfterCount != 19_999 || inc.Added != 2 || inc.Removed != 3 ||
		fmt.Sprint(inc.AddedSample) != `["new-1" "new-2"]` || len(inc.RemovedSample) != 3 {
		t.Errorf("include change = %+v, want 2 added, 3 removed with samples", inc)
	}
	if cond := got["conditions"]; cond.Change != "added" || cond.AfterBytes == 0 || len(cond.AfterSHA256) != 64 {
		t.Errorf("conditions change = %+v, want added with size and hash", cond)
	}
	if len(ev.Diff.Changes) != 2 {
		t.Errorf("changes = %+v, want include and conditions only", ev.Diff.Changes)
	}
}
