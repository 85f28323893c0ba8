package domain

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Webhook deliveries are an outbox and a log at once. The commit that
// appends an audit event also writes, in the same bbolt transaction, a
// PENDING delivery of it to every webhook of its project whose filter
// matches (Commit.Deliveries names them), so that no event is lost to a
// crash or a stop: the deliverer resumes every PENDING and RETRYING
// delivery when it starts (ActiveWebhookDeliveries). The deliverer then
// records each attempt (PutWebhookDelivery); never audited, never bumping
// a revision. Each webhook keeps its latest finished deliveries only, and
// every unfinished one. Deleting a webhook or its project deletes its log
// in the deleting commit.
//
//	webhook_deliveries/{project}/{webhook}/{seq} → WebhookDelivery
//	                                 (seq: 8 bytes, big-endian, from the bucket's sequence)
const bucketDeliveries = "webhook_deliveries"

// The states of a webhook delivery.
const (
	DeliveryPending   = "PENDING"   // not attempted yet
	DeliveryRetrying  = "RETRYING"  // failed, another attempt is due at NextRetry
	DeliveryDelivered = "DELIVERED" // the receiver answered 2xx
	DeliveryFailed    = "FAILED"    // the retry horizon passed, or an answer not worth retrying
	DeliveryAbandoned = "ABANDONED" // the webhook was disabled before the delivery finished
)

// WebhookDelivery is one event delivered (or being delivered) to one
// webhook, with every attempt.
type WebhookDelivery struct {
	// Seq orders a webhook's deliveries; set when the delivery is created.
	Seq uint64 `json:"seq"`
	// ID is sent as X-Switchyard-Delivery; it stays the same across
	// attempts. A redelivery has an ID of its own.
	ID string `json:"id"`
	// EventSeq is the audit event delivered (AuditEvent.Seq); EventID is
	// its id in the body, EventType its action, Resource and Revision the
	// resource it is about.
	EventSeq  uint64 `json:"event_seq,omitempty"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Resource  string `json:"resource,omitempty"`
	Revision  uint64 `json:"revision,omitempty"`
	// RedeliveryOf is the ID of the delivery this one redelivers.
	RedeliveryOf string `json:"redelivery_of,omitempty"`
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

// Active reports whether the delivery is unfinished: PENDING or RETRYING.
func (d *WebhookDelivery) Active() bool {
	return d.State == DeliveryPending || d.State == DeliveryRetrying
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	Time time.Time `json:"time"`
	// StatusCode is the receiver's HTTP status; 0 when none came.
	StatusCode int           `json:"status_code,omitempty"`
	Duration   time.Duration `json:"duration"`
	Error      string        `json:"error,omitempty"`
}

// DeliveryRef names one delivery of one webhook.
type DeliveryRef struct {
	Project, Webhook string
	Seq              uint64
}

// DueDelivery is an unfinished delivery and when its next attempt is due.
type DueDelivery struct {
	DeliveryRef
	Due time.Time
}

// unsafeQueueDeliveries writes, in the commit's transaction, a PENDING
// delivery of each of the plan's events to each webhook of the event's
// project that matches it, and deletes the logs of the webhooks and
// projects the plan deletes. It records the deliveries in p.deliveries.
func unsafeQueueDeliveries(tx *bolt.Tx, p *plan) error {
	for _, ev := range p.events {
		if ev.Project == "" {
			continue
		}
		switch ev.Action {
		case "project.delete":
			if err := unsafeDeleteDeliveries(tx, ev.Project, ""); err != nil {
				return err
			}
		case "webhook.delete":
			if id, ok := strings.CutPrefix(ev.Resource, WebhookName(ev.Project, "")); ok && id != "" {
				if err := unsafeDeleteDeliveries(tx, ev.Project, id); err != nil {
					return err
				}
			}
		}
		ps, ok := p.state.Project(ev.Project)
		if !ok {
			continue
		}
		for _, w := range ps.Webhooks() {
			if !w.Matches(ev.Action) {
				continue
			}
			d := WebhookDelivery{
				ID:         newDeliveryID(),
				EventSeq:   ev.Seq,
				EventID:    fmt.Sprint(ev.Seq),
				EventType:  ev.Action,
				Resource:   ev.Resource,
				Revision:   ev.Revision,
				State:      DeliveryPending,
				CreateTime: ev.Time,
				UpdateTime: ev.Time,
			}
			if err := unsafeAddDelivery(tx, ev.Project, w.ID, &d); err != nil {
				return fmt.Errorf("queue delivery to %s: %w", WebhookName(ev.Project, w.ID), err)
			}
			p.deliveries = append(p.deliveries, DeliveryRef{Project: ev.Project, Webhook: w.ID, Seq: d.Seq})
		}
	}
	return nil
}

// newDeliveryID returns a random delivery id.
func newDeliveryID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// unsafeAddDelivery writes a new delivery to a webhook's log, setting its
// Seq.
func unsafeAddDelivery(tx *bolt.Tx, project, webhook string, d *WebhookDelivery) error {
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
	if d.Seq, err = b.NextSequence(); err != nil {
		return err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return b.Put(u64(d.Seq), data)
}

// PutWebhookDelivery records a later state of a delivery (matched by Seq
// and ID). It reports false, writing nothing, when the delivery is gone
// (its webhook was deleted). When d is finished it deletes the webhook's
// finished deliveries beyond the keep latest (keep > 0); unfinished ones
// are always kept.
func (s *Store) PutWebhookDelivery(project, webhook string, d *WebhookDelivery, keep int) (bool, error) {
	found := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := nested(tx, bucketDeliveries, project, webhook)
		if b == nil {
			return nil
		}
		var cur WebhookDelivery
		if v := b.Get(u64(d.Seq)); v == nil || json.Unmarshal(v, &cur) != nil || cur.ID != d.ID {
			return nil
		}
		found = true
		data, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := b.Put(u64(d.Seq), data); err != nil {
			return err
		}
		if d.Active() {
			return nil
		}
		// Trim: keys are in sequence order, the oldest first.
		var old [][]byte
		c := b.Cursor()
		n := 0
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var x WebhookDelivery
			if err := json.Unmarshal(v, &x); err == nil && x.Active() {
				continue
			}
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
		return false, fmt.Errorf("write delivery of %s: %w", WebhookName(project, webhook), err)
	}
	return found, nil
}

// WebhookDeliveryJob returns a delivery and the audit event it delivers;
// ok is false when the delivery is gone. A delivery whose event is missing
// from the audit log is returned (ok) with an error matching ErrNotFound.
func (s *Store) WebhookDeliveryJob(ref DeliveryRef) (d WebhookDelivery, ev AuditEvent, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := nested(tx, bucketDeliveries, ref.Project, ref.Webhook)
		if b == nil {
			return nil
		}
		v := b.Get(u64(ref.Seq))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("delivery %d: %w", ref.Seq, err)
		}
		ok = true
		a := tx.Bucket([]byte(bucketAudit)).Get(u64(d.EventSeq))
		if a == nil {
			return fmt.Errorf("delivery %d: audit event %d: %w", ref.Seq, d.EventSeq, ErrNotFound)
		}
		if err := json.Unmarshal(a, &ev); err != nil {
			return fmt.Errorf("delivery %d: audit event %d: %w", ref.Seq, d.EventSeq, err)
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("read delivery of %s: %w", WebhookName(ref.Project, ref.Webhook), err)
	}
	return d, ev, ok, err
}

// ActiveWebhookDeliveries returns every unfinished delivery of every
// webhook with the time its next attempt is due (a PENDING one: its
// creation).
func (s *Store) ActiveWebhookDeliveries() ([]DueDelivery, error) {
	var out []DueDelivery
	err := s.db.View(func(tx *bolt.Tx) error {
		top := tx.Bucket([]byte(bucketDeliveries))
		if top == nil {
			return nil
		}
		return top.ForEachBucket(func(project []byte) error {
			pb := top.Bucket(project)
			return pb.ForEachBucket(func(webhook []byte) error {
				return pb.Bucket(webhook).ForEach(func(k, v []byte) error {
					var d WebhookDelivery
					if err := json.Unmarshal(v, &d); err != nil {
						return fmt.Errorf("delivery %s/%s/%d: %w", project, webhook, fromU64(k), err)
					}
					if !d.Active() {
						return nil
					}
					due := d.CreateTime
					if d.NextRetry != nil {
						due = *d.NextRetry
					}
					out = append(out, DueDelivery{DeliveryRef: DeliveryRef{Project: string(project), Webhook: string(webhook), Seq: d.Seq}, Due: due})
					return nil
				})
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read unfinished webhook deliveries: %w", err)
	}
	return out, nil
}

// RedeliverWebhookDelivery starts a new delivery, with a new ID and its
// own attempts, of the event a finished delivery of a webhook delivered,
// and returns it (PENDING). A delivery that is not found fails with
// ErrNotFound; one still PENDING or RETRYING with ErrFailedPrecondition.
func (s *Store) RedeliverWebhookDelivery(project, webhook, id string) (WebhookDelivery, error) {
	name := WebhookName(project, webhook) + "/deliveries/" + id
	if ps, ok := s.State().Project(project); !ok {
		return WebhookDelivery{}, notFound(ProjectName(project))
	} else if _, _, ok := ps.Webhook(webhook); !ok {
		return WebhookDelivery{}, notFound(WebhookName(project, webhook))
	}
	var out WebhookDelivery
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := nested(tx, bucketDeliveries, project, webhook)
		if b == nil {
			return notFound(name)
		}
		var orig *WebhookDelivery
		err := b.ForEach(func(_, v []byte) error {
			var d WebhookDelivery
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			if d.ID == id {
				orig = &d
			}
			return nil
		})
		if err != nil {
			return err
		}
		switch {
		case orig == nil:
			return notFound(name)
		case orig.Active():
			return FailedPrecondition(name, "is %s: it is still being delivered", orig.State)
		}
		now := s.opts.Now().UTC()
		out = WebhookDelivery{
			ID:           newDeliveryID(),
			EventSeq:     orig.EventSeq,
			EventID:      orig.EventID,
			EventType:    orig.EventType,
			Resource:     orig.Resource,
			Revision:     orig.Revision,
			RedeliveryOf: orig.ID,
			State:        DeliveryPending,
			CreateTime:   now,
			UpdateTime:   now,
		}
		return unsafeAddDelivery(tx, project, webhook, &out)
	})
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("redeliver: %w", err)
	}
	return out, nil
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

// unsafeDeleteDeliveries deletes the delivery log of a webhook, or of
// every webhook of the project when webhook is "".
func unsafeDeleteDeliveries(tx *bolt.Tx, project, webhook string) error {
	parent := nested(tx, bucketDeliveries)
	name := project
	if webhook != "" {
		parent, name = nested(tx, bucketDeliveries, project), webhook
	}
	if parent == nil {
		return nil
	}
	if err := parent.DeleteBucket([]byte(name)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
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
