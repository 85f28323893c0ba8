package console

import (
	"net/http"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// auditPage is the audit log of the current project, newest first,
// filtered by resource (prefix, as the API filters) and actor.
type auditPage struct {
	Layout
	Resource string
	Actor    string
	Entries  []auditEntry
	// Next continues the listing after the last entry shown.
	Next string
}

type auditEntry struct {
	Seq                           uint64
	Time, Actor, Role, Peer       string
	Action, Resource, Environment string
	Revision                      uint64
	Diff                          []diffLine
	Added, Removed                int
}

const (
	auditPageSize = 25
	// auditScanPages bounds the pages read to fill one page when the actor
	// filter (applied here; the API filters by resource) skips entries.
	auditScanPages = 20
	// auditDiffLines bounds the diff shown per entry.
	auditDiffLines = 40
)

func (c *Console) auditLog(w http.ResponseWriter, r *http.Request, s *Session) {
	p := &auditPage{Layout: c.layout(r, s, "Audit log", "audit")}
	q := r.URL.Query()
	p.Resource, p.Actor = strings.TrimSpace(q.Get("resource")), strings.TrimSpace(q.Get("actor"))
	token := q.Get("page")
	actor := strings.ToLower(p.Actor)
	for range auditScanPages {
		resp, err := c.api.audit.ListAuditEvents(call(r, s), &pb.ListAuditEventsRequest{
			Project: p.Project, Resource: p.Resource, PageSize: auditPageSize, PageToken: token,
		})
		if err != nil {
			c.apiFail(w, r, s, err)
			return
		}
		for _, ev := range resp.GetEvents() {
			if actor != "" && !strings.Contains(strings.ToLower(ev.GetActor()), actor) {
				continue
			}
			p.Entries = append(p.Entries, entryOf(ev))
		}
		token = resp.GetNextPageToken()
		if token == "" || len(p.Entries) >= auditPageSize {
			break
		}
	}
	p.Next = token
	c.render(w, http.StatusOK, "audit", p)
}

func entryOf(ev *pb.AuditEvent) auditEntry {
	e := auditEntry{
		Seq: ev.GetSeq(), Actor: ev.GetActor(), Role: ev.GetRole(), Peer: ev.GetPeer(),
		Action: ev.GetAction(), Resource: ev.GetResource(), Environment: ev.GetEnvironment(), Revision: ev.GetRevision(),
	}
	if ev.GetTime() != nil {
		e.Time = ev.GetTime().AsTime().UTC().Format("2006-01-02 15:04:05 UTC")
	}
	full := diffLines(valueLines(ev.GetBefore()), valueLines(ev.GetAfter()))
	for _, l := range full {
		switch l.Op {
		case "add":
			e.Added++
		case "del":
			e.Removed++
		}
	}
	e.Diff = compactDiff(full, 3, auditDiffLines)
	return e
}

// valueLines is a JSON value as canonical lines; absent is no lines.
func valueLines(v *structpb.Value) []string {
	if v == nil {
		return nil
	}
	if _, isNull := v.GetKind().(*structpb.Value_NullValue); isNull {
		return nil
	}
	return canonicalJSON(v)
}
