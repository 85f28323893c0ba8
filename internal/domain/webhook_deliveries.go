package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Webhook deliveries are an outbox and a log at once. The commit that
// appends an audit event also writes, in the same Change, a
// PENDING delivery of it to every webhook of its project whose filter
// matches (Commit.Deliveries names them), so that no event is lost to a
// crash or a stop: the deliverer resumes every PENDING and RETRYING
// delivery when it starts (ActiveWebhookDeliveries). The deliverer then
// records each attempt (PutWebhookDelivery); never audited, never bumping
// a revision. Each webhook keeps its latest finished deliveries only, and
// every unfinished one. Deleting a webhook or its project deletes its log
// in the deleting commit.
//
//	webhook_deliveries/{project}/{webhook}/{seq: 16 hex digits} → WebhookDelivery
//	                                 (seq: one above the webhook's last delivery)
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

// deliveriesPath is the log of a webhook's deliveries, or of every webhook
// of the project when webhook is "".
func deliveriesPath(project, webhook string) Path {
	if webhook == "" {
		return Path{bucketDeliveries, project}
	}
	return Path{bucketDeliveries, project, webhook}
}

// nextDelivery returns the Seq the next delivery of a webhook gets: one
// above the last one logged.
func (s *Store) nextDelivery(ctx context.Context, project, webhook string) (uint64, error) {
	var last uint64
	err := s.backend.Range(ctx, deliveriesPath(project, webhook), "", 1, true, func(r Record) error {
		last, _ = parseHex(r.Path[len(r.Path)-1])
		return nil
	})
	return last + 1, err
}

// encodeDeliveries appends a PENDING delivery of each of the plan's events
// to each webhook of the event's project that matches it, with a
// precondition that its record is new, and deletes the logs of the webhooks
// and projects the plan deletes. It records the deliveries in
// p.deliveries.
func (s *Store) encodeDeliveries(ctx context.Context, c *Change, p *plan) error {
	o := (*ops)(&c.Ops)
	next := map[DeliveryRef]uint64{} // by project and webhook, Seq 0
	for _, ev := range p.events {
		if ev.Project == "" {
			continue
		}
		switch ev.Action {
		case "project.delete":
			o.tree(deliveriesPath(ev.Project, ""))
		case "webhook.delete":
			if id, ok := strings.CutPrefix(ev.Resource, WebhookName(ev.Project, "")); ok && id != "" {
				o.tree(deliveriesPath(ev.Project, id))
				for ref := range next {
					if ref.Project == ev.Project && ref.Webhook == id {
						next[ref] = 1 // the log starts again
					}
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
			ref := DeliveryRef{Project: ev.Project, Webhook: w.ID}
			seq, ok := next[ref]
			if !ok {
				var err error
				if seq, err = s.nextDelivery(ctx, ev.Project, w.ID); err != nil {
					return fmt.Errorf("queue delivery to %s: %w", WebhookName(ev.Project, w.ID), err)
				}
			}
			next[ref] = seq + 1
			d := WebhookDelivery{
				Seq:        seq,
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
			path := deliveriesPath(ev.Project, w.ID).Child(hexKey(seq))
			if err := o.putJSON(path, &d); err != nil {
				return fmt.Errorf("queue delivery to %s: %w", WebhookName(ev.Project, w.ID), err)
			}
			c.Conds = append(c.Conds, Cond{Path: path})
			ref.Seq = seq
			p.deliveries = append(p.deliveries, ref)
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

// maxDeliveryTries bounds the attempts of a delivery log write that other
// writers keep overtaking.
const maxDeliveryTries = 10

// deliveryLog is a webhook's deliveries as stored, oldest first.
type deliveryLog struct {
	path    Path
	records []Record
	items   []WebhookDelivery
}

func (s *Store) readDeliveries(ctx context.Context, project, webhook string) (*deliveryLog, error) {
	l := &deliveryLog{path: deliveriesPath(project, webhook)}
	err := s.backend.Range(ctx, l.path, "", 0, false, func(r Record) error {
		var d WebhookDelivery
		if err := json.Unmarshal(r.Value, &d); err != nil {
			return fmt.Errorf("delivery %s: %w", r.Path[len(r.Path)-1], err)
		}
		l.records = append(l.records, r)
		l.items = append(l.items, d)
		return nil
	})
	return l, err
}

// PutWebhookDelivery records a later state of a delivery (matched by Seq
// and ID). It reports false, writing nothing, when the delivery is gone
// (its webhook was deleted). When d is finished it deletes the webhook's
// finished deliveries beyond the keep latest (keep > 0); unfinished ones
// are always kept.
func (s *Store) PutWebhookDelivery(project, webhook string, d *WebhookDelivery, keep int) (bool, error) {
	ctx := context.Background()
	for try := 1; ; try++ {
		found, err := s.putDelivery(ctx, project, webhook, d, keep)
		if errors.Is(err, ErrCondition) && try < maxDeliveryTries {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("write delivery of %s: %w", WebhookName(project, webhook), err)
		}
		return found, nil
	}
}

func (s *Store) putDelivery(ctx context.Context, project, webhook string, d *WebhookDelivery, keep int) (bool, error) {
	l, err := s.readDeliveries(ctx, project, webhook)
	if err != nil {
		return false, err
	}
	path := l.path.Child(hexKey(d.Seq))
	i := slices.IndexFunc(l.records, func(r Record) bool { return r.Path[len(r.Path)-1] == path[len(path)-1] })
	if i < 0 || l.items[i].ID != d.ID {
		return false, nil
	}
	data, err := json.Marshal(d)
	if err != nil {
		return false, err
	}
	c := Change{Conds: []Cond{{Path: path, Value: l.records[i].Value}}}
	o := (*ops)(&c.Ops)
	o.put(path, data)
	if !d.Active() {
		// Trim: the newest finished ones are kept.
		l.items[i] = *d
		n := 0
		for j := len(l.items) - 1; j >= 0; j-- {
			if l.items[j].Active() {
				continue
			}
			if n++; n > keep {
				o.del(l.records[j].Path)
			}
		}
	}
	_, err = s.apply(ctx, c)
	return true, err
}

// WebhookDeliveryJob returns a delivery and the audit event it delivers;
// ok is false when the delivery is gone. A delivery whose event is missing
// from the audit log is returned (ok) with an error matching ErrNotFound.
func (s *Store) WebhookDeliveryJob(ref DeliveryRef) (d WebhookDelivery, ev AuditEvent, ok bool, err error) {
	ctx := context.Background()
	err = func() error {
		v, err := s.backend.Get(ctx, deliveriesPath(ref.Project, ref.Webhook).Child(hexKey(ref.Seq)))
		if err != nil || v == nil {
			return err
		}
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("delivery %d: %w", ref.Seq, err)
		}
		ok = true
		a, err := s.backend.Get(ctx, auditPath(d.EventSeq))
		if err != nil {
			return err
		}
		if a == nil {
			return fmt.Errorf("delivery %d: audit event %d: %w", ref.Seq, d.EventSeq, ErrNotFound)
		}
		if err := json.Unmarshal(a, &ev); err != nil {
			return fmt.Errorf("delivery %d: audit event %d: %w", ref.Seq, d.EventSeq, err)
		}
		return nil
	}()
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
	_, err := s.backend.Load(context.Background(), Path{bucketDeliveries}, func(r Record) error {
		if len(r.Path) != 4 {
			return nil
		}
		var d WebhookDelivery
		if err := json.Unmarshal(r.Value, &d); err != nil {
			return fmt.Errorf("delivery %s: %w", r.Path, err)
		}
		if !d.Active() {
			return nil
		}
		due := d.CreateTime
		if d.NextRetry != nil {
			due = *d.NextRetry
		}
		out = append(out, DueDelivery{DeliveryRef: DeliveryRef{Project: r.Path[1], Webhook: r.Path[2], Seq: d.Seq}, Due: due})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read unfinished webhook deliveries: %w", err)
	}
	return out, nil
}

// RedeliverWebhookDelivery starts a new delivery, with a new ID and its
// own attempts, of the event a finished delivery of a webhook delivered,
// and returns it (PENDING). A delivery that is not found fails with
// ErrNotFound; one still PENDING or RETRYING, or whose event the audit
// retention deleted (PruneAudit), with ErrFailedPrecondition.
func (s *Store) RedeliverWebhookDelivery(project, webhook, id string) (WebhookDelivery, error) {
	name := WebhookName(project, webhook) + "/deliveries/" + id
	if ps, ok := s.State().Project(project); !ok {
		return WebhookDelivery{}, notFound(ProjectName(project))
	} else if _, _, ok := ps.Webhook(webhook); !ok {
		return WebhookDelivery{}, notFound(WebhookName(project, webhook))
	}
	ctx := context.Background()
	for try := 1; ; try++ {
		out, err := s.redeliver(ctx, project, webhook, id, name)
		if errors.Is(err, ErrCondition) && try < maxDeliveryTries {
			continue
		}
		if err != nil {
			return WebhookDelivery{}, fmt.Errorf("redeliver: %w", err)
		}
		return out, nil
	}
}

func (s *Store) redeliver(ctx context.Context, project, webhook, id, name string) (WebhookDelivery, error) {
	l, err := s.readDeliveries(ctx, project, webhook)
	if err != nil {
		return WebhookDelivery{}, err
	}
	i := slices.IndexFunc(l.items, func(d WebhookDelivery) bool { return d.ID == id })
	switch {
	case i < 0:
		return WebhookDelivery{}, notFound(name)
	case l.items[i].Active():
		return WebhookDelivery{}, FailedPrecondition(name, "is %s: it is still being delivered", l.items[i].State)
	}
	orig := l.items[i]
	if ev, err := s.backend.Get(ctx, auditPath(orig.EventSeq)); err != nil {
		return WebhookDelivery{}, err
	} else if ev == nil {
		return WebhookDelivery{}, FailedPrecondition(name, "its event %d is no longer in the audit log (older than the audit retention)", orig.EventSeq)
	}
	now := s.opts.Now().UTC()
	out := WebhookDelivery{
		Seq:          l.items[len(l.items)-1].Seq + 1,
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
	path := l.path.Child(hexKey(out.Seq))
	c := Change{Conds: []Cond{{Path: path}}}
	if err := (*ops)(&c.Ops).putJSON(path, &out); err != nil {
		return WebhookDelivery{}, err
	}
	if _, err := s.apply(ctx, c); err != nil {
		return WebhookDelivery{}, err
	}
	return out, nil
}

// WebhookDeliveries returns a webhook's deliveries, newest first, at most
// limit (all when limit <= 0).
func (s *Store) WebhookDeliveries(project, webhook string, limit int) ([]WebhookDelivery, error) {
	var out []WebhookDelivery
	err := s.backend.Range(context.Background(), deliveriesPath(project, webhook), "", limit, true, func(r Record) error {
		var d WebhookDelivery
		if err := json.Unmarshal(r.Value, &d); err != nil {
			return fmt.Errorf("delivery %s: %w", r.Path[len(r.Path)-1], err)
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read deliveries of %s: %w", WebhookName(project, webhook), err)
	}
	return out, nil
}
