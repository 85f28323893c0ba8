package domain

import (
	"context"
	"fmt"
	"slices"
)

// Side records are records a package keeps beside the resources, in the
// same engine — the experiment state, the sync roster — under a top-level
// name of its own. They are written apart from Update: never validated,
// audited or revisioned, and never part of a State. The package owns the
// layout under its name; the store only reads and applies Changes there.

// reservedNames are the store's own top-level names, and "events": the
// bbolt event log's bucket in the same file (eventlog/boltlog).
var reservedNames = []string{prefixMeta, prefixProjects, prefixKeys, prefixKeyHash, prefixAudit, bucketDeliveries, "events"}

// Side is the key/value space of one package: paths relative to its name.
type Side struct {
	s    *Store
	root Path
}

// Side returns the side records under the top-level name; a name of the
// store's own is refused with ErrInvalid.
func (s *Store) Side(name string) (Side, error) {
	if name == "" || slices.Contains(reservedNames, name) {
		return Side{}, fmt.Errorf("side records %q: %w: the name is the store's own", name, ErrInvalid)
	}
	return Side{s: s, root: Path{name}}, nil
}

func (sd Side) abs(p Path) Path { return append(slices.Clip(sd.root), p...) }

func (sd Side) rel(r Record) Record { return Record{Path: r.Path[len(sd.root):], Value: r.Value} }

// Get returns the value at path, or nil if there is none.
func (sd Side) Get(ctx context.Context, path Path) ([]byte, error) {
	v, err := sd.s.backend.Get(ctx, sd.abs(path))
	return v, sideError("read", sd.root, err)
}

// GetMany returns the values at paths, in their order (nil where there is
// none), in a few round trips (Backend.GetMany).
func (sd Side) GetMany(ctx context.Context, paths []Path) ([][]byte, error) {
	abs := make([]Path, len(paths))
	for i, p := range paths {
		abs[i] = sd.abs(p)
	}
	vs, err := sd.s.backend.GetMany(ctx, abs)
	return vs, sideError("read", sd.root, err)
}

// Load calls fn for every record under dir (all depths), in path order.
func (sd Side) Load(ctx context.Context, dir Path, fn func(Record) error) error {
	_, err := sd.s.backend.Load(ctx, sd.abs(dir), func(r Record) error { return fn(sd.rel(r)) })
	return sideError("read", sd.root, err)
}

// Range is Backend.Range under dir.
func (sd Side) Range(ctx context.Context, dir Path, from string, limit int, reverse bool, fn func(Record) error) error {
	err := sd.s.backend.Range(ctx, sd.abs(dir), from, limit, reverse, func(r Record) error { return fn(sd.rel(r)) })
	return sideError("read", sd.root, err)
}

// Apply applies c, its paths relative to the side's name, with the
// conditions ctx carries (WithConds). A condition that does not hold gives
// an error matching ErrCondition, and nothing is written.
func (sd Side) Apply(ctx context.Context, c Change) error {
	abs := Change{Conds: make([]Cond, len(c.Conds)), Ops: make([]Op, len(c.Ops))}
	for i, cond := range c.Conds {
		abs.Conds[i] = Cond{Path: sd.abs(cond.Path), Value: cond.Value}
	}
	for i, op := range c.Ops {
		abs.Ops[i] = Op{Path: sd.abs(op.Path), Value: op.Value, Tree: op.Tree}
	}
	_, err := sd.s.apply(ctx, abs)
	return sideError("write", sd.root, err)
}

func sideError(verb string, root Path, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s side records %s: %w", verb, root, err)
}
