package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/switchyard/switchyard/internal/bootstrap"
)

const freezesPath = "/api/v1/projects/default/freezes"

// yearEnd is a freeze of production from 10:00 to 14:00 on the relClock's
// first day.
const yearEnd = `{"key": "year-end", "start_time": "2030-03-01T10:00:00Z", "end_time": "2030-03-01T14:00:00Z",
  "environments": ["production"], "reason": "year-end closing"}`

func TestFreezeCRUDNamesFieldsAndChecksEtags(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	bad := []struct {
		name, body, field string
	}{
		{"end before start", `{"key": "f", "start_time": "2030-03-02T00:00:00Z", "end_time": "2030-03-01T00:00:00Z", "reason": "r"}`, "freeze.end_time"},
		{"no reason", `{"key": "f", "start_time": "2030-03-01T00:00:00Z", "end_time": "2030-03-02T00:00:00Z"}`, "freeze.reason"},
		{"bad rule", `{"key": "f", "start_time": "2030-03-01T00:00:00Z", "end_time": "2030-03-02T00:00:00Z", "reason": "r", "rrule": "FREQ=NEVER"}`, "freeze.rrule"},
		{"bad zone", `{"key": "f", "start_time": "2030-03-01T00:00:00Z", "end_time": "2030-03-02T00:00:00Z", "reason": "r", "time_zone": "Nowhere/Town"}`, "freeze.time_zone"},
		{"unknown environment", `{"key": "f", "start_time": "2030-03-01T00:00:00Z", "end_time": "2030-03-02T00:00:00Z", "reason": "r", "environments": ["prod"]}`, "freeze.environments[0]"},
		{"unknown component", `{"key": "f", "start_time": "2030-03-01T00:00:00Z", "end_time": "2030-03-02T00:00:00Z", "reason": "r", "components": ["android"]}`, "freeze.components[0]"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := rs.admin(t, "POST", freezesPath, tc.body)
			if r.status != http.StatusBadRequest || r.json(t)["field"] != tc.field {
				t.Errorf("POST %s = %d %s, want 400 naming %s", tc.name, r.status, r.body, tc.field)
			}
		})
	}
	created := rs.mustAdmin(t, "POST", freezesPath, yearEnd)
	etag, _ := created["etag"].(string)
	if etag == "" || created["reason"] != "year-end closing" {
		t.Fatalf("created freeze = %v", created)
	}
	if list := rs.mustAdmin(t, "GET", freezesPath, nil); len(list["freezes"].([]any)) != 1 {
		t.Errorf("list = %v, want the one freeze", list)
	}
	upd := rs.mustAdmin(t, "PATCH", freezesPath+"/year-end", `{"reason": "closing the books", "etag": "`+etag+`"}`)
	if r := rs.admin(t, "PATCH", freezesPath+"/year-end", `{"reason": "again", "etag": "`+etag+`"}`); r.status != http.StatusConflict {
		t.Errorf("PATCH with a stale etag = %d %s, want 409", r.status, r.body)
	}
	audit := rs.mustAdmin(t, "GET", "/api/v1/audit-events?project=default&page_size=1", nil)
	if ev := audit["events"].([]any)[0].(map[string]any); ev["action"] != "freeze.update" {
		t.Errorf("last audit event = %v, want freeze.update", ev)
	}
	if r := rs.admin(t, "DELETE", freezesPath+"/year-end?etag="+upd["etag"].(string), nil); r.status != http.StatusOK {
		t.Errorf("DELETE = %d %s", r.status, r.body)
	}
	if r := rs.admin(t, "GET", freezesPath+"/year-end", nil); r.status != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d, want 404", r.status)
	}
}

func TestFreezeHoldsReleasesOverRESTAndOverrideNeedsASecondPerson(t *testing.T) {
	clk := newRelClock() // 09:00
	rs := startRelServer(t, "", clk, bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	rs.mustAdmin(t, "POST", freezesPath, yearEnd)
	rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/releases", stagedRelease)
	clk.Add(time.Hour) // 10:00: frozen

	r := rs.as(t, keys["rm"], "POST", releasePath("spring", "start"), `{}`)
	if r.status != http.StatusConflict || errorCode(t, r) != "ABORTED" || !strings.Contains(string(r.body), `freeze \"year-end\"`) {
		t.Fatalf("start inside a freeze = %d %s, want 409 naming the freeze", r.status, r.body)
	}
	asked := rs.mustAs(t, keys["rm"], "POST", releasePath("spring", "overrideFreeze"),
		`{"freeze": "year-end", "reason": "INC-12: the checkout fix must ship"}`)
	if ev := lastEvent(t, asked); ev["action"] != "request_override" || ev["freeze"] != "year-end" {
		t.Errorf("last event = %v, want request_override", ev)
	}
	if r := rs.as(t, keys["rm"], "POST", releasePath("spring", "approveFreezeOverride"), `{"freeze": "year-end"}`); r.status != http.StatusForbidden {
		t.Errorf("approval by the requester = %d %s, want 403", r.status, r.body)
	}
	approved := rs.mustAs(t, keys["rm2"], "POST", releasePath("spring", "approveFreezeOverride"), `{"freeze": "year-end"}`)
	o := approved["freeze_overrides"].([]any)[0].(map[string]any)
	if o["approver_principal"] != "rm2" || o["requester_principal"] != "rm" {
		t.Errorf("override = %v, want asked by rm, approved by rm2", o)
	}
	audit := rs.mustAdmin(t, "GET", "/api/v1/audit-events?project=default&page_size=1", nil)
	if ev := audit["events"].([]any)[0].(map[string]any); ev["action"] != "release.approve_override" {
		t.Errorf("last audit event = %v, want release.approve_override", ev)
	}
	started := rs.mustAs(t, keys["rm"], "POST", releasePath("spring", "start"), `{}`)
	if stageOf(started) != 1 {
		t.Errorf("start with an approved override: stage %d, want 1", stageOf(started))
	}
}

func TestFreezeHoldsAScheduledStepUntilItEnds(t *testing.T) {
	clk := newRelClock() // 09:00
	rs := startRelServer(t, "", clk, bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", freezesPath, yearEnd)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "timed", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "sidebar", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 100000, "gate": {"at": {"time": "2030-03-01T11:00:00Z"}}}]}`)
	rs.mustAdmin(t, "POST", releasePath("timed", "start"), `{}`)
	clk.Add(2*time.Hour + time.Minute) // 11:01: due, frozen
	held := rs.waitRelease(t, "timed", func(r map[string]any) bool { return lastEvent(t, r)["action"] == "hold" })
	if stageOf(held) != 1 {
		t.Fatalf("held release at stage %d, want 1", stageOf(held))
	}
	cal := rs.mustAdmin(t, "GET", "/api/v1/projects/default/calendar?from=2030-03-01T00:00:00Z&to=2030-03-02T00:00:00Z", nil)
	var heldStep map[string]any
	for _, s := range cal["steps"].([]any) {
		if s := s.(map[string]any); s["stage"] == float64(2) {
			heldStep = s
		}
	}
	if heldStep == nil || heldStep["state"] != "held" || heldStep["freeze"] != "year-end" {
		t.Errorf("calendar steps = %v, want stage 2 held by year-end", cal["steps"])
	}
	clk.Add(3 * time.Hour) // 14:01: the window has ended
	done := rs.waitRelease(t, "timed", func(r map[string]any) bool { return stageOf(r) == 2 })
	if ev := lastEvent(t, done); ev["freeze"] != "year-end" || ev["held_seconds"] == nil {
		t.Errorf("step after the freeze = %v, want it to say year-end held it and for how long", ev)
	}
}

func TestCalendarFlagsConflictsWhenThePlanIsMade(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", freezesPath, yearEnd)
	// "a" and "b" both release banner in production; b's second stage is
	// at 12:00, inside the freeze.
	a := rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "a", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "banner", "variant": "new"}],
	  "plan": [{"weight": 1000, "gate": {"at": {"time": "2030-03-02T09:00:00Z"}}}, {"weight": 100000, "gate": {"at": {"time": "2030-03-04T09:00:00Z"}}}]}`)
	if w := a["warnings"]; w != nil {
		t.Errorf("warnings of the first release = %v, want none", w)
	}
	b := rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "b", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "banner", "variant": "new"}, {"flag": "sidebar", "variant": "on"}],
	  "plan": [{"weight": 1000, "gate": {"at": {"time": "2030-03-01T12:00:00Z"}}}, {"weight": 100000, "gate": {"at": {"time": "2030-03-03T09:00:00Z"}}}]}`)
	kinds := map[string]map[string]any{}
	for _, w := range b["warnings"].([]any) {
		w := w.(map[string]any)
		kinds[w["kind"].(string)] = w
	}
	if ov := kinds["overlap"]; ov == nil || ov["item"] != "flags/banner" || !strings.Contains(ov["message"].(string), "a and b") {
		t.Errorf("warnings = %v, want an overlap of a and b on flags/banner", b["warnings"])
	}
	if fz := kinds["freeze"]; fz == nil || fz["freeze"] != "year-end" || fz["stage"] != float64(1) {
		t.Errorf("warnings = %v, want stage 1 inside year-end", b["warnings"])
	}
	cal := rs.mustAdmin(t, "GET", "/api/v1/projects/default/calendar?from=2030-03-01T00:00:00Z&to=2030-03-08T00:00:00Z", nil)
	if len(cal["steps"].([]any)) != 4 || len(cal["freezes"].([]any)) != 1 || len(cal["conflicts"].([]any)) != 2 {
		t.Errorf("calendar = %v, want 4 steps, 1 freeze, 2 conflicts", cal)
	}
	r := rs.admin(t, "GET", "/api/v1/projects/default/calendar?from=2030-03-01T00:00:00Z&to=2029-03-01T00:00:00Z", nil)
	if r.status != http.StatusBadRequest || r.json(t)["field"] != "to" {
		t.Errorf("calendar with to before from = %d %s, want 400 naming to", r.status, r.body)
	}
}

func TestCalendarFeedParsesAsICalendar(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	rs.mustAdmin(t, "POST", freezesPath, yearEnd)
	rs.mustAdmin(t, "POST", freezesPath, `{"key": "fridays", "start_time": "2030-03-01T16:00:00Z", "end_time": "2030-03-01T23:00:00Z",
	  "rrule": "FREQ=WEEKLY;BYDAY=FR", "time_zone": "Europe/Berlin", "reason": "no releases before the weekend, even; with commas"}`)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "a", "title": "Banner, new", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "banner", "variant": "new"}],
	  "plan": [{"weight": 1000, "gate": {"at": {"time": "2030-03-02T09:00:00Z"}}}, {"weight": 100000, "gate": {"wait": {"duration": "24h"}}}]}`)

	const feed = "/api/v1/projects/default/calendar.ics?from=2030-02-25T00:00:00Z&to=2030-03-25T00:00:00Z"
	if r := rs.call(t, "GET", feed+"&token="+rs.creds.AdminToken, "", "", nil); r.status != http.StatusForbidden {
		t.Errorf("feed with an admin token in the URL = %d %s, want 403", r.status, r.body)
	}
	if r := rs.call(t, "GET", feed, "", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("feed without a key = %d, want 401", r.status)
	}
	r := rs.call(t, "GET", feed+"&token="+keys["viewer"], "", "", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("feed with a viewer token = %d %s %s, want 200 text/calendar", r.status, r.header.Get("Content-Type"), r.body)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("ParseCalendar: %v\n%s", err, r.body)
	}
	events := map[string]*ics.VEvent{}
	for _, ev := range cal.Events() {
		events[ev.Id()] = ev
	}
	if len(events) != 4 {
		t.Fatalf("events %v, want 2 freezes and 2 steps:\n%s", events, r.body)
	}
	fri := events["freeze-fridays@default.switchyard"]
	if fri == nil || fri.GetProperty(ics.ComponentPropertyRrule).Value != "FREQ=WEEKLY;BYDAY=FR" ||
		fri.GetProperty(ics.ComponentPropertyDtStart).ICalParameters["TZID"][0] != "Europe/Berlin" ||
		fri.GetProperty(ics.ComponentPropertyDescription).Value != "no releases before the weekend, even; with commas" {
		t.Errorf("recurring freeze event = %+v", fri)
	}
	if tz := cal.Timezones(); len(tz) != 1 {
		t.Errorf("timezones = %v, want the VTIMEZONE of Europe/Berlin", tz)
	}
	step := events["release-a-stage-2@default.switchyard"]
	if step == nil {
		t.Fatalf("no event of release a's stage 2:\n%s", r.body)
	}
	if at, err := step.GetStartAt(); err != nil || !at.Equal(time.Date(2030, 3, 3, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("stage 2 starts at %v (%v), want 2030-03-03 09:00 UTC, 24 h after stage 1", at, err)
	}
	ye := events["freeze-year-end@default.switchyard"]
	if at, err := ye.GetEndAt(); err != nil || !at.Equal(time.Date(2030, 3, 1, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("year-end ends at %v (%v)", at, err)
	}
}
