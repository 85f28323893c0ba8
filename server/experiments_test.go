package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// abExperiment is the REST body of a 50/50 experiment on demo-flag's
// variants in production.
const abExperiment = `{"id": "ab", "environment": "production", "flag": "checkout",
  "control": {"variant": "off", "weight": 50000}, "treatments": [{"variant": "on", "weight": 50000}],
  "traffic_share": 100000, "primary_metric": "purchase"}`

// experimentServer serves a bool flag checkout (enabled, default off) and
// a conversion metric purchase in project default.
func experimentServer(t *testing.T) *testServer {
	t.Helper()
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags",
		`{"key": "checkout", "type": "bool", "environments": {"production": {"enabled": true, "default": {"variant": "off"}}}}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/metrics", `{"key": "purchase", "kind": "conversion"}`)
	return ts
}

func TestExperimentRolesMatrix(t *testing.T) {
	ts := experimentServer(t)
	viewer := ts.newKey(t, map[string]any{"name": "v", "kind": "admin", "role": "viewer"})
	editor := ts.newKey(t, map[string]any{"name": "e", "kind": "admin", "role": "editor"})
	rm := ts.newKey(t, map[string]any{"name": "rm", "kind": "admin", "role": "release-manager"})
	steps := []struct {
		name, method, path, body string
		key                      string
		want                     int
	}{
		{"viewer cannot draft", "POST", "/api/v1/projects/default/experiments", abExperiment, viewer, http.StatusForbidden},
		{"editor drafts", "POST", "/api/v1/projects/default/experiments", abExperiment, editor, http.StatusOK},
		{"editor cannot start", "POST", "/api/v1/projects/default/experiments/ab:start", `{}`, editor, http.StatusForbidden},
		{"release manager starts", "POST", "/api/v1/projects/default/experiments/ab:start", `{}`, rm, http.StatusOK},
		{"viewer reads results", "GET", "/api/v1/projects/default/experiments/ab/results", "", viewer, http.StatusOK},
		{"editor cannot stop", "POST", "/api/v1/projects/default/experiments/ab:stop", `{"decision": "revert"}`, editor, http.StatusForbidden},
		{"release manager stops", "POST", "/api/v1/projects/default/experiments/ab:stop", `{"decision": "revert"}`, rm, http.StatusOK},
		{"viewer cannot define metrics", "POST", "/api/v1/projects/default/metrics", `{"key": "x", "kind": "mean"}`, viewer, http.StatusForbidden},
		{"editor defines metrics", "POST", "/api/v1/projects/default/metrics", `{"key": "x", "kind": "mean"}`, editor, http.StatusOK},
	}
	for _, st := range steps {
		var body any
		if st.body != "" {
			body = st.body
		}
		if r := ts.call(t, st.method, st.path, "Authorization", st.key, body); r.status != st.want {
			t.Errorf("%s: %s %s = %d %s, want %d", st.name, st.method, st.path, r.status, r.body, st.want)
		}
	}
}

func TestExperimentErrorsNameTheField(t *testing.T) {
	ts := experimentServer(t)
	tests := []struct {
		name, method, path, body string
		want                     int
		field                    string
	}{
		{"weight out of range", "POST", "/api/v1/projects/default/experiments",
			strings.Replace(abExperiment, `"weight": 50000}]`, `"weight": 500000}]`, 1), http.StatusBadRequest, "experiment.treatments[0].weight"},
		{"unknown metric", "POST", "/api/v1/projects/default/experiments",
			strings.Replace(abExperiment, `"purchase"`, `"nope"`, 1), http.StatusBadRequest, "experiment.primary_metric"},
		{"unknown metric kind", "POST", "/api/v1/projects/default/metrics", `{"key": "m", "kind": "median"}`, http.StatusBadRequest, "metric.kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, tc.method, tc.path, tc.body)
			if r.status != tc.want || r.json(t)["field"] != tc.field {
				t.Errorf("%s %s = %d %s, want %d at %s", tc.method, tc.path, r.status, r.body, tc.want, tc.field)
			}
		})
	}
}

func TestIncompleteExperimentDoesNotStart(t *testing.T) {
	ts := experimentServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/experiments", strings.Replace(abExperiment, `"traffic_share": 100000`, `"traffic_share": 0`, 1))
	r := ts.admin(t, "POST", "/api/v1/projects/default/experiments/ab:start", `{}`)
	if r.status != http.StatusBadRequest || r.json(t)["code"] != "FAILED_PRECONDITION" || !strings.Contains(string(r.body), "traffic share") {
		t.Errorf("start = %d %s, want FAILED_PRECONDITION about the traffic share", r.status, r.body)
	}
}

func TestRunningExperimentIsNotEditable(t *testing.T) {
	ts := experimentServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/experiments", abExperiment)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/experiments/ab:start", `{}`)
	r := ts.admin(t, "PATCH", "/api/v1/projects/default/experiments/ab", `{"traffic_share": 5000}`)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "only a draft can be edited") {
		t.Errorf("PATCH a running experiment = %d %s, want FAILED_PRECONDITION", r.status, r.body)
	}
}

func TestEvaluationResultsCarryTheExperiment(t *testing.T) {
	ts := experimentServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/experiments", abExperiment)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/experiments/ab:start", `{}`)

	ctx, err := structpb.NewStruct(map[string]any{"targetingKey": "user-1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sdkpb.NewEvaluationServiceClient(ts.conn).Evaluate(rpcContext(ts.creds.SDKKey), &sdkpb.EvaluateRequest{Flag: "checkout", Context: ctx})
	if err != nil || res.GetExperiment() != "ab" || res.GetRule() != "experiment:ab" || res.GetReason() != "SPLIT" {
		t.Errorf("Evaluate = %v, %v; want a SPLIT by experiment ab", res, err)
	}

	r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags/checkout", "Authorization", ts.creds.SDKKey, `{"context": {"targetingKey": "user-1"}}`)
	var out struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || out.Metadata["experiment"] != "ab" || out.Metadata["rule"] != "experiment:ab" {
		t.Errorf("OFREP = %d %s, want metadata experiment ab", r.status, r.body)
	}
}

func TestResultsReportExposuresOverTimeWhenAsked(t *testing.T) {
	ts := experimentServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/experiments", abExperiment)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/experiments/ab:start", `{}`)
	body := `{"project":"default","environment":"production","events":[
		{"exposure":{"flag":"checkout","variant":"off","unit":"u1","experiment":"ab"}},
		{"exposure":{"flag":"checkout","variant":"on","unit":"u2","experiment":"ab"}},
		{"exposure":{"flag":"checkout","variant":"on","unit":"u3","experiment":"ab"}}]}`
	ts.mustAdmin(t, "POST", "/api/v1/events", body)

	plain := ts.mustAdmin(t, "GET", "/api/v1/projects/default/experiments/ab/results", "")
	if _, ok := plain["exposures"]; ok {
		t.Errorf("results without ?exposures = %v, want no exposures", plain)
	}
	got := ts.mustAdmin(t, "GET", "/api/v1/projects/default/experiments/ab/results?exposures=true", "")
	counts, _ := got["exposures"].([]any)
	if len(counts) == 0 {
		t.Fatalf("results?exposures=true = %v, want exposure counts", got)
	}
	last, _ := counts[len(counts)-1].(map[string]any)
	if units, _ := json.Marshal(last["units"]); string(units) != `["1","2"]` || last["time"] == nil {
		t.Errorf("last exposure count = %v, want units [1 2] at a time", last)
	}
}
