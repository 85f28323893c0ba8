package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AuditPruneBatch is the most audit events one Change of PruneAudit
// deletes: with the engine's own bookkeeping and a leader's fence it fits
// one etcd transaction (--max-txn-ops, 128 by default).
const AuditPruneBatch = 100

// errPruneDone stops the walk of PruneAudit at the first event it keeps.
var errPruneDone = errors.New("prune done")

// PruneAudit deletes the audit events dated before cutoff, oldest (lowest
// Seq) first, in Changes of at most AuditPruneBatch deletes, and returns
// how many it deleted. It stops at the first event it keeps: one dated at
// or after cutoff, or one an unfinished webhook delivery still has to send
// (WebhookDeliveryJob reads it). Sequence numbers are never reused: the
// log's next event still follows the last one ever written.
//
// Each Change carries the conditions ctx carries (WithConds): a deposed
// leader's Change fails with an error matching ErrCondition and deletes
// nothing; the batches deleted before it stay deleted. A stop of ctx
// between batches likewise leaves the log pruned up to a batch.
func (s *Store) PruneAudit(ctx context.Context, cutoff time.Time) (deleted int, err error) {
	pin, err := s.deliveringFrom(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune audit: %w", err)
	}
	from := ""
	for {
		var c Change
		var last uint64
		err := s.backend.Range(ctx, Path{prefixAudit}, from, AuditPruneBatch, false, func(r Record) error {
			k := r.Path[len(r.Path)-1]
			seq, ok := parseHex(k)
			if !ok {
				return fmt.Errorf("audit event %q: not 16 hex digits", k)
			}
			var ev struct {
				Time time.Time `json:"time"`
			}
			if err := json.Unmarshal(r.Value, &ev); err != nil {
				return fmt.Errorf("audit event %s: %w", k, err)
			}
			if !ev.Time.Before(cutoff) || pin != 0 && seq >= pin {
				return errPruneDone
			}
			c.Ops = append(c.Ops, Op{Path: r.Path})
			last = seq
			return nil
		})
		done := errors.Is(err, errPruneDone)
		if err != nil && !done {
			return deleted, fmt.Errorf("prune audit: %w", err)
		}
		if len(c.Ops) > 0 {
			if _, err := s.apply(ctx, c); err != nil {
				return deleted, fmt.Errorf("prune audit: %w", err)
			}
			deleted += len(c.Ops)
		}
		if done || len(c.Ops) < AuditPruneBatch {
			return deleted, nil
		}
		from = hexKey(last + 1)
	}
}

// deliveringFrom returns the lowest audit Seq an unfinished webhook
// delivery has still to send, or 0 when none has.
func (s *Store) deliveringFrom(ctx context.Context) (uint64, error) {
	var pin uint64
	_, err := s.backend.Load(ctx, Path{bucketDeliveries}, func(r Record) error {
		if len(r.Path) != 4 {
			return nil
		}
		var d WebhookDelivery
		if err := json.Unmarshal(r.Value, &d); err != nil {
			return fmt.Errorf("delivery %s: %w", r.Path, err)
		}
		if d.Active() && d.EventSeq != 0 && (pin == 0 || d.EventSeq < pin) {
			pin = d.EventSeq
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read unfinished webhook deliveries: %w", err)
	}
	return pin, nil
}
