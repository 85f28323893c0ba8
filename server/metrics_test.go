package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	promodel "github.com/prometheus/common/model"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/buildinfo"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/server/servertest"
)

// metricsOf scrapes /metrics, checks the exposition with promtool's lint
// rules, and returns its samples by series ("name{labels}", labels sorted
// by name; a histogram as its _count and _sum).
func metricsOf(t *testing.T, ts *testServer) map[string]string {
	t.Helper()
	r := ts.call(t, "GET", "/metrics", "", "", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics = %d %q", r.status, r.header.Get("Content-Type"))
	}
	problems, err := promlint.New(bytes.NewReader(r.body)).Lint()
	if err != nil {
		t.Fatalf("lint /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(promodel.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]string{}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			series := name
			if len(labels) > 0 {
				series += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[series] = fmt.Sprint(m.GetCounter().GetValue())
			case m.GetGauge() != nil:
				out[series] = fmt.Sprint(m.GetGauge().GetValue())
			case m.GetHistogram() != nil:
				out[strings.Replace(series, name, name+"_count", 1)] = fmt.Sprint(m.GetHistogram().GetSampleCount())
			}
		}
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
		`switchyard_release_transitions_total{action="start",outcome="IN_PROGRESS",project="default"}`:     "1",
		`switchyard_release_transitions_total{action="roll_back",outcome="ROLLED_BACK",project="default"}`: "1",
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
		`switchyard_release_transitions_total{action="complete",outcome="COMPLETED",project="default"}`: "1",
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

func TestMetricsAfterTraffic(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	ts := wrap(srv)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	sdk := ts.creds.SDKKey
	for _, path := range []string{"/ofrep/v1/evaluate/flags/new-checkout", "/ofrep/v1/evaluate/flags"} {
		if r := ts.call(t, "POST", path, "X-API-Key", sdk, `{"context":{"targetingKey":"user-1"}}`); r.status != http.StatusOK {
			t.Fatalf("POST %s = %d %s", path, r.status, r.body)
		}
	}
	if _, err := sdkpb.NewEvaluationServiceClient(ts.conn).Evaluate(rpcContext(sdk), &sdkpb.EvaluateRequest{Flag: "new-checkout"}); err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if r := ts.call(t, "GET", "/no/such/page", "", "", nil); r.status != http.StatusNotFound {
		t.Fatalf("GET /no/such/page = %d", r.status)
	}
	if _, err := sdkpb.NewEventServiceClient(ts.conn).SendEvents(rpcContext(sdk), &sdkpb.SendEventsRequest{
		Events: []*sdkpb.Event{exposureEvent("on", "user-1", time.Now())},
	}); err != nil {
		t.Fatalf("SendEvents: %v", err)
	}
	stream := syncStream(t, srv, sdk, &sdkpb.Hello{SdkName: "switchyard-go"})
	recvRuleset(t, stream)

	m := metricsOf(t, ts)
	revision := srv.Rulesets.Get("default", "production").Revision
	bi := buildinfo.Get()
	for series, want := range map[string]string{
		`switchyard_evaluation_requests_total{api="ofrep"}`:                                                                   "2",
		`switchyard_evaluation_requests_total{api="grpc"}`:                                                                    "1",
		`switchyard_flag_evaluations_total{environment="production",flag="new-checkout",project="default",reason="DISABLED"}`: "3",
		`switchyard_request_duration_seconds_count{api="ofrep",code="200",route="/ofrep/v1/evaluate/flags/{key}"}`:            "1",
		`switchyard_request_duration_seconds_count{api="ofrep",code="200",route="/ofrep/v1/evaluate/flags"}`:                  "1",
		`switchyard_request_duration_seconds_count{api="rest",code="200",route="/api/v1/projects/{project}/flags"}`:           "1",
		`switchyard_request_duration_seconds_count{api="console",code="404",route="/"}`:                                       "1",
		`switchyard_request_duration_seconds_count{api="grpc",code="OK",route="/switchyard.v1.EvaluationService/Evaluate"}`:   "1",
		`switchyard_environment_revision{environment="production",project="default"}`:                                         fmt.Sprint(revision),
		`switchyard_sync_streams{environment="production",kind="sdk",project="default"}`:                                      "1",
		`switchyard_sync_streams{environment="production",kind="relay",project="default"}`:                                    "0",
		`switchyard_events_ingested_total{result="accepted"}`:                                                                 "1",
		fmt.Sprintf(`switchyard_build_info{commit=%q,goversion=%q,version=%q}`, bi.Commit, bi.GoVersion, bi.Version):          "1",
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
	for _, series := range []string{"switchyard_store_transaction_duration_seconds_count", "go_goroutines", "process_cpu_seconds_total"} {
		if m[series] == "" || m[series] == "0" {
			t.Errorf("%s = %q, want a sample above 0", series, m[series])
		}
	}
	if _, ok := m["switchyard_experiment_consumer_lag_batches"]; !ok {
		t.Error("no switchyard_experiment_consumer_lag_batches")
	}
	if t.Failed() {
		for k, v := range m {
			if strings.HasPrefix(k, "switchyard_") {
				t.Log(k, v)
			}
		}
	}
}

func TestMetricsCountWebhookDeliveriesByOutcome(t *testing.T) {
	srv := servertest.Start(t, fastWebhooks())
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseDoc)
	rcv := newHookReceiver(t, webhookSecret, http.StatusInternalServerError, http.StatusOK)
	srv.Admin(t, "POST", "/api/v1/projects/default/webhooks", map[string]any{
		"id": "ops", "url": rcv.url, "secret": webhookSecret, "events": []string{"release.create"}})
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", convergedRelease)
	deliveries(t, srv, "ops", func(ds []any) bool { return len(ds) == 1 && ds[0].(map[string]any)["state"] == "DELIVERED" })
	m := metricsOf(t, wrap(srv))
	for series, want := range map[string]string{
		`switchyard_webhook_deliveries_total{outcome="retrying"}`:                 "1",
		`switchyard_webhook_deliveries_total{outcome="delivered"}`:                "1",
		`switchyard_webhook_delivery_duration_seconds_count{outcome="delivered"}`: "1",
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
}
