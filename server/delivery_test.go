package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/bootstrap"
)

// deliveryHistory runs four one-stage releases on rs's clock, from
// Friday 2030-03-01 09:00:
//
//	a  new-checkout  start 03-01 09:00, complete 12:00 (lead 3h)
//	b  banner        start 12:00, incident 12:30, rollback 13:30 (restore 1h)
//	c  sidebar       start 13:30, complete 03-08 13:30 (lead 7 days);
//	                 incident 03-09 13:30, within 7 days: a failed change
//	d  new-checkout  scheduled for 03-09 14:30, started by the scheduler
//	                 at 14:32 (on time), complete 15:00 (lead 28 min)
func deliveryHistory(t *testing.T, rs *relServer, keys map[string]string) {
	t.Helper()
	create := func(id, flag, variant string) {
		rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/releases", fmt.Sprintf(
			`{"id": %q, "environment": "production", "release_notes": "n", "items": [{"flag": %q, "variant": %q}], "plan": [{"weight": 100000}]}`,
			id, flag, variant))
	}
	step := func(id, verb, body string) { rs.mustAs(t, keys["rm"], "POST", releasePath(id, verb), body) }
	create("a", "new-checkout", "on")
	step("a", "start", `{}`)
	rs.clock.Add(3 * time.Hour)
	step("a", "advance", `{}`)

	create("b", "banner", "new")
	step("b", "start", `{}`)
	rs.clock.Add(30 * time.Minute)
	rs.mustAs(t, keys["rm"], "POST", releasePath("b", "")+"/incidents", `{"severity": "high", "note": "banner broke the page"}`)
	rs.clock.Add(time.Hour)
	step("b", "rollback", `{"reason": "broken page"}`)

	create("c", "sidebar", "on")
	step("c", "start", `{}`)
	rs.clock.Add(7 * 24 * time.Hour)
	step("c", "advance", `{}`)
	rs.clock.Add(24 * time.Hour)
	rs.mustAs(t, keys["rm"], "POST", releasePath("c", "")+"/incidents", `{"severity": "medium", "note": "sidebar hides the cart"}`)

	create("d", "new-checkout", "off")
	step("d", "start", `{"start_time": "2030-03-09T14:30:00Z"}`)
	rs.clock.Add(62 * time.Minute)
	rs.waitRelease(t, "d", func(r map[string]any) bool { return r["state"] == "IN_PROGRESS" })
	rs.clock.Add(28 * time.Minute)
	step("d", "advance", `{}`)
}

func TestDeliveryMetricsEndToEnd(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	deliveryHistory(t, rs, keys)
	const path = "/api/v1/projects/default/delivery?period=14d&end=2030-03-15T09:00:00Z"
	got := rs.mustAs(t, keys["viewer"], "GET", path, nil)

	// Lead times 3h, 7d, 28min: median 3h. Failed b and c of 4 changes;
	// 3 completed in 2 weeks.
	want := map[string]string{
		"release_frequency":   `1.5`,
		"lead_time":           `{"count":3,"median_seconds":10800}`,
		"change_failure_rate": `0.5`,
		"time_to_restore":     `{"count":1,"median_seconds":3600}`,
		"completed":           `3`,
		"rolled_back":         `1`,
		"changes":             `4`,
		"failed_changes":      `2`,
		"schedule_adherence":  `1`,
		"start":               `"2030-03-01T09:00:00Z"`,
		"incident_window":     `"604800s"`,
	}
	for field, w := range want {
		if g := compact(t, got[field]); g != w {
			t.Errorf("%s = %s, want %s", field, g, w)
		}
	}
	weeks := []string{
		`{"change_failure_rate":0.5,"changes":2,"completed":1,"failed_changes":1,"lead_time":{"count":1,"median_seconds":10800},` +
			`"rolled_back":1,"start":"2030-03-01T09:00:00Z","time_to_restore":{"count":1,"median_seconds":3600}}`,
		// Lead times 7d and 28 min: their mean is the median of two.
		`{"change_failure_rate":0.5,"changes":2,"completed":2,"failed_changes":1,"lead_time":{"count":2,"median_seconds":303240},` +
			`"on_time_steps":1,"schedule_adherence":1,"start":"2030-03-08T09:00:00Z","timed_steps":1}`,
	}
	gotWeeks, _ := got["weeks"].([]any)
	if len(gotWeeks) != len(weeks) {
		t.Fatalf("weeks = %v, want %d", gotWeeks, len(weeks))
	}
	for i, w := range weeks {
		if g := compact(t, gotWeeks[i]); g != w {
			t.Errorf("weeks[%d] =\n%s\nwant\n%s", i, g, w)
		}
	}
	if envs, _ := got["by_environment"].([]any); len(envs) != 1 || envs[0].(map[string]any)["environment"] != "production" {
		t.Errorf("by_environment = %v, want production alone", envs)
	}

	// The first week alone, with a one-hour incident window: c's incident
	// a day after completion no longer counts, and c is not in it anyway.
	first := rs.mustAs(t, keys["viewer"], "GET", "/api/v1/projects/default/delivery?period=1w&end=2030-03-08T09:00:00Z&incident_window=3600s", nil)
	if g := compact(t, first["change_failure_rate"]); g != "0.5" || first["release_frequency"] != 1.0 {
		t.Errorf("first week: change failure rate %s, frequency %v; want 0.5 and 1", g, first["release_frequency"])
	}
	staging := rs.mustAs(t, keys["viewer"], "GET", "/api/v1/projects/default/delivery?period=14d&end=2030-03-15T09:00:00Z&environment=staging", nil)
	if staging["completed"] != nil || staging["release_frequency"] != 0.0 || staging["lead_time"] != nil {
		t.Errorf("staging = %v, want nothing measured", staging)
	}
}

func TestDeliveryMetricsRefuseBadInput(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	tests := []struct {
		name, query, field string
		status             int
	}{
		{"a period without a unit", "?period=90", "period", http.StatusBadRequest},
		{"a negative period", "?period=-3d", "period", http.StatusBadRequest},
		{"a period too long", "?period=5000d", "period", http.StatusBadRequest},
		{"a negative incident window", "?incident_window=-1s", "incident_window", http.StatusBadRequest},
		{"a negative tolerance", "?tolerance=-1s", "tolerance", http.StatusBadRequest},
		{"unknown environment", "?environment=qa", "", http.StatusNotFound},
		{"unknown release model", "?model=nope", "", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rs.admin(t, "GET", "/api/v1/projects/default/delivery"+tc.query, nil)
			if r.status != tc.status || (tc.field != "" && r.json(t)["field"] != tc.field) {
				t.Errorf("delivery%s = %d %s, want %d naming %q", tc.query, r.status, r.body, tc.status, tc.field)
			}
		})
	}
}
