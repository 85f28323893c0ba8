package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// bigSegment is a segment whose include list holds n keys, the first
// replaced by first.
func bigSegment(n int, first string) string {
	var b strings.Builder
	b.WriteString(`{"key": "beta", "include": [`)
	fmt.Fprintf(&b, "%q", first)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, `,"user-%07d"`, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

func TestAuditPagesOfLargeChangesStayReadable(t *testing.T) {
	ts := startServer(t)
	const keys = 25_000 // about 0.4 MB of JSON, 6 times the summary threshold
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/segments", bigSegment(keys, "user-0000000"))
	const updates = 4
	for i := 1; i <= updates; i++ {
		ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/segments/beta", bigSegment(keys, fmt.Sprintf("changed-%d", i)))
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := ts.admin(t, "GET", "/api/v1/audit-events?project=default&resource=projects/default/segments/beta", nil)
	runtime.ReadMemStats(&after)
	if r.status != http.StatusOK {
		t.Fatalf("GET audit-events = %d %.300s", r.status, r.body)
	}
	if len(r.body) > 1<<20 {
		t.Errorf("the audit page is %d bytes, want at most 1 MiB", len(r.body))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("reading the audit page allocated %d MB, want it bounded (< 64 MB)", alloc>>20)
	}
	var page struct {
		Events []struct {
			Action string          `json:"action"`
			Before json.RawMessage `json:"before"`
			After  json.RawMessage `json:"after"`
			Diff   struct {
				BeforeBytes string `json:"before_bytes"`
				AfterBytes  string `json:"after_bytes"`
				AfterSHA256 string `json:"after_sha256"`
				Changes     []struct {
					Path          string   `json:"path"`
					Change        string   `json:"change"`
					BeforeCount   string   `json:"before_count"`
					AfterCount    string   `json:"after_count"`
					Added         string   `json:"added"`
					Removed       string   `json:"removed"`
					AddedSample   []string `json:"added_sample"`
					RemovedSample []string `json:"removed_sample"`
				} `json:"changes"`
			} `json:"diff"`
		} `json:"events"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != updates+1 {
		t.Fatalf("%d events, want %d (the create and every update)", len(page.Events), updates+1)
	}
	for i, ev := range page.Events[:updates] {
		if len(ev.Before) != 0 || len(ev.After) != 0 || len(ev.Diff.Changes) != 1 || ev.Diff.AfterSHA256 == "" {
			t.Fatalf("event %d: %s, want only a diff summary", i, ev.Action)
		}
		c := ev.Diff.Changes[0]
		n := updates - i
		if c.Path != "include" || c.Change != "list" || c.Added != "1" || c.Removed != "1" ||
			c.BeforeCount != fmt.Sprint(keys) || c.AfterCount != fmt.Sprint(keys) ||
			fmt.Sprint(c.AddedSample) != fmt.Sprintf(`["changed-%d"]`, n) {
			t.Errorf("event %d: change %+v, want include: 1 added (changed-%d), 1 removed", i, c, n)
		}
	}
	if create := page.Events[updates]; create.Action != "segment.create" || create.Diff.Changes[0].Change != "added" || create.Diff.AfterBytes == "" {
		t.Errorf("create event = %+v, want a summary of what was added", create)
	}
}
