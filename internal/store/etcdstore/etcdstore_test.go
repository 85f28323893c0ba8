package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

var cluster *etcdtest.Cluster

func TestMain(m *testing.M) { os.Exit(etcdtest.Main(m, &cluster)) }

// open returns a store under a prefix of the test's own, closed at its end.
func open(t *testing.T, o etcdstore.Options) *etcdstore.Store {
	t.Helper()
	if o.Endpoints == nil {
		o.Endpoints = cluster.Endpoints()
	}
	if o.Prefix == "" {
		o.Prefix = etcdtest.Prefix(t)
	}
	s, err := etcdstore.Open(t.Context(), o)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs in parallel with the other tests: they move etcd's
// revision (the whole cluster's), and the suite expects the revision of an
// empty Change or a Load to be its own last write's.
func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) domain.Backend { return open(t, etcdstore.Options{}) })
}

func p(elems ...string) domain.Path { return domain.Path(elems) }

func put(path domain.Path, v string) domain.Op { return domain.Op{Path: path, Value: []byte(v)} }

func records(t *testing.T, s *etcdstore.Store) map[string]string {
	t.Helper()
	got := map[string]string{}
	if _, err := s.Load(t.Context(), nil, func(r domain.Record) error {
		got[r.Path.String()] = string(r.Value)
		return nil
	}); err != nil {
		t.Fatalf("Load = %v", err)
	}
	return got
}

func TestApplyReplacesATree(t *testing.T) {
	t.Parallel()
	s := open(t, etcdstore.Options{})
	chunks := p("segment_keys", "s", "include")
	if _, err := s.Apply(t.Context(), domain.Change{Ops: []domain.Op{
		put(chunks.Child("0001"), "old1"), put(chunks.Child("0002"), "old2"), put(p("segments", "s"), "S1"),
	}}); err != nil {
		t.Fatal(err)
	}
	// etcd refuses a put inside a range the same transaction deletes: the
	// tree is expanded into single deletes.
	if _, err := s.Apply(t.Context(), domain.Change{
		Conds: []domain.Cond{{Path: p("segments", "s"), Value: []byte("S1")}},
		Ops: []domain.Op{
			{Path: chunks, Tree: true},
			put(chunks.Child("0002"), "new2"), put(chunks.Child("0003"), "new3"),
			put(p("segments", "s"), "S2"), put(p("segments", "s"), "S3"),
		},
	}); err != nil {
		t.Fatalf("Apply(replace a tree) = %v", err)
	}
	want := map[string]string{
		"segment_keys/s/include/0002": "new2", "segment_keys/s/include/0003": "new3", "segments/s": "S3",
	}
	if got := records(t, s); !maps.Equal(got, want) {
		t.Errorf("after replacing the tree: %v, want %v", got, want)
	}
	_, err := s.Apply(t.Context(), domain.Change{
		Conds: []domain.Cond{{Path: p("segments", "s"), Value: []byte("S1")}},
		Ops:   []domain.Op{{Path: chunks, Tree: true}, put(chunks.Child("0009"), "x")},
	})
	if !errors.Is(err, domain.ErrCondition) {
		t.Errorf("Apply(replace a tree, stale condition) = %v, want ErrCondition", err)
	}
	if got := records(t, s); !maps.Equal(got, want) {
		t.Errorf("a refused Change wrote: %v, want %v", got, want)
	}
}

// TestApplyKeepsTheLastWriteOfEachKey: of several writes of one key the
// last counts, a Tree delete drops the writes under it before it (a
// deeper tree too), and a write after it stands.
func TestApplyKeepsTheLastWriteOfEachKey(t *testing.T) {
	t.Parallel()
	s := open(t, etcdstore.Options{})
	dir := p("segment_chunks", "g")
	if _, err := s.Apply(t.Context(), domain.Change{Ops: []domain.Op{
		put(dir.Child("include").Child("0001"), "dropped"),
		{Path: dir.Child("exclude"), Tree: true},
		put(p("segments", "s"), "S1"),
		{Path: dir, Tree: true},
		put(dir.Child("include").Child("0002"), "kept"),
		put(p("segments", "s"), "S2"),
		put(p("segments", "t"), "T1"),
	}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"segment_chunks/g/include/0002": "kept", "segments/s": "S2", "segments/t": "T1"}
	if got := records(t, s); !maps.Equal(got, want) {
		t.Errorf("records = %v, want %v", got, want)
	}
}

func TestApplyTooLarge(t *testing.T) {
	t.Parallel()
	s := open(t, etcdstore.Options{})
	var ops []domain.Op
	for i := range 129 {
		ops = append(ops, put(p("many", fmt.Sprintf("%04x", i)), "v"))
	}
	big := domain.Change{Ops: []domain.Op{put(p("big", "v"), strings.Repeat("x", 2<<20))}}
	for _, c := range []struct {
		name string
		c    domain.Change
	}{
		{"129 ops", domain.Change{Ops: ops}},
		{"2 MiB", big},
	} {
		if _, err := s.Apply(t.Context(), c.c); !errors.Is(err, etcdstore.ErrTooLarge) || !errors.Is(err, domain.ErrTooLarge) || !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("Apply(%s) = %v, want ErrTooLarge (and domain.ErrTooLarge, domain.ErrInvalid)", c.name, err)
		}
	}
	if got := records(t, s); len(got) != 0 {
		t.Errorf("refused Changes wrote %d records", len(got))
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []etcdstore.Options{
		{},
		{Endpoints: cluster.Endpoints(), Prefix: "switchyard"},
		{Endpoints: cluster.Endpoints(), Prefix: "/switchyard/"},
	} {
		if s, err := etcdstore.Open(context.Background(), o); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded, want an error", o)
		}
	}
}
