package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/bootstrap"
)

// reportHistory runs, on rs's clock (from 09:00), two releases from the
// canary model and leaves a draft without one:
//
//	a: start 09:00; the 1h wait gate is taken by the scheduler at 10:02
//	   (2 min late); an incident (high); stage 3 at 10:32; complete 10:37;
//	   review "success".
//	b: start 10:37; an incident (critical); rolled back 10:47; review
//	   "failure".
//	c: a draft.
func reportHistory(t *testing.T, rs *relServer, keys map[string]string) {
	t.Helper()
	rs.mustAs(t, keys["editor"], "POST", modelsPath, canaryModel)
	create := func(id, flag, variant string) {
		rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/releases", fmt.Sprintf(
			`{"id": %q, "environment": "production", "model": "canary", "release_notes": "n", "items": [{"flag": %q, "variant": %q}]}`, id, flag, variant))
	}
	create("a", "new-checkout", "on")
	rs.mustAs(t, keys["rm"], "POST", releasePath("a", "start"), `{}`)
	rs.clock.Add(62 * time.Minute)
	rs.waitRelease(t, "a", func(r map[string]any) bool { return stageOf(r) == 2 })
	rs.mustAs(t, keys["rm"], "POST", releasePath("a", "")+"/incidents", `{"severity": "high", "note": "checkout errors up 2 %"}`)
	if r := rs.as(t, keys["rm"], "PUT", releasePath("a", "")+"/review", `{"outcome": "success"}`); r.status != http.StatusBadRequest || errorCode(t, r) != "FAILED_PRECONDITION" {
		t.Errorf("review of a running release = %d %s, want 400 FAILED_PRECONDITION", r.status, r.body)
	}
	rs.clock.Add(30 * time.Minute)
	rs.mustAs(t, keys["rm"], "POST", releasePath("a", "advance"), `{}`)
	rs.clock.Add(5 * time.Minute)
	rs.mustAs(t, keys["rm"], "POST", releasePath("a", "advance"), `{}`)
	rs.mustAs(t, keys["rm2"], "PUT", releasePath("a", "")+"/review", `{"outcome": "success", "lessons_learned": "the wait gate was long enough"}`)

	create("b", "banner", "new")
	rs.mustAs(t, keys["rm"], "POST", releasePath("b", "start"), `{}`)
	rs.mustAs(t, keys["rm"], "POST", releasePath("b", "")+"/incidents", `{"severity": "critical", "note": "banner broke the page"}`)
	rs.clock.Add(10 * time.Minute)
	rs.mustAs(t, keys["rm"], "POST", releasePath("b", "rollback"), `{"reason": "broken page"}`)
	rs.mustAs(t, keys["rm"], "PUT", releasePath("b", "")+"/review", `{"outcome": "failure"}`)

	rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/releases",
		`{"id": "c", "environment": "production", "items": [{"flag": "sidebar", "variant": "on"}]}`)
}

func TestReleaseShowsStepsIncidentsAndReview(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	reportHistory(t, rs, keys)
	a := rs.mustAs(t, keys["viewer"], "GET", releasePath("a", ""), nil)
	steps := a["steps"].([]any)
	if len(steps) != 3 {
		t.Fatalf("steps = %v, want 3", steps)
	}
	want := []string{
		`{"enter_time":"2030-03-01T09:00:00Z","exit_time":"2030-03-01T10:02:00Z","gate":"manual","lead_time_seconds":3720,"name":"staff","stage":1,"state":"done"}`,
		`{"delay_seconds":120,"enter_time":"2030-03-01T10:02:00Z","exit_time":"2030-03-01T10:32:00Z","gate":"wait","late":true,"lead_time_seconds":1800,"name":"ten","planned_time":"2030-03-01T10:00:00Z","stage":2,"state":"done"}`,
		`{"enter_time":"2030-03-01T10:32:00Z","exit_time":"2030-03-01T10:37:00Z","gate":"manual","lead_time_seconds":300,"name":"all","stage":3,"state":"done"}`,
	}
	for i, st := range steps {
		if got := compact(t, st); got != want[i] {
			t.Errorf("steps[%d] = %s, want %s", i, got, want[i])
		}
	}
	incidents := a["incidents"].([]any)
	if got := compact(t, incidents); got != `[{"author":"rm","id":1,"note":"checkout errors up 2 %","severity":"high","stage":2,"time":"2030-03-01T10:02:00Z"}]` {
		t.Errorf("incidents = %s", got)
	}
	if got := compact(t, a["review"]); got != `{"author":"rm2","lessons_learned":"the wait gate was long enough","outcome":"success","time":"2030-03-01T10:37:00Z"}` {
		t.Errorf("review = %s", got)
	}
}

func TestReleaseIncidentAndReviewValidation(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", partialRelease)
	rs.mustAdmin(t, "POST", releasePath("partial", "start"), `{}`)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"incident without severity", "POST", "/incidents", `{"note": "n"}`, "incident.severity"},
		{"incident with an unknown severity", "POST", "/incidents", `{"severity": "sev1", "note": "n"}`, "incident.severity"},
		{"incident without a note", "POST", "/incidents", `{"severity": "low"}`, "incident.note"},
		{"review with an unknown outcome", "PUT", "/review", `{"outcome": "fine"}`, "review.outcome"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rs.admin(t, tc.method, releasePath("partial", "")+tc.path, tc.body)
			if r.status != http.StatusBadRequest || r.json(t)["field"] != tc.field {
				t.Errorf("%s = %d %s, want 400 naming %s", tc.path, r.status, r.body, tc.field)
			}
		})
	}
}

func TestReleaseReportEndToEnd(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	reportHistory(t, rs, keys)
	const day = "/api/v1/projects/default/release-report?start=2030-03-01T00:00:00Z&end=2030-03-02T00:00:00Z"
	rep := rs.mustAs(t, keys["viewer"], "GET", day, nil)
	overall := `{"backlog":{"DRAFT":1},"backlog_total":1,"ended":2,"incidents":{"critical":1,"high":1},"incidents_total":2,` +
		`"lead_times":[{"count":2,"mean_seconds":2160,"name":"staff","stage":1},{"count":1,"mean_seconds":1800,"name":"ten","stage":2},{"count":1,"mean_seconds":300,"name":"all","stage":3}],` +
		`"on_time_steps":1,"outcomes":{"COMPLETED":1,"ROLLED_BACK":1},"releases":3,"reviews":{"failure":1,"success":1},` +
		`"rollbacks":1,"schedule_adherence":1,"success_rate":0.5,"timed_steps":1}`
	if got := compact(t, rep["overall"]); got != overall {
		t.Errorf("overall =\n%s\nwant\n%s", got, overall)
	}
	byModel := rep["by_model"].([]any)
	if len(byModel) != 2 {
		t.Fatalf("by_model = %v, want the no-model group and canary", byModel)
	}
	if got := compact(t, byModel[0]); got != `{"backlog":{"DRAFT":1},"backlog_total":1,"releases":1}` {
		t.Errorf("by_model[0] (no model) = %s", got)
	}
	canary := byModel[1].(map[string]any)
	if canary["model"] != "canary" || canary["success_rate"] != 0.5 || canary["rollbacks"] != 1.0 || canary["backlog_total"] != nil {
		t.Errorf("by_model[1] = %v, want canary with success rate 0.5, one rollback and no backlog", canary)
	}
	if rep["tolerance"] != "300s" || rep["start"] != "2030-03-01T00:00:00Z" || rep["project"] != "default" {
		t.Errorf("report header = %v %v %v", rep["tolerance"], rep["start"], rep["project"])
	}

	strict := rs.mustAs(t, keys["viewer"], "GET", day+"&tolerance=60s&environment=production", nil)
	if o := strict["overall"].(map[string]any); o["schedule_adherence"] != 0.0 || o["on_time_steps"] != nil {
		t.Errorf("with a 60 s tolerance: %v, want adherence 0", o)
	}
	staging := rs.mustAs(t, keys["viewer"], "GET", day+"&environment=staging", nil)
	if o := staging["overall"].(map[string]any); len(o) != 0 {
		t.Errorf("staging overall = %v, want nothing", o)
	}
}

func TestReleaseReportRefusesABadPeriod(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	tests := []struct {
		name, query, field string
		status             int
	}{
		{"start after end", "?start=2030-03-02T00:00:00Z&end=2030-03-01T00:00:00Z", "start", http.StatusBadRequest},
		{"negative tolerance", "?tolerance=-5s", "tolerance", http.StatusBadRequest},
		{"unknown environment", "?environment=qa", "", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rs.admin(t, "GET", "/api/v1/projects/default/release-report"+tc.query, nil)
			if r.status != tc.status || (tc.field != "" && r.json(t)["field"] != tc.field) {
				t.Errorf("report%s = %d %s, want %d naming %q", tc.query, r.status, r.body, tc.status, tc.field)
			}
		})
	}
}

// compact is v as compact JSON with sorted keys.
func compact(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
