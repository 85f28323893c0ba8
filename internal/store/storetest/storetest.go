// Package storetest is the contract every storage engine of the domain
// (domain.Backend) must pass: bbolt and etcd run the same suite.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
)

// Run runs the contract suite against engines made by open: each call
// returns a new, empty engine the suite may close.
func Run(t *testing.T, open func(t *testing.T) domain.Backend) {
	t.Run("LoadEmpty", func(t *testing.T) { testLoadEmpty(t, open(t)) })
	t.Run("ApplyAndRead", func(t *testing.T) { testApplyAndRead(t, open(t)) })
	t.Run("Range", func(t *testing.T) { testRange(t, open(t)) })
	t.Run("GetMany", func(t *testing.T) { testGetMany(t, open(t)) })
	t.Run("TreeDelete", func(t *testing.T) { testTreeDelete(t, open(t)) })
	t.Run("Conditions", func(t *testing.T) { testConditions(t, open(t)) })
	t.Run("Watch", func(t *testing.T) { testWatch(t, open(t)) })
}

func p(elems ...string) domain.Path { return domain.Path(elems) }

func put(path domain.Path, v string) domain.Op { return domain.Op{Path: path, Value: []byte(v)} }

func apply(t *testing.T, b domain.Backend, c domain.Change) uint64 {
	t.Helper()
	rev, err := b.Apply(context.Background(), c)
	if err != nil {
		t.Fatalf("Apply(%v) = %v", c, err)
	}
	return rev
}

func load(t *testing.T, b domain.Backend, prefix domain.Path) (map[string]string, []string, uint64) {
	t.Helper()
	got := map[string]string{}
	var order []string
	rev, err := b.Load(context.Background(), prefix, func(r domain.Record) error {
		got[r.Path.String()] = string(r.Value)
		order = append(order, r.Path.String())
		return nil
	})
	if err != nil {
		t.Fatalf("Load(%v) = %v", prefix, err)
	}
	return got, order, rev
}

func rangeKeys(t *testing.T, b domain.Backend, prefix domain.Path, from string, limit int, reverse bool) []string {
	t.Helper()
	var keys []string
	err := b.Range(context.Background(), prefix, from, limit, reverse, func(r domain.Record) error {
		keys = append(keys, r.Path[len(r.Path)-1])
		return nil
	})
	if err != nil {
		t.Fatalf("Range(%v, %q, %d, %v) = %v", prefix, from, limit, reverse, err)
	}
	return keys
}

func testLoadEmpty(t *testing.T, b domain.Backend) {
	got, _, _ := load(t, b, nil)
	if len(got) != 0 {
		t.Errorf("Load on a new engine = %v, want nothing", got)
	}
	v, err := b.Get(context.Background(), p("meta", "seq"))
	if err != nil || v != nil {
		t.Errorf("Get(missing) = %q, %v; want nil, nil", v, err)
	}
}

func testApplyAndRead(t *testing.T, b domain.Backend) {
	r1 := apply(t, b, domain.Change{Ops: []domain.Op{
		put(p("projects", "shop", "flags", "b"), "B"),
		put(p("projects", "shop", "flags", "a"), "A"),
		put(p("projects", "shop", "project"), "P"),
		put(p("meta", "seq"), "1"),
	}})
	r2 := apply(t, b, domain.Change{Ops: []domain.Op{
		put(p("projects", "shop", "flags", "a"), "A2"),
		{Path: p("projects", "shop", "flags", "b")},
	}})
	if r2 <= r1 {
		t.Errorf("revisions %d then %d, want strictly growing", r1, r2)
	}
	got, order, rev := load(t, b, nil)
	want := map[string]string{"projects/shop/flags/a": "A2", "projects/shop/project": "P", "meta/seq": "1"}
	if !maps(got, want) {
		t.Errorf("Load = %v, want %v", got, want)
	}
	if !slices.IsSorted(order) {
		t.Errorf("Load order %v, want path order", order)
	}
	if rev != r2 {
		t.Errorf("Load revision %d, want the last applied %d", rev, r2)
	}
	if v, err := b.Get(context.Background(), p("projects", "shop", "flags", "a")); err != nil || string(v) != "A2" {
		t.Errorf("Get = %q, %v; want A2", v, err)
	}
	sub, _, _ := load(t, b, p("projects", "shop", "flags"))
	if !maps(sub, map[string]string{"projects/shop/flags/a": "A2"}) {
		t.Errorf("Load(projects/shop/flags) = %v", sub)
	}
	if rev, err := b.Apply(context.Background(), domain.Change{}); err != nil || rev != r2 {
		t.Errorf("Apply(empty) = %d, %v; want %d, nil", rev, err, r2)
	}
}

func testRange(t *testing.T, b domain.Backend) {
	var ops []domain.Op
	for _, k := range []string{"0000000000000003", "0000000000000001", "0000000000000002", "00000000000000ff"} {
		ops = append(ops, put(p("audit", k), k))
	}
	ops = append(ops, put(p("audit", "00000000000000f0", "deeper"), "x"), put(p("auditx", "1"), "x"))
	apply(t, b, domain.Change{Ops: ops})
	for _, c := range []struct {
		from    string
		limit   int
		reverse bool
		want    []string
	}{
		{"", 0, false, []string{"0000000000000001", "0000000000000002", "0000000000000003", "00000000000000ff"}},
		{"0000000000000002", 2, false, []string{"0000000000000002", "0000000000000003"}},
		{"", 2, true, []string{"00000000000000ff", "0000000000000003"}},
		{"0000000000000002", 0, true, []string{"0000000000000002", "0000000000000001"}},
		{"0000000000000004", 1, true, []string{"0000000000000003"}},
	} {
		if got := rangeKeys(t, b, p("audit"), c.from, c.limit, c.reverse); !slices.Equal(got, c.want) {
			t.Errorf("Range(audit, %q, %d, reverse %v) = %v, want %v", c.from, c.limit, c.reverse, got, c.want)
		}
	}
	if got := rangeKeys(t, b, p("nothing"), "", 0, false); len(got) != 0 {
		t.Errorf("Range(nothing) = %v", got)
	}
}

func testTreeDelete(t *testing.T, b domain.Backend) {
	apply(t, b, domain.Change{Ops: []domain.Op{
		put(p("projects", "a", "project"), "A"),
		put(p("projects", "a", "flags", "f"), "F"),
		put(p("projects", "ab", "project"), "AB"),
	}})
	apply(t, b, domain.Change{Ops: []domain.Op{{Path: p("projects", "a"), Tree: true}}})
	got, _, _ := load(t, b, nil)
	if !maps(got, map[string]string{"projects/ab/project": "AB"}) {
		t.Errorf("after deleting the tree projects/a: %v", got)
	}
}

func testConditions(t *testing.T, b domain.Backend) {
	seq := p("meta", "seq")
	apply(t, b, domain.Change{Conds: []domain.Cond{{Path: seq}}, Ops: []domain.Op{put(seq, "1")}})
	_, err := b.Apply(context.Background(), domain.Change{
		Conds: []domain.Cond{{Path: seq}},
		Ops:   []domain.Op{put(seq, "2"), put(p("x", "x"), "x")},
	})
	if !errors.Is(err, domain.ErrCondition) {
		t.Fatalf("Apply with an absent-record condition on a present record = %v, want ErrCondition", err)
	}
	_, err = b.Apply(context.Background(), domain.Change{
		Conds: []domain.Cond{{Path: seq, Value: []byte("1")}, {Path: p("y", "y"), Value: []byte("y")}},
		Ops:   []domain.Op{put(seq, "2"), put(p("x", "x"), "x")},
	})
	if !errors.Is(err, domain.ErrCondition) {
		t.Fatalf("Apply with one failing condition of two = %v, want ErrCondition", err)
	}
	got, _, _ := load(t, b, nil)
	if !maps(got, map[string]string{"meta/seq": "1"}) {
		t.Errorf("a refused Change wrote something: %v", got)
	}
	apply(t, b, domain.Change{Conds: []domain.Cond{{Path: seq, Value: []byte("1")}}, Ops: []domain.Op{put(seq, "2")}})
	if v, _ := b.Get(context.Background(), seq); string(v) != "2" {
		t.Errorf("meta/seq = %q after a Change whose condition held, want 2", v)
	}
}

func testWatch(t *testing.T, b domain.Backend) {
	r0 := apply(t, b, domain.Change{Ops: []domain.Op{put(p("w", "k"), "0")}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := make(chan domain.Applied, 10)
	done := make(chan error, 1)
	go func() {
		done <- b.Watch(ctx, r0, func(a domain.Applied) error {
			seen <- a
			return nil
		})
	}()
	r1 := apply(t, b, domain.Change{Ops: []domain.Op{put(p("w", "k"), "1")}})
	r2 := apply(t, b, domain.Change{Ops: []domain.Op{{Path: p("w", "k")}}})
	for i, want := range []uint64{r1, r2} {
		select {
		case a := <-seen:
			if a.Revision != want || len(a.Ops) != 1 || a.Ops[0].Path.String() != "w/k" {
				t.Errorf("change %d watched: %+v, want revision %d writing w/k", i, a, want)
			}
			if i == 1 && a.Ops[0].Value != nil {
				t.Errorf("a delete watched with value %q", a.Ops[0].Value)
			}
		case <-ctx.Done():
			t.Fatalf("change %d (revision %d) never watched", i, want)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Watch after cancel = %v, want the context's error", err)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// testGetMany: GetMany answers every path in the order asked, nil for a
// missing record (and for a path that names a collection, not a record),
// more paths than fit one etcd transaction too.
func testGetMany(t *testing.T, b domain.Backend) {
	for lo := 0; lo < 300; lo += 60 { // Changes that fit one etcd transaction
		var c domain.Change
		for i := lo; i < lo+60; i++ {
			if i%3 != 0 {
				c.Ops = append(c.Ops, put(p("units", fmt.Sprintf("%04d", i)), fmt.Sprint(i)))
			}
		}
		apply(t, b, c)
	}
	var paths []domain.Path
	var want []string
	for i := 299; i >= 0; i-- { // not in key order
		paths = append(paths, p("units", fmt.Sprintf("%04d", i)))
		if i%3 != 0 {
			want = append(want, fmt.Sprint(i))
		} else {
			want = append(want, "<nil>")
		}
	}
	paths = append(paths, p("units"), p("missing", "x"))
	want = append(want, "<nil>", "<nil>")
	got, err := b.GetMany(context.Background(), paths)
	if err != nil || len(got) != len(paths) {
		t.Fatalf("GetMany(%d paths) = %d values, %v", len(paths), len(got), err)
	}
	for i, v := range got {
		s := string(v)
		if v == nil {
			s = "<nil>"
		}
		if s != want[i] {
			t.Errorf("GetMany: %v = %s, want %s", paths[i], s, want[i])
		}
	}
	if got, err := b.GetMany(context.Background(), nil); err != nil || len(got) != 0 {
		t.Errorf("GetMany(none) = %v, %v; want nothing", got, err)
	}
}
