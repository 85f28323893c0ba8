package sdk

import (
	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/section"
)

// Relay is told of everything a client receives, so that a relay (switchyard
// relay) serves it on: the client is the relay's upstream connection for
// one environment. Its methods run on the client's sync goroutine (Applied
// also in New, for the cache file) and must return quickly. Its types are
// internal to Switchyard: applications cannot implement it and leave
// Config.Relay nil.
type Relay interface {
	// Applied is called after the client applied a ruleset, before it
	// acknowledges it: rs is the compiled ruleset, sections every section
	// of its manifest with its payload, in manifest order.
	Applied(rs *eval.Ruleset, sections []*sdkpb.Section)
	// Keys is called with each key set a relay key's stream carries.
	Keys(ks *sdkpb.KeySet)
	// Release is called with each release notice, before OnRelease
	// functions.
	Release(n *sdkpb.ReleaseNotice)
}

// relayApplied tells the relay of a ruleset applied.
func (c *Client) relayApplied(h *holdings, rs *eval.Ruleset) {
	if c.cfg.Relay == nil {
		return
	}
	sections := make([]*sdkpb.Section, 0, len(h.manifest))
	for _, ref := range h.manifest {
		hash, _ := section.HashFromBytes(ref.GetHash())
		sections = append(sections, &sdkpb.Section{Ref: ref, Payload: h.sections[hash].payload})
	}
	c.cfg.Relay.Applied(rs, sections)
}

// relayKeys tells the relay of a key set.
func (c *Client) relayKeys(ks *sdkpb.KeySet) {
	if c.cfg.Relay != nil {
		c.cfg.Relay.Keys(ks)
	}
}

// relayRelease tells the relay of a release notice.
func (c *Client) relayRelease(n *sdkpb.ReleaseNotice) {
	if c.cfg.Relay != nil {
		c.cfg.Relay.Release(n)
	}
}
