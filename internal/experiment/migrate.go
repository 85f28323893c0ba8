package experiment

import (
	"context"
	"fmt"

	"github.com/switchyard/switchyard/internal/domain"
)

// migrate moves, once, the state written before the side records (bbolt
// buckets: studies/{key}/agg and studies/{key}/units/{8-byte hash}) to the
// layout of sideName, in one Change. The caller holds c.mu.
func (c *Consumer) migrate(ctx context.Context) error {
	if c.migrated {
		return nil
	}
	old := domain.Path{"studies"}
	var ch domain.Change
	err := c.side.Load(ctx, old, func(r domain.Record) error {
		p := r.Path
		switch {
		case len(p) == 3 && p[2] == "agg":
			ch.Ops = append(ch.Ops, domain.Op{Path: aggPath(p[1]), Value: r.Value})
		case len(p) == 4 && p[2] == "units" && len(p[3]) == 8:
			var k [8]byte
			copy(k[:], p[3])
			ch.Ops = append(ch.Ops, domain.Op{Path: unitsPath(p[1]).Child(unitElem(k)), Value: r.Value})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("experiment state: %w", err)
	}
	if len(ch.Ops) > 0 {
		ch.Ops = append(ch.Ops, domain.Op{Path: old, Tree: true})
		if err := c.side.Apply(ctx, ch); err != nil {
			return fmt.Errorf("experiment state: move to side records: %w", err)
		}
	}
	c.migrated = true
	return nil
}

// ready migrates the state, if that is still to do, for a reader.
func (c *Consumer) ready(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.migrate(ctx)
}
