package server_test

import (
	"bufio"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/bootstrap"
)

// metricsOf scrapes /metrics and returns its samples by series
// ("name{labels}"), checking every line against the text format.
func metricsOf(t *testing.T, ts *testServer) map[string]string {
	t.Helper()
	r := ts.call(t, "GET", "/metrics", "", "", nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics = %d %q", r.status, r.header.Get("Content-Type"))
	}
	comment := regexp.MustCompile(`^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (counter|gauge))$`)
	sample := regexp.MustCompile(`^([a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})?) (-?[0-9.e+]+|[+-]Inf|NaN)$`)
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(r.body)))
	for sc.Scan() {
		line := sc.Text()
		if comment.MatchString(line) {
			continue
		}
		m := sample.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("/metrics line %q is not in the text format", line)
		}
		out[m[1]] = m[4]
	}
	return out
}

func TestMetricsCountARollback(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	const rollbacks = `switchyard_release_rollbacks_total{project="default"}`
	if got, ok := metricsOf(t, rs.testServer)[rollbacks]; ok {
		t.Fatalf("before any rollback: %s %s", rollbacks, got)
	}
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", stagedRelease)
	rs.mustAdmin(t, "POST", releasePath("spring", "start"), `{}`)
	rs.mustAdmin(t, "POST", releasePath("spring", "rollback"), `{"reason": "errors"}`)
	m := metricsOf(t, rs.testServer)
	for series, want := range map[string]string{
		rollbacks: "1",
		`switchyard_release_transitions_total{project="default",action="start",outcome="IN_PROGRESS"}`:     "1",
		`switchyard_release_transitions_total{project="default",action="roll_back",outcome="ROLLED_BACK"}`: "1",
		`switchyard_releases{project="default",state="ROLLED_BACK"}`:                                       "1",
		`switchyard_releases{project="default",state="IN_PROGRESS"}`:                                       "0",
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
}

func TestMetricsCountIncidentsAndLateSteps(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	reportHistory(t, rs, rs.roleKeys(t))
	m := metricsOf(t, rs.testServer)
	for series, want := range map[string]string{
		`switchyard_release_incidents_total{project="default",severity="critical"}`:                     "1",
		`switchyard_release_incidents_total{project="default",severity="high"}`:                         "1",
		`switchyard_release_late_steps_total{project="default"}`:                                        "1",
		`switchyard_release_transitions_total{project="default",action="complete",outcome="COMPLETED"}`: "1",
		`switchyard_releases{project="default",state="DRAFT"}`:                                          "1",
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
}

func TestMetricsCountEvaluationRequests(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/documents:import", releaseDoc)
	for range 3 {
		r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags/new-checkout", "Authorization", ts.creds.SDKKey, `{"context": {"targetingKey": "u1"}}`)
		if r.status != http.StatusOK {
			t.Fatalf("OFREP = %d %s", r.status, r.body)
		}
	}
	m := metricsOf(t, ts)
	if got := m[`switchyard_evaluation_requests_total{api="ofrep"}`]; got != "3" {
		t.Errorf("OFREP requests = %q, want 3", got)
	}
	if got := m[`switchyard_evaluation_requests_total{api="grpc"}`]; got != "0" {
		t.Errorf("gRPC evaluation requests = %q, want 0", got)
	}
}
