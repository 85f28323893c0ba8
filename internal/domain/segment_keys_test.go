package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// staged returns a stage of keys, closed at the end of the test.
func staged(t testing.TB, keys ...string) *keylist.Stage {
	t.Helper()
	s, err := keylist.StageOf(keys...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEditSegmentKeys(t *testing.T) {
	path := t.TempDir() + "/switchyard.db"
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	tests := []struct {
		name                   string
		list                   keylist.List
		op                     keylist.Op
		keys                   []string
		added, removed, count  int
		wantInclude, wantExclu []string
	}{
		{"add drops duplicates", keylist.Include, keylist.Add, []string{"a", "b", "a"}, 2, 0, 2, []string{"a", "b"}, nil},
		{"add appends only new keys", keylist.Include, keylist.Add, []string{"b", "c"}, 1, 0, 3, []string{"a", "b", "c"}, nil},
		{"remove ignores unknown keys", keylist.Include, keylist.Remove, []string{"a", "zz"}, 0, 1, 2, []string{"b", "c"}, nil},
		{"replace", keylist.Include, keylist.Replace, []string{"c", "d", "d"}, 1, 1, 2, []string{"c", "d"}, nil},
		{"exclude is its own list", keylist.Exclude, keylist.Add, []string{"c"}, 1, 0, 1, []string{"c", "d"}, []string{"c"}},
		{"no change records nothing", keylist.Include, keylist.Add, []string{"d"}, 0, 0, 2, []string{"c", "d"}, []string{"c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ch domain.SegmentKeysChange
			c := update(t, s, func(tx *domain.Tx) (err error) {
				ch, err = tx.EditSegmentKeys("shop", "eu-users", tc.list, tc.op, staged(t, tc.keys...), "")
				return err
			})
			if ch.Added != tc.added || ch.Removed != tc.removed || ch.Count != tc.count {
				t.Errorf("EditSegmentKeys = %+v, want added %d removed %d count %d", ch, tc.added, tc.removed, tc.count)
			}
			if changed := tc.added+tc.removed > 0; changed != (c.Revision != 0) || changed != (len(c.Events) == 1) {
				t.Errorf("commit revision %d, %d events; want a revision and one event only for a change", c.Revision, len(c.Events))
			}
			seg, meta, _ := project(t, s.State(), "shop").Segment("eu-users")
			if !slices.Equal(seg.Include, tc.wantInclude) || !slices.Equal(seg.Exclude, tc.wantExclu) {
				t.Errorf("segment = include %v exclude %v, want %v %v", seg.Include, seg.Exclude, tc.wantInclude, tc.wantExclu)
			}
			if meta.Etag != ch.Etag {
				t.Errorf("etag %q, want the segment's %q", ch.Etag, meta.Etag)
			}
		})
	}
	want := s.State()
	s.Close()
	s = domaintest.Open(t, path, domain.Options{})
	seg, _, _ := project(t, s.State(), "shop").Segment("eu-users")
	old, _, _ := project(t, want, "shop").Segment("eu-users")
	if !slices.Equal(seg.Include, old.Include) || !slices.Equal(seg.Exclude, old.Exclude) {
		t.Errorf("after reopen: include %v exclude %v, want %v %v", seg.Include, seg.Exclude, old.Include, old.Exclude)
	}
}

func TestEditSegmentKeysRefuses(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	tests := []struct {
		name    string
		segment string
		keys    []string
		etag    string
		want    error
	}{
		{"unknown segment", "nope", []string{"a"}, "", domain.ErrNotFound},
		{"stale etag", "eu-users", []string{"a"}, "stale", domain.ErrConflict},
		{"empty key", "eu-users", []string{"a", ""}, "", domain.ErrInvalid},
		{"invalid UTF-8", "eu-users", []string{"\xff"}, "", domain.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
				_, err := tx.EditSegmentKeys("shop", tc.segment, keylist.Include, keylist.Add, staged(t, tc.keys...), tc.etag)
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("EditSegmentKeys = %v, want %v", err, tc.want)
			}
			seg, _, _ := project(t, s.State(), "shop").Segment("eu-users")
			if len(seg.Include) != 0 {
				t.Errorf("include = %v after a refused change, want empty", seg.Include)
			}
		})
	}
}

// TestSegmentKeysAuditIsBounded: the event of a large change carries
// counts and a sample, not the keys.
func TestSegmentKeysAuditIsBounded(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%05d", i)
	}
	c := update(t, s, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Include, keylist.Replace, staged(t, keys...), "")
		return err
	})
	ev := c.Events[0]
	if ev.Action != "segment.keys.replace" || ev.Resource != "projects/shop/segments/eu-users/keys/include" || ev.Before != nil {
		t.Errorf("event = %s %s before %s", ev.Action, ev.Resource, ev.Before)
	}
	var after struct {
		Added          int      `json:"added"`
		Count          int      `json:"count"`
		AddedSample    []string `json:"added_sample"`
		SampleComplete bool     `json:"sample_complete"`
	}
	if err := json.Unmarshal(ev.After, &after); err != nil {
		t.Fatal(err)
	}
	if after.Added != 10_000 || after.Count != 10_000 || len(after.AddedSample) != 20 || after.SampleComplete {
		t.Errorf("after = %+v, want 10000 added, a sample of 20, incomplete", after)
	}
	if len(ev.After) > 2048 {
		t.Errorf("event after is %d bytes, want at most 2048", len(ev.After))
	}
}

// TestSegmentKeysAreCheckedWhenTheyEnter: the commit's document check
// skips key lists, so every way in checks them.
func TestSegmentKeysAreCheckedWhenTheyEnter(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	tests := []struct {
		name     string
		fn       func(tx *domain.Tx) error
		wantPath string
	}{
		{"update", func(tx *domain.Tx) error {
			return tx.UpdateSegment("shop", &model.Segment{Key: "eu-users", Exclude: []string{"ok", "\xff"}}, "")
		}, "exclude[1]"},
		{"create", func(tx *domain.Tx) error {
			return tx.CreateSegment("shop", &model.Segment{Key: "other", Include: []string{"\xff"}})
		}, "include[0]"},
		{"import", func(tx *domain.Tx) error {
			_, err := tx.Import(&model.Document{Version: 1, Project: "shop", Environments: []string{"production"},
				Segments: []*model.Segment{{Key: "eu-users", Include: []string{"a", "\xff"}}}}, false)
			return err
		}, "segments[0].include[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Update(context.Background(), testActor, tc.fn)
			var fes model.Errors
			if !errors.Is(err, domain.ErrInvalid) || !errors.As(err, &fes) || fes[0].Path != tc.wantPath {
				t.Errorf("Update = %v, want ErrInvalid at %s", err, tc.wantPath)
			}
		})
	}
}

// TestLongSegmentListsAreStoredInChunks: a list over the threshold is kept
// in shard order, stored one value per shard beside a small record, and
// reads back exactly; shrunk again, it moves back into the record.
func TestLongSegmentListsAreStoredInChunks(t *testing.T) {
	path := t.TempDir() + "/switchyard.db"
	s := domaintest.OnBolt(t, path, domain.Options{})
	seed(t, s)
	keys := make([]string, keylist.ChunkThreshold+100)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%05d", i)
	}
	edit := func(op keylist.Op, keys ...string) {
		update(t, s, func(tx *domain.Tx) error {
			_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Include, op, staged(t, keys...), "")
			return err
		})
	}
	edit(keylist.Replace, keys...)
	edit(keylist.Add, "newcomer")
	seg, _, _ := project(t, s.State(), "shop").Segment("eu-users")
	want := seg.Include
	if len(want) != len(keys)+1 || !slices.Equal(keylist.Arrange(want), want) {
		t.Fatalf("include has %d keys, arranged %v; want %d in shard order", len(want), slices.Equal(keylist.Arrange(want), want), len(keys)+1)
	}
	s.Close()

	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		p := tx.Bucket([]byte("projects")).Bucket([]byte("shop"))
		if rec := p.Bucket([]byte("segments")).Get([]byte("eu-users")); len(rec) > 1024 {
			t.Errorf("segment record is %d bytes, want the keys kept apart", len(rec))
		}
		chunks := p.Bucket([]byte("segment_keys")).Bucket([]byte("eu-users")).Bucket([]byte("include"))
		shard := fmt.Appendf(nil, "%04x", keylist.Shard("newcomer"))
		if got := string(chunks.Get(shard)); !slices.Contains(strings.Split(got, "\n"), "newcomer") {
			t.Errorf("shard %d holds %q, want newcomer among its keys", keylist.Shard("newcomer"), got)
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s = domaintest.OnBolt(t, path, domain.Options{})
	seg, _, _ = project(t, s.State(), "shop").Segment("eu-users")
	if !slices.Equal(seg.Include, want) {
		t.Errorf("after reopen: %d keys, want the %d stored, in the same order", len(seg.Include), len(want))
	}
	edit(keylist.Replace, "a", "b")
	s.Close()
	s = domaintest.OnBolt(t, path, domain.Options{})
	if seg, _, _ = project(t, s.State(), "shop").Segment("eu-users"); !slices.Equal(seg.Include, []string{"a", "b"}) {
		t.Errorf("after shrinking and reopening: %v, want [a b]", seg.Include)
	}
}

// userKeys returns user-NNNNN for from <= N < to.
func userKeys(from, to int) []string {
	keys := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		keys = append(keys, fmt.Sprintf("user-%05d", i))
	}
	return keys
}

// TestEditSegmentKeysByShard: uploads over keylist.ChunkThreshold keys,
// staged on disk past a small memory limit, are merged shard by shard
// with the list: the same additions, removals and counts as in memory, a
// list in shard order, and nothing applied when a key is refused.
func TestEditSegmentKeysByShard(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	spilled := func(keys []string) *keylist.Stage {
		st := keylist.NewStage(t.TempDir(), 16<<10)
		t.Cleanup(func() { st.Close() })
		if err := st.Add(keys); err != nil {
			t.Fatal(err)
		}
		return st
	}
	short := []string{"user-09999", "user-00000", "user-05000", "user-00001"} // not in shard order
	update(t, s, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Include, keylist.Add, staged(t, short...), "")
		return err
	})
	tests := []struct {
		name                  string
		op                    keylist.Op
		keys                  []string
		added, removed, count int
		want                  []string // as a set
	}{
		{"add to a short list", keylist.Add, userKeys(100, 8_000), 7_899, 0, 7_903, append(append(userKeys(0, 2), userKeys(100, 8_000)...), "user-09999")},
		{"replace", keylist.Replace, userKeys(0, 10_000), 2_097, 0, 10_000, userKeys(0, 10_000)},
		{"add overlapping keys", keylist.Add, append(userKeys(7_500, 12_500), "user-07500"), 2_500, 0, 12_500, userKeys(0, 12_500)},
		{"remove some and an unknown key", keylist.Remove, append(userKeys(0, 1_000), "zz"), 0, 1_000, 11_500, userKeys(1_000, 12_500)},
		{"replace overlapping keys", keylist.Replace, userKeys(5_000, 15_000), 2_500, 4_000, 10_000, userKeys(5_000, 15_000)},
		{"replace with the same keys changes nothing", keylist.Replace, userKeys(5_000, 15_000), 0, 0, 10_000, userKeys(5_000, 15_000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ch domain.SegmentKeysChange
			c := update(t, s, func(tx *domain.Tx) (err error) {
				ch, err = tx.EditSegmentKeys("shop", "eu-users", keylist.Include, tc.op, spilled(tc.keys), "")
				return err
			})
			if ch.Added != tc.added || ch.Removed != tc.removed || ch.Count != tc.count {
				t.Errorf("EditSegmentKeys = %+v, want added %d removed %d count %d", ch, tc.added, tc.removed, tc.count)
			}
			if changed := tc.added+tc.removed > 0; changed != (c.Revision != 0) {
				t.Errorf("commit revision %d, want one only for a change", c.Revision)
			}
			seg, _, _ := project(t, s.State(), "shop").Segment("eu-users")
			if !slices.Equal(keylist.Arrange(seg.Include), seg.Include) {
				t.Error("the list is not in shard order")
			}
			if got := slices.Sorted(slices.Values(seg.Include)); !slices.Equal(got, tc.want) {
				t.Errorf("include holds %d keys, want the %d expected", len(got), len(tc.want))
			}
		})
	}
	before, _, _ := project(t, s.State(), "shop").Segment("eu-users")
	_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Include, keylist.Replace, spilled(append(userKeys(0, 9_000), "")), "")
		return err
	})
	if !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("replace with an empty key = %v, want ErrInvalid", err)
	}
	if after, _, _ := project(t, s.State(), "shop").Segment("eu-users"); !slices.Equal(after.Include, before.Include) {
		t.Error("a refused replace changed the list")
	}
}

// TestSegmentKeysHashIsKeptPerChange: the content hash of a segment's
// lists is computed when they change (and at load), so a read costs no
// hashing; it follows the lists through edits, updates and a reopen.
func TestSegmentKeysHashIsKeptPerChange(t *testing.T) {
	path := t.TempDir() + "/switchyard.db"
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Include, keylist.Replace, staged(t, userKeys(0, 10_000)...), "")
		return err
	})
	check := func(when string) string {
		t.Helper()
		ps := project(t, s.State(), "shop")
		seg, _, _ := ps.Segment("eu-users")
		if got, want := ps.SegmentKeysHash("eu-users"), keylist.Hash(seg.Include, seg.Exclude); got != want {
			t.Errorf("%s: SegmentKeysHash = %s, want %s", when, got, want)
		}
		if allocs := testing.AllocsPerRun(10, func() { ps.SegmentKeysHash("eu-users") }); allocs != 0 {
			t.Errorf("%s: SegmentKeysHash allocates %v times a read, want 0 (computed once)", when, allocs)
		}
		return ps.SegmentKeysHash("eu-users")
	}
	first := check("after a replace")
	update(t, s, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Exclude, keylist.Add, staged(t, "user-00001"), "")
		return err
	})
	if check("after an exclude") == first {
		t.Error("hash unchanged after an exclude was added")
	}
	s.Close()
	s = domaintest.Open(t, path, domain.Options{})
	check("after reopening")
}

// TestSegmentUpdateKeepsLongListsUncopied: an update that passes the
// stored long list back (a PATCH of the description) keeps that very
// list: no copy through JSON, so the compiled sets and the keys hash made
// for it stay valid.
func TestSegmentUpdateKeepsLongListsUncopied(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "eu-users", keylist.Include, keylist.Replace, staged(t, userKeys(0, 10_000)...), "")
		return err
	})
	old, _, _ := project(t, s.State(), "shop").Segment("eu-users")
	next := *old
	next.Description = "described"
	update(t, s, func(tx *domain.Tx) error { return tx.UpdateSegment("shop", &next, "") })
	got, _, _ := project(t, s.State(), "shop").Segment("eu-users")
	if got.Description != "described" || len(got.Include) != len(old.Include) || &got.Include[0] != &old.Include[0] {
		t.Errorf("after the update: description %q, %d keys, same list %v; want the description and the very list kept",
			got.Description, len(got.Include), len(got.Include) > 0 && &got.Include[0] == &old.Include[0])
	}
}
