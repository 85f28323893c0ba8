package benchmarks

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/switchyard/switchyard/server/servertest"
)

// releasePages are the release and experiment pages of the console.
var releasePages = []struct{ name, path string }{
	{"releases", "/releases"},
	{"release", "/releases/rel-000?project=default"},
	{"release-fragment", "/fragments/releases/rel-000/status?project=default"},
	{"release-new", "/new/release"},
	{"report", "/reports"},
	{"experiments", "/experiments"},
	{"experiment", "/experiments/exp-1?project=default"},
}

// seedReleasePages gives the release and experiment pages something to
// show: of the 100 draft releases, rel-000 runs at its second stage,
// rel-002 completed and rel-004 was rolled back; experiment exp-1 on
// flag-0998 runs with 2,000 exposed units, some of them converted.
func seedReleasePages(tb testing.TB, srv *servertest.Server) {
	tb.Helper()
	post := func(path string, body any) {
		tb.Helper()
		if r := srv.Call(tb, "POST", path, srv.Creds.AdminToken, body); r.Status != http.StatusOK {
			tb.Fatalf("POST %s = %d %.300s", path, r.Status, r.Body)
		}
	}
	rel := "/api/v1/projects/default/releases/"
	for _, step := range []string{"rel-000:start", "rel-000:advance", "rel-002:start", "rel-002:advance", "rel-002:advance", "rel-004:start", "rel-004:rollback"} {
		post(rel+step, map[string]any{})
	}
	post("/api/v1/projects/default/metrics", map[string]any{"key": "purchase", "kind": "conversion"})
	post("/api/v1/projects/default/experiments", map[string]any{
		"id": "exp-1", "title": "Experiment 1", "hypothesis": "on converts better", "environment": "production", "flag": "flag-0998",
		"control": map[string]any{"variant": "off", "weight": 50000}, "treatments": []any{map[string]any{"variant": "on", "weight": 50000}},
		"traffic_share": 100000, "primary_metric": "purchase", "min_sample_size": 1000,
	})
	post("/api/v1/projects/default/experiments/exp-1:start", map[string]any{})
	var events []any
	for i := range 2000 {
		unit, variant := fmt.Sprintf("u%d", i), []string{"off", "on"}[i%2]
		events = append(events, map[string]any{"exposure": map[string]any{"flag": "flag-0998", "variant": variant, "unit": unit, "experiment": "exp-1"}})
		if i%7 == 0 {
			events = append(events, map[string]any{"track": map[string]any{"key": "purchase", "unit": unit}})
		}
	}
	post("/api/v1/events", map[string]any{"project": "default", "environment": "production", "events": events})
}
