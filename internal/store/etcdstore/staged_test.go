package etcdstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// watched is a domain.Backend on etcd whose Applies a test observes, and
// may stop (as if the process died).
type watched struct {
	*etcdstore.Store
	mu      sync.Mutex
	applied []domain.Change // Changes applied, in order
	// before, if set, runs before each Apply; an error it returns is
	// Apply's, and nothing is written.
	before func(domain.Change) error
}

func (w *watched) Apply(ctx context.Context, c domain.Change) (uint64, error) {
	w.mu.Lock()
	before := w.before
	w.mu.Unlock()
	if before != nil {
		if err := before(c); err != nil {
			return 0, err
		}
	}
	rev, err := w.Store.Apply(ctx, c)
	if err == nil && len(c.Ops) > 0 {
		w.mu.Lock()
		w.applied = append(w.applied, c)
		w.mu.Unlock()
	}
	return rev, err
}

// since returns the Changes applied after the first n.
func (w *watched) since(n int) []domain.Change {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.applied[n:])
}

func (w *watched) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.applied)
}

// stagedPair opens two domain stores on one prefix, on members 0 and 1;
// the first writes through a watched backend. It returns them with the
// backend and an engine to inspect the prefix with.
func stagedPair(t *testing.T) (a, b *domain.Store, w *watched, raw *etcdstore.Store, prefix string) {
	t.Helper()
	prefix = etcdtest.Prefix(t)
	keys := domaintest.SecretKeys(t)
	w = &watched{Store: open(t, etcdstore.Options{Endpoints: cluster.Endpoints()[0:1], Prefix: prefix})}
	var err error
	if a, err = domain.Open(t.Context(), w, domain.Options{SecretKeys: keys}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	bb := open(t, etcdstore.Options{Endpoints: cluster.Endpoints()[1:2], Prefix: prefix})
	if b, err = domain.Open(t.Context(), bb, domain.Options{SecretKeys: keys}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	raw = open(t, etcdstore.Options{Prefix: prefix})
	if _, err := a.Update(t.Context(), actor, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "shop"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "production"}),
			tx.CreateSegment("shop", &model.Segment{Key: "vip", Include: []string{"old-1", "old-2"}}),
		)
	}); err != nil {
		t.Fatal(err)
	}
	return a, b, w, raw, prefix
}

// userKeys returns n keys.
func userKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%07d", i)
	}
	return keys
}

func stageOf(t testing.TB, keys []string) *keylist.Stage {
	t.Helper()
	st, err := keylist.StageOf(keys...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// replaceInclude replaces the include list of shop/vip through s.
func replaceInclude(ctx context.Context, s *domain.Store, keys *keylist.Stage, etag string) (domain.SegmentKeysChange, error) {
	var ch domain.SegmentKeysChange
	_, err := s.Update(ctx, actor, func(tx *domain.Tx) (err error) {
		ch, err = tx.EditSegmentKeys("shop", "vip", keylist.Include, keylist.Replace, keys, etag)
		return err
	})
	return ch, err
}

func vip(st *domain.State) (*model.Segment, domain.Meta) {
	ps, ok := st.Project("shop")
	if !ok {
		return nil, domain.Meta{}
	}
	s, m, _ := ps.Segment("vip")
	return s, m
}

// leftovers returns the records under the prefix that hold staged chunks
// or stagings: segment_chunks directories other than keep, and staged/….
func leftovers(t *testing.T, raw *etcdstore.Store, keep string) []string {
	t.Helper()
	var out []string
	if _, err := raw.Load(t.Context(), nil, func(r domain.Record) error {
		p := r.Path
		switch {
		case p[0] == "staged":
			out = append(out, p.String())
		case len(p) > 3 && p[2] == "segment_chunks" && p[3] != keep && !slices.Contains(out, p[:4].String()):
			out = append(out, p[:4].String())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStagedSegmentUpload: a list of a million keys (200,000 with -short)
// does not fit one etcd transaction; the domain stages it and switches to
// it, and a second replica reads it back identically, having recompiled
// once. Adding one key afterwards is one small Change.
func TestStagedSegmentUpload(t *testing.T) {
	t.Parallel()
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	a, b, w, raw, _ := stagedPair(t)
	_, meta := vip(a.State())
	waitFor(t, b, func(st *domain.State) bool { _, m := vip(st); return m.Etag == meta.Etag })
	var commits atomic.Int32
	defer b.Subscribe(func(*domain.State, *domain.Commit) { commits.Add(1) })()

	keys := stageOf(t, userKeys(n))
	before := w.count()
	start := time.Now()
	ch, err := replaceInclude(t.Context(), a, keys, meta.Etag)
	if err != nil {
		t.Fatalf("replace with %d keys = %v", n, err)
	}
	uploaded := time.Since(start)
	if ch.Count != n || ch.Added != n || ch.Removed != 2 {
		t.Errorf("replace = %+v, want count and added %d, removed 2", ch, n)
	}
	waitFor(t, b, func(st *domain.State) bool { _, m := vip(st); return m.Etag == ch.Etag })
	t.Logf("%d keys: uploaded in %v (%d Changes), on the second replica after %v",
		n, uploaded.Round(time.Millisecond), len(w.since(before)), time.Since(start).Round(time.Millisecond))
	want, _ := vip(a.State())
	got, _ := vip(b.State())
	if len(got.Include) != n || !slices.Equal(got.Include, want.Include) {
		t.Fatalf("second replica holds %d keys (same as the writer: %v), want the writer's %d", len(got.Include), slices.Equal(got.Include, want.Include), n)
	}
	if c := commits.Load(); c != 1 {
		t.Errorf("second replica published %d commits during the upload, want 1 (staged chunks are invisible)", c)
	}
	staged := w.since(before)
	if len(staged) < 3 {
		t.Errorf("upload applied %d Changes, want the staging record, the chunks and the switch", len(staged))
	}
	for i, c := range staged {
		if len(c.Ops) > 128 {
			t.Errorf("Change %d has %d ops, over etcd's limit", i, len(c.Ops))
		}
	}
	gen := recordChunks(t, raw)
	if gen == "" {
		t.Fatal("segment record names no generation of chunks")
	}
	if l := leftovers(t, raw, gen); len(l) > 0 {
		t.Errorf("after the switch: %v left, want only generation %s", l, gen)
	}

	before = w.count()
	if _, err := a.Update(t.Context(), actor, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "vip", keylist.Include, keylist.Add, stageOf(t, []string{"newcomer"}), "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	edit := w.since(before)
	if len(edit) != 1 {
		t.Fatalf("adding one key applied %d Changes, want 1", len(edit))
	}
	var chunkOps int
	for _, op := range edit[0].Ops {
		if len(op.Path) > 3 && op.Path[2] == "segment_chunks" {
			chunkOps++
			if op.Path[3] != gen {
				t.Errorf("edit writes %s, outside the segment's generation %s", op.Path, gen)
			}
		}
	}
	if chunkOps != 1 || len(edit[0].Ops) > 8 {
		t.Errorf("adding one key: %d ops, %d of chunks; want a small Change rewriting 1 chunk", len(edit[0].Ops), chunkOps)
	}
	_, m := vip(a.State())
	waitFor(t, b, func(st *domain.State) bool { _, mb := vip(st); return mb.Etag == m.Etag })
	if got, _ := vip(b.State()); len(got.Include) != n+1 || !keylist.Contains(got.Include, "newcomer") {
		t.Errorf("second replica after the edit: %d keys, newcomer %v; want %d with newcomer", len(got.Include), keylist.Contains(got.Include, "newcomer"), n+1)
	}

	// The second replica, which followed both writes, edits in the same
	// generation, and the writer sees it.
	if _, err := b.Update(t.Context(), actor, func(tx *domain.Tx) error {
		_, err := tx.EditSegmentKeys("shop", "vip", keylist.Include, keylist.Remove, stageOf(t, []string{"newcomer"}), "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if g := recordChunks(t, raw); g != gen {
		t.Errorf("after an edit through the second replica the record names generation %q, want %s", g, gen)
	}
	if l := leftovers(t, raw, gen); len(l) > 0 {
		t.Errorf("after an edit through the second replica: %v left, want only generation %s", l, gen)
	}
	_, m = vip(b.State())
	waitFor(t, a, func(st *domain.State) bool { _, ma := vip(st); return ma.Etag == m.Etag })
	if got, _ := vip(a.State()); !slices.Equal(got.Include, want.Include) {
		t.Errorf("writer after the second replica's edit: %d keys, newcomer %v; want the %d uploaded", len(got.Include), keylist.Contains(got.Include, "newcomer"), n)
	}
}

// recordChunks returns the generation the record of shop/vip names.
func recordChunks(t *testing.T, raw *etcdstore.Store) string {
	t.Helper()
	v, err := raw.Get(t.Context(), domain.Path{"projects", "shop", "segments", "vip"})
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Chunks string `json:"chunks"`
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Chunks
}

// stagedKeys is the size of the lists the conflict and crash tests stage:
// a list this long spans every shard, over etcd's 128 operations.
const stagedKeys = 20_000

// TestStagedSegmentConflict: a write through another replica lands while
// a list is being staged; the staged write's switch fails, it runs again,
// finds its etag stale and answers ErrConflict (409). Nothing of it is
// visible and its staged chunks are gone.
func TestStagedSegmentConflict(t *testing.T) {
	t.Parallel()
	a, b, w, raw, _ := stagedPair(t)
	_, meta := vip(a.State())
	var once sync.Once
	w.before = func(c domain.Change) error {
		if len(c.Conds) == 1 && c.Conds[0].Path[0] == "staged" && c.Conds[0].Value != nil && len(c.Ops) > 1 {
			once.Do(func() {
				waitFor(t, b, func(st *domain.State) bool { _, m := vip(st); return m.Etag == meta.Etag })
				if _, err := b.Update(t.Context(), actor, func(tx *domain.Tx) error {
					_, err := tx.EditSegmentKeys("shop", "vip", keylist.Include, keylist.Add, stageOf(t, []string{"other"}), meta.Etag)
					return err
				}); err != nil {
					t.Errorf("concurrent write on the second replica = %v", err)
				}
			})
		}
		return nil
	}
	_, err := replaceInclude(t.Context(), a, stageOf(t, userKeys(stagedKeys)), meta.Etag)
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("staged replace with a stale etag = %v, want ErrConflict", err)
	}
	w.before = nil
	want := []string{"old-1", "old-2", "other"}
	for i, s := range []*domain.Store{a, b} {
		waitFor(t, s, func(st *domain.State) bool { v, _ := vip(st); return len(v.Include) == len(want) })
		if v, _ := vip(s.State()); !slices.Equal(v.Include, want) {
			t.Errorf("replica %d holds %v, want %v", i, v.Include, want)
		}
	}
	if l := leftovers(t, raw, ""); len(l) > 0 {
		t.Errorf("after the conflict: %v left, want nothing staged", l)
	}
}

var errCrashed = errors.New("process stopped")

// TestStagedSegmentCrash: the writer stops between staging and switching.
// The old list stays, for the writer's replica and the other; the leader's
// collection leaves a young staging alone and deletes an old one.
func TestStagedSegmentCrash(t *testing.T) {
	t.Parallel()
	a, b, w, raw, prefix := stagedPair(t)
	old := userKeys(stagedKeys)[:keylist.ChunkThreshold+1]
	slices.Reverse(old)
	if _, err := replaceInclude(t.Context(), a, stageOf(t, old), ""); err != nil {
		t.Fatal(err)
	}
	oldGen := recordChunks(t, raw)
	want, meta := vip(a.State())

	ctx, stop := context.WithCancel(t.Context())
	var staged atomic.Int32
	w.before = func(c domain.Change) error {
		if ctx.Err() != nil {
			return errCrashed // stopped: nothing more is written, not even a clean-up
		}
		if len(c.Conds) == 1 && c.Conds[0].Path[0] == "staged" && c.Conds[0].Value != nil && staged.Add(1) == 3 {
			stop()
		}
		return nil
	}
	if _, err := replaceInclude(ctx, a, stageOf(t, userKeys(stagedKeys)), meta.Etag); err == nil {
		t.Fatal("replace through a writer that stopped while staging succeeded")
	}
	if got, m := vip(a.State()); m.Etag != meta.Etag || !slices.Equal(got.Include, want.Include) {
		t.Errorf("the writer's replica holds %d keys at etag %s, want the old %d at %s", len(got.Include), m.Etag, len(want.Include), meta.Etag)
	}
	if l := leftovers(t, raw, oldGen); len(l) != 2 {
		t.Fatalf("after the stop: %v left, want one staging record and one generation", l)
	}

	if n, err := b.CollectStaged(t.Context(), time.Hour); err != nil || n != 0 {
		t.Errorf("CollectStaged(grace 1h) = %d, %v; want a young staging left alone", n, err)
	}
	if n, err := b.CollectStaged(t.Context(), 0); err != nil || n != 1 {
		t.Errorf("CollectStaged(grace 0) = %d, %v; want 1", n, err)
	}
	if l := leftovers(t, raw, oldGen); len(l) != 0 {
		t.Errorf("after the collection: %v left", l)
	}
	got, m := vip(b.State())
	if m.Etag != meta.Etag || !slices.Equal(got.Include, want.Include) {
		t.Errorf("the other replica holds %d keys at etag %s, want the old %d at %s", len(got.Include), m.Etag, len(want.Include), meta.Etag)
	}
	reopened, err := domain.Open(t.Context(), open(t, etcdstore.Options{Prefix: prefix}), domain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if got, _ := vip(reopened.State()); !slices.Equal(got.Include, want.Include) {
		t.Errorf("a store opened afterwards holds %d keys, want the old %d", len(got.Include), len(want.Include))
	}
}

// TestStagedImportNewProject: importing a document that creates a project
// with a long list stages the list, and writes the new project without
// deleting what was staged under it.
func TestStagedImportNewProject(t *testing.T) {
	t.Parallel()
	a, b, _, raw, _ := stagedPair(t)
	keys := userKeys(stagedKeys)
	doc := &model.Document{Version: 1, Project: "games", Environments: []string{"production"},
		Segments: []*model.Segment{{Key: "players", Include: keys}}}
	if _, err := a.Update(t.Context(), actor, func(tx *domain.Tx) error {
		_, err := tx.Import(doc, false)
		return err
	}); err != nil {
		t.Fatalf("Import = %v", err)
	}
	for i, s := range []*domain.Store{a, b} {
		waitFor(t, s, func(st *domain.State) bool { _, ok := st.Project("games"); return ok })
		ps, _ := s.State().Project("games")
		seg, _, _ := ps.Segment("players")
		if got := slices.Sorted(slices.Values(seg.Include)); !slices.Equal(got, keys) {
			t.Errorf("replica %d: players holds %d keys, want the %d imported", i, len(got), len(keys))
		}
	}
	if l := leftovers(t, raw, ""); len(l) != 1 {
		t.Errorf("after the import: %v, want the one generation of players", l)
	}
}

// TestTooLargeRecordIsRefused: a write whose own record does not fit one
// etcd transaction (a short list of long keys, kept in the record) has
// nothing to stage: it is refused with ErrTooLarge, an ErrInvalid (400),
// and writes nothing.
func TestTooLargeRecordIsRefused(t *testing.T) {
	t.Parallel()
	a, _, w, raw, _ := stagedPair(t)
	keys := make([]string, 4000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%07d-%s", i, strings.Repeat("k", 500))
	}
	before := w.count()
	_, err := replaceInclude(t.Context(), a, stageOf(t, keys), "")
	if !errors.Is(err, domain.ErrTooLarge) || !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("replace with a 2 MB record = %v, want ErrTooLarge and ErrInvalid", err)
	}
	if c := w.since(before); len(c) != 0 {
		t.Errorf("refused write applied %d Changes", len(c))
	}
	if v, _ := vip(a.State()); len(v.Include) != 2 {
		t.Errorf("segment holds %d keys after the refused write, want the old 2", len(v.Include))
	}
	if l := leftovers(t, raw, ""); len(l) > 0 {
		t.Errorf("refused write left %v", l)
	}
}

// TestStagedSegmentOvertaken: a write through another replica on something
// else lands while a list is being staged; the staged write's switch is
// overtaken, it runs again and switches to what it staged, without
// staging it a second time.
func TestStagedSegmentOvertaken(t *testing.T) {
	t.Parallel()
	a, b, w, raw, _ := stagedPair(t)
	_, meta := vip(a.State())
	var once sync.Once
	w.before = func(c domain.Change) error {
		if len(c.Conds) == 1 && c.Conds[0].Path[0] == "staged" && c.Conds[0].Value != nil && len(c.Ops) > 1 {
			once.Do(func() {
				if _, err := b.Update(t.Context(), actor, func(tx *domain.Tx) error {
					return tx.CreateFlag("shop", &model.Flag{Key: "elsewhere", Type: model.TypeBool})
				}); err != nil {
					t.Errorf("concurrent write on the second replica = %v", err)
				}
			})
		}
		return nil
	}
	before := w.count()
	keys := userKeys(stagedKeys)
	if _, err := replaceInclude(t.Context(), a, stageOf(t, keys), meta.Etag); err != nil {
		t.Fatalf("staged replace overtaken by another write = %v", err)
	}
	stagings, chunkWrites := 0, 0
	for _, c := range w.since(before) {
		for _, op := range c.Ops {
			switch {
			case op.Path[0] == "staged" && op.Value != nil:
				stagings++
			case len(op.Path) > 3 && op.Path[2] == "segment_chunks" && op.Value != nil:
				chunkWrites++
			}
		}
	}
	if stagings != 1 || chunkWrites > keylist.Shards {
		t.Errorf("wrote %d staging records and %d chunks, want the list staged once (at most %d chunks)", stagings, chunkWrites, keylist.Shards)
	}
	waitFor(t, b, func(st *domain.State) bool { v, _ := vip(st); return len(v.Include) == len(keys) })
	if v, _ := vip(b.State()); !slices.Equal(slices.Sorted(slices.Values(v.Include)), keys) {
		t.Errorf("second replica holds %d keys, not the %d written", len(v.Include), len(keys))
	}
	if l := leftovers(t, raw, recordChunks(t, raw)); len(l) > 0 {
		t.Errorf("after the switch: %v left", l)
	}
}
