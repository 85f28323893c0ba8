package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// errPageFull stops the walk of ListAudit.
var errPageFull = errors.New("page full")

// AuditEvent is one entry of the audit log: one operation of a commit.
type AuditEvent struct {
	Seq       uint64    `json:"seq"` // position in the log, from 1, never reused
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor,omitempty"` // Actor.KeyID
	ActorName string    `json:"actor_name,omitempty"`
	Role      Role      `json:"role,omitempty"`
	Peer      string    `json:"peer,omitempty"`
	// Principal is the person or service the actor's key belongs to.
	Principal string `json:"principal,omitempty"`
	// Action is the resource kind and verb, e.g. "flag.update",
	// "flag.targeting.create", "project.import".
	Action      string `json:"action"`
	Resource    string `json:"resource"` // resource name, e.g. projects/shop/flags/x
	Project     string `json:"project,omitempty"`
	Environment string `json:"environment,omitempty"`
	// Revision is the revision the commit gave the environments this
	// operation changed; 0 if it changed none.
	Revision uint64 `json:"revision,omitempty"`
	// Before and After are the resource's JSON before and after the
	// operation; absent for a create and a delete respectively. In the
	// audit log (ListAudit), an operation whose before or after exceeds
	// AuditValueLimit has neither: Diff summarizes it instead.
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	Diff   *AuditDiff      `json:"diff,omitempty"`
}

// AuditFilter selects audit events for ListAudit.
type AuditFilter struct {
	// Project, if set, keeps the events of that project.
	Project string
	// Resource, if set, keeps the events on that resource and on the
	// resources below it: "projects/shop/flags/x" matches the flag and its
	// targeting, not "projects/shop/flags/xy".
	Resource string
	// Before, if set, keeps events with a Seq below it: pass the next
	// value returned by the previous ListAudit call.
	Before uint64
	// Limit is the page size: 0 means 100; at most 1000.
	Limit int
}

// Page sizes of ListAudit. A page also ends before its events' JSON
// would exceed MaxAuditPageBytes (it holds at least one event).
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
	MaxAuditPageBytes = 1 << 20
)

func (f AuditFilter) match(project, resource string) bool {
	if f.Project != "" && project != f.Project {
		return false
	}
	if f.Resource != "" && resource != f.Resource && !strings.HasPrefix(resource, f.Resource+"/") {
		return false
	}
	return true
}

// ListAudit returns audit events matching f, newest first, read from the
// database: at most f.Limit events and, past the first, no more than
// MaxAuditPageBytes of them. next is the Before of the following page, or 0
// when there are no more events. An event whose before or after exceeds
// AuditValueLimit comes summarized (AuditEvent.Diff).
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) (events []AuditEvent, next uint64, err error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	limit = min(limit, MaxAuditLimit)
	bytes := 0 // of the events listed, as stored
	from := ""
	if f.Before > 0 {
		if f.Before == 1 {
			return nil, 0, nil
		}
		from = hexKey(f.Before - 1)
	}
	n := 0
	err = s.backend.Range(ctx, Path{prefixAudit}, from, 0, true, func(r Record) error {
		k, v := r.Path[len(r.Path)-1], r.Value
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var head struct {
			Project  string `json:"project"`
			Resource string `json:"resource"`
		}
		if err := json.Unmarshal(v, &head); err != nil {
			return fmt.Errorf("audit event %s: %w", k, err)
		}
		if !f.match(head.Project, head.Resource) {
			return nil
		}
		if len(events) == limit {
			next = events[len(events)-1].Seq
			return errPageFull
		}
		var ev AuditEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			return fmt.Errorf("audit event %s: %w", k, err)
		}
		size := len(v)
		if len(ev.Before) > AuditValueLimit || len(ev.After) > AuditValueLimit {
			// Written before the log summarized large changes.
			ev = summarized(ev)
			data, _ := json.Marshal(ev)
			size = len(data)
		}
		if len(events) > 0 && bytes+size > MaxAuditPageBytes {
			next = events[len(events)-1].Seq
			return errPageFull
		}
		bytes += size
		events = append(events, ev)
		return nil
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	return events, next, nil
}
