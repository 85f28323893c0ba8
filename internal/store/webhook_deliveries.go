package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Webhook deliveries are an operational log, written apart from the
// resources like events: not through Update, never audited, never
// bumping a revision. Each webhook keeps its latest deliveries only.
//
//	webhook_deliveries/{project}/{webhook}/{seq} → WebhookDelivery
//	                                 (seq: 8 bytes, big-endian, from the bucket's sequence)
const bucketDeliveries = "webhook_deliveries"

// The states of a webhook delivery.
const (
	DeliveryPending   = "PENDING"   // queued, not attempted yet
	DeliveryRetrying  = "RETRYING"  // failed, another attempt is scheduled
	DeliveryDelivered = "DELIVERED" // the receiver answered 2xx
	DeliveryFailed    = "FAILED"    // no attempt left, or an answer not worth retrying
	DeliveryAbandoned = "ABANDONED" // dropped: the server stopped, or its queue was full
)

// WebhookDelivery is one event delivered (or being delivered) to one
// webhook, with every attempt.
type WebhookDelivery struct {
	// Seq orders a webhook's deliveries; PutWebhookDelivery sets it on the
	// first write.
	Seq uint64 `json:"seq"`
	// ID is sent as X-Switchyard-Delivery; it stays the same across
	// attempts.
	ID string `json:"id"`
	// EventID and EventType are the event's id and type (its audit
	// action); Resource and Revision the resource it is about.
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Resource  string `json:"resource,omitempty"`
	Revision  uint64 `json:"revision,omitempty"`
	// State is one of the Delivery* constants.
	State    string           `json:"state"`
	Attempts []WebhookAttempt `json:"attempts,omitempty"`
	// LastError is the error of the last failed attempt.
	LastError string `json:"last_error,omitempty"`
	// NextRetry is when the next attempt is due, while RETRYING.
	NextRetry  *time.Time `json:"next_retry,omitempty"`
	CreateTime time.Time  `json:"create_time"`
	UpdateTime time.Time  `json:"update_time"`
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	Time time.Time `json:"time"`
	// StatusCode is the receiver's HTTP status; 0 when none came.
	StatusCode int           `json:"status_code,omitempty"`
	Duration   time.Duration `json:"duration"`
	Error      string        `json:"error,omitempty"`
}

// PutWebhookDelivery writes a delivery of a project's webhook: a new one
// (d.Seq == 0, then set) or a later state of one written before. It keeps
// the keep latest deliveries of the webhook (keep > 0) and deletes older
// ones.
func (s *Store) PutWebhookDelivery(project, webhook string, d *WebhookDelivery, keep int) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists([]byte(bucketDeliveries))
		if err != nil {
			return err
		}
		pb, err := top.CreateBucketIfNotExists([]byte(project))
		if err != nil {
			return err
		}
		b, err := pb.CreateBucketIfNotExists([]byte(webhook))
		if err != nil {
			return err
		}
		fresh := d.Seq == 0
		if fresh {
			if d.Seq, err = b.NextSequence(); err != nil {
				return err
			}
		}
		data, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := b.Put(u64(d.Seq), data); err != nil {
			return err
		}
		if !fresh {
			return nil
		}
		// Trim: keys are in sequence order, the oldest first.
		var old [][]byte
		c := b.Cursor()
		n := 0
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if n++; n > keep {
				old = append(old, append([]byte(nil), k...))
			}
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write delivery of %s: %w", WebhookName(project, webhook), err)
	}
	return nil
}

// WebhookDeliveries returns a webhook's deliveries, newest first, at most
// limit (all when limit <= 0).
func (s *Store) WebhookDeliveries(project, webhook string, limit int) ([]WebhookDelivery, error) {
	var out []WebhookDelivery
	err := s.db.View(func(tx *bolt.Tx) error {
		b := nested(tx, bucketDeliveries, project, webhook)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var d WebhookDelivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("delivery %d: %w", fromU64(k), err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", WebhookName(project, webhook), err)
	}
	return out, nil
}

// DeleteWebhookDeliveries deletes the delivery log of a webhook, or of
// every webhook of the project when webhook is "".
func (s *Store) DeleteWebhookDeliveries(project, webhook string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		parent := nested(tx, bucketDeliveries)
		name := project
		if webhook != "" {
			parent, name = nested(tx, bucketDeliveries, project), webhook
		}
		if parent == nil {
			return nil
		}
		if err := parent.DeleteBucket([]byte(name)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete deliveries of %s: %w", WebhookName(project, webhook), err)
	}
	return nil
}

// nested returns the bucket at the path of names, or nil.
func nested(tx *bolt.Tx, names ...string) *bolt.Bucket {
	b := tx.Bucket([]byte(names[0]))
	for _, n := range names[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(n))
	}
	return b
}
