package sdk

import (
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// applyRuleset applies a ruleset and swaps it in for the getters. It runs
// on the sync goroutine (or in New, before that starts). It returns the
// change to announce, and whether there is one: a new revision, or flags
// that changed.
func (c *Client) applyRuleset(msg *sdkpb.Ruleset) (Change, bool, error) {
	old := c.held
	next, rs, err := apply(old, c.ruleset.Load(), msg, c.cfg.CacheFile != "" || c.cfg.Relay != nil)
	if err != nil {
		return Change{}, false, err
	}
	c.relayApplied(next, rs)
	c.held = next
	c.ruleset.Store(rs)
	ch := Change{Revision: next.revision, Flags: changedFlags(old, next)}
	announce := old == nil || old.revision != next.revision || len(ch.Flags) > 0
	return ch, announce, nil
}
