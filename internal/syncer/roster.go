package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
)

// The roster is the set of stream identities connected to each
// environment, kept across restarts so that convergence after a restart
// waits for the SDKs that were connected before (or a grace period)
// instead of passing vacuously while none has reconnected yet. A stream's
// identity is its key, SDK name and peer host (the port changes on every
// reconnect); identities are counted, so three SDKs on one host are three.
// The hub saves the roster every Options.RosterInterval when it changed,
// and once more when it stops (before it ends the streams): never per
// connection or acknowledgement.

// SideStore keeps the roster in side records: the domain.Side named
// RosterSide is one.
type SideStore interface {
	Load(ctx context.Context, dir domain.Path, fn func(domain.Record) error) error
	Apply(ctx context.Context, c domain.Change) error
}

// RosterSide is the name of the roster's side records: one per
// environment, at {project}/{environment}.
const RosterSide = "sync-roster"

// maxRosterIdentities bounds the distinct identities kept per
// environment; streams beyond it are counted under overflowIdentity,
// which any returning stream matches.
const maxRosterIdentities = 4096

const overflowIdentity = "*"

// rosterTimeout bounds a roster read or write.
const rosterTimeout = 5 * time.Second

// roster counts an environment's streams by identity.
type roster map[string]int

func (r roster) total() int {
	n := 0
	for _, c := range r {
		n += c
	}
	return n
}

// identity is what a stream is recognized by when it returns.
func identity(info Info) string {
	host := info.Peer
	if h, _, err := net.SplitHostPort(info.Peer); err == nil {
		host = h
	}
	return info.KeyID + "|" + info.SDKName + "|" + host
}

// recovery is an environment's wait, after a restart, for the streams
// connected before it.
type recovery struct {
	expected roster // persisted before the restart
	// settled says how the wait ended: "" while waiting, SettledReturned
	// or SettledGrace.
	settled string
	// returned counts the expected streams that had returned when the
	// wait ended.
	returned int
}

// How an environment's wait after a restart ended (Convergence.Settled).
const (
	SettledReturned = "returned"
	SettledGrace    = "grace"
)

// returnedOf counts the streams of cur that match expected identities.
func returnedOf(expected, cur roster) int {
	n, spare := 0, 0
	for id, c := range cur {
		m := min(c, expected[id])
		n += m
		spare += c - m
	}
	return n + min(spare, expected[overflowIdentity])
}

// loadRoster reads the persisted roster.
func loadRoster(side SideStore) (map[envKey]roster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rosterTimeout)
	defer cancel()
	out := map[envKey]roster{}
	err := side.Load(ctx, nil, func(r domain.Record) error {
		var rec rosterRecord
		if err := json.Unmarshal(r.Value, &rec); err != nil {
			return fmt.Errorf("roster %s: %w", r.Path, err)
		}
		if rec.Streams.total() > 0 {
			out[envKey{rec.Project, rec.Environment}] = rec.Streams
		}
		return nil
	})
	return out, err
}

// rosterRecord is one environment's persisted roster.
type rosterRecord struct {
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	Saved       time.Time `json:"saved"`
	Streams     roster    `json:"streams"`
}

// saveRoster replaces the persisted roster by r.
func saveRoster(side SideStore, r map[envKey]roster, now time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), rosterTimeout)
	defer cancel()
	var c domain.Change
	err := side.Load(ctx, nil, func(r domain.Record) error {
		c.Ops = append(c.Ops, domain.Op{Path: r.Path})
		return nil
	})
	if err != nil {
		return err
	}
	for key, streams := range r {
		if streams.total() == 0 {
			continue
		}
		data, err := json.Marshal(rosterRecord{Project: key.project, Environment: key.env, Saved: now, Streams: streams})
		if err != nil {
			return err
		}
		c.Ops = append(c.Ops, domain.Op{Path: domain.Path{key.project, key.env}, Value: data})
	}
	return side.Apply(ctx, c)
}

// currentRoster counts e's streams by identity, bounded. The caller holds
// h.mu.
func currentRoster(e *envHub) roster {
	r := roster{}
	for st := range e.streams {
		id := identity(st.Info)
		if _, ok := r[id]; !ok && len(r) >= maxRosterIdentities {
			id = overflowIdentity
		}
		r[id]++
	}
	return r
}

// settle ends e's wait when every expected stream has returned or the
// grace period is over, and returns how many expected streams have
// returned. The caller holds h.mu.
func (h *Hub) settle(key envKey, now time.Time) (rec *recovery, returned int) {
	rec = h.recoveries[key]
	if rec == nil {
		return nil, 0
	}
	if rec.settled != "" {
		return rec, rec.returned
	}
	var cur roster
	if e := h.envs[key]; e != nil {
		cur = currentRoster(e)
	}
	returned = returnedOf(rec.expected, cur)
	switch {
	case returned >= rec.expected.total():
		rec.settled, rec.returned = SettledReturned, returned
	case now.Sub(h.started) >= h.opts.RestartGrace:
		rec.settled, rec.returned = SettledGrace, returned
	}
	return rec, returned
}

// snapshotRoster is what the roster should hold now: the current streams
// of settled environments, and the expected ones of environments still
// waiting (a save during the wait must not forget who is awaited). The
// caller holds h.mu.
func (h *Hub) snapshotRoster(now time.Time) map[envKey]roster {
	out := map[envKey]roster{}
	for key, e := range h.envs {
		if r := currentRoster(e); len(r) > 0 {
			out[key] = r
		}
	}
	for key := range h.recoveries {
		if rec, _ := h.settle(key, now); rec.settled == "" {
			out[key] = rec.expected
		}
	}
	return out
}

// saveRosterIfChanged persists the roster when it differs from the last
// one saved.
func (h *Hub) saveRosterIfChanged() {
	if h.opts.Side == nil {
		return
	}
	now := h.opts.Now()
	h.mu.Lock()
	r := h.snapshotRoster(now)
	h.mu.Unlock()
	if maps.EqualFunc(r, h.savedRoster, maps.Equal) {
		return
	}
	if err := saveRoster(h.opts.Side, r, now); err != nil {
		h.log.Warn("save the sync roster", "err", err)
		return
	}
	h.savedRoster = r
}
