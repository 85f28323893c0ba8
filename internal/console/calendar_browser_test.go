package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowserCalendarShowsScheduleFreezesAndConflicts(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	srv.Admin(t, "POST", "/api/v1/projects/default/freezes", map[string]any{
		"key": "audit", "start_time": day.Add(10 * time.Hour), "end_time": day.Add(14 * time.Hour), "reason": "external audit",
	})
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", map[string]any{
		"id": "spring", "environment": "production", "release_notes": "n",
		"items": []any{map[string]any{"flag": "new-checkout", "variant": "on"}},
		"plan": []any{
			map[string]any{"name": "staff", "weight": 10000, "gate": map[string]any{"at": map[string]any{"time": day.Add(12 * time.Hour)}}},
			map[string]any{"name": "all", "weight": 100000, "gate": map[string]any{"wait": map[string]any{"duration": "24h"}}},
		},
	})

	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/calendar")
	if got := b.text(".banner.conflicts"); !strings.Contains(got, "1 conflict") || !strings.Contains(got, `inside freeze "audit"`) {
		t.Errorf("conflict banner = %q, want the staff stage inside the audit freeze", got)
	}
	rows := eval[[]string](b, `Array.from(document.querySelectorAll("table.schedule tbody tr")).map(r => r.textContent.replace(/\s+/g, " ").trim())`)
	if len(rows) != 2 || !strings.Contains(rows[0], "staff") || !strings.Contains(rows[0], "⚠ conflict") || !strings.Contains(rows[1], "all") ||
		strings.Contains(rows[1], "conflict") {
		t.Errorf("schedule rows = %q, want staff (with a conflict) then all (without)", rows)
	}
	if got := b.text("ul.freeze-windows li"); !strings.Contains(got, "audit") || !strings.Contains(got, "external audit") {
		t.Errorf("freeze window = %q", got)
	}
	b.shot("calendar")

	// A freeze whose end is before its start: the error is at the end field.
	b.do(chromedp.Click(chromedp.CSS("details.new-freeze summary")), chromedp.WaitVisible(chromedp.CSS("#f-key")))
	b.setValue("#f-key", "sale")
	b.setValue("#f-start_time", day.AddDate(0, 0, 3).Format("2006-01-02T15:04"))
	b.setValue("#f-end_time", day.AddDate(0, 0, 2).Format("2006-01-02T15:04"))
	b.setValue("#f-reason", "summer sale")
	b.submit(`form[action="/freezes"] button[type="submit"]`)
	if got := b.text("#f-end_time-err"); !strings.Contains(got, "not after start_time") {
		t.Errorf("end field error = %q, want it before the start", got)
	}
	b.setValue("#f-end_time", day.AddDate(0, 0, 4).Format("2006-01-02T15:04"))
	b.setValue("#f-environments", "production")
	b.submit(`form[action="/freezes"] button[type="submit"]`)
	if got := b.text(".banner.ok"); !strings.Contains(got, "Created freeze sale") {
		t.Errorf("notice = %q", got)
	}
	freezes := eval[[]string](b, `Array.from(document.querySelectorAll("table.freezes tbody th")).map(e => e.textContent)`)
	if strings.Join(freezes, ",") != "audit,sale" {
		t.Errorf("freezes = %v, want audit and sale", freezes)
	}
	b.submit(`form[action="/freezes/sale/delete"] button`)
	if got := b.text(".banner.ok"); !strings.Contains(got, "Deleted freeze sale") {
		t.Errorf("notice after delete = %q", got)
	}
}
