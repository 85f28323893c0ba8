package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// nestedFlags creates a flag whose rule reads a nested attribute through a
// JSON Pointer and a rollout that buckets by one.
func nestedFlags(t *testing.T, ts *testServer) {
	t.Helper()
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"plan","type":"string",
		"variants":[{"key":"pro","value":"P"},{"key":"other","value":"O"}],
		"environments":{"production":{"enabled":true,"off_variant":"other",
			"rules":[{"id":"pro","conditions":[{"attribute":"/user/plan","op":"in","values":["pro"]}],"serve":{"variant":"pro"}}],
			"default":{"variant":"other"}}}}`)
}

// deepJSON is a context whose attribute "a" nests levels objects deep.
func deepJSON(levels int) string {
	return `{"targetingKey":"u","a":` + strings.Repeat(`{"b":`, levels) + `1` + strings.Repeat(`}`, levels) + `}`
}

// deepStruct is deepJSON as a protobuf Struct.
func deepStruct(levels int) *structpb.Struct {
	v := structpb.NewNumberValue(1)
	for range levels {
		v = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"b": v}})
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{"targetingKey": structpb.NewStringValue("u"), "a": v}}
}

func TestNestedContextOverEverySurface(t *testing.T) {
	ts := startServer(t)
	nestedFlags(t, ts)
	key := ts.creds.SDKKey
	body := `{"context":{"targetingKey":"u","user":{"plan":"pro","tags":[{"x":1},["y"]]}}}`
	t.Run("OFREP", func(t *testing.T) {
		r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags/plan", "X-API-Key", key, body)
		if got := r.json(t); r.status != http.StatusOK || got["variant"] != "pro" || got["reason"] != "TARGETING_MATCH" {
			t.Errorf("OFREP = %d %s, want 200 variant pro", r.status, r.body)
		}
	})
	t.Run("OFREP bulk", func(t *testing.T) {
		r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags", "X-API-Key", key, body)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"variant":"pro"`) {
			t.Errorf("OFREP bulk = %d %s, want 200 with variant pro", r.status, r.body)
		}
	})
	t.Run("REST", func(t *testing.T) {
		r := ts.call(t, "POST", "/api/v1/evaluate", "Authorization", key, `{"flag":"plan",`+body[1:])
		if got := r.json(t); r.status != http.StatusOK || got["variant"] != "pro" {
			t.Errorf("REST evaluate = %d %s, want 200 variant pro", r.status, r.body)
		}
	})
	t.Run("gRPC", func(t *testing.T) {
		ctx, err := structpb.NewStruct(map[string]any{"targetingKey": "u", "user": map[string]any{"plan": "pro", "tags": []any{map[string]any{}, []any{"y"}}}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := sdkpb.NewEvaluationServiceClient(ts.conn).Evaluate(rpcContext(key), &sdkpb.EvaluateRequest{Flag: "plan", Context: ctx})
		if err != nil || res.GetVariant() != "pro" {
			t.Errorf("Evaluate = %v, %v; want variant pro", res, err)
		}
	})
}

func TestDeepContextRefused(t *testing.T) {
	ts := startServer(t)
	nestedFlags(t, ts)
	iosApp(t, ts)
	key := ts.creds.SDKKey
	const levels = 9000
	deep := deepJSON(levels)
	http400 := []struct {
		name, method, path, header, body string
	}{
		{"OFREP", "POST", "/ofrep/v1/evaluate/flags/plan", "X-API-Key", `{"context":` + deep + `}`},
		{"OFREP bulk", "POST", "/ofrep/v1/evaluate/flags", "X-API-Key", `{"context":` + deep + `}`},
		{"OFREP deeper than encoding/json goes", "POST", "/ofrep/v1/evaluate/flags/plan", "X-API-Key", `{"context":` + deepJSON(3*levels) + `}`},
		{"REST evaluate", "POST", "/api/v1/evaluate", "Authorization", `{"flag":"plan","context":` + deep + `}`},
		{"REST evaluate batch", "POST", "/api/v1/evaluate:batch", "Authorization", `{"context":` + deep + `}`},
		{"availability POST", "POST", "/api/v1/components/ios-app/availability", "X-API-Key", `{"current_version":"2.2.0","context":` + deep + `}`},
		{"availability GET", "GET", "/api/v1/components/ios-app/availability?" + url.Values{"current_version": {"2.2.0"}, "context": {deep}}.Encode(), "X-API-Key", ""},
	}
	for _, tc := range http400 {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := ts.call(t, tc.method, tc.path, tc.header, key, body)
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "64 levels") {
				t.Errorf("%s %s = %d %.300s, want 400 naming the limit of 64 levels", tc.method, tc.name, r.status, r.body)
			}
		})
	}
	rpc := rpcContext(key)
	evalClient := sdkpb.NewEvaluationServiceClient(ts.conn)
	availClient := sdkpb.NewAvailabilityServiceClient(ts.conn)
	for _, n := range []int{100, levels, 3 * levels} {
		ctx := deepStruct(n)
		grpcCalls := []struct {
			name string
			call func() error
		}{
			{"Evaluate", func() error {
				_, err := evalClient.Evaluate(rpc, &sdkpb.EvaluateRequest{Flag: "plan", Context: ctx})
				return err
			}},
			{"EvaluateBatch", func() error {
				_, err := evalClient.EvaluateBatch(rpc, &sdkpb.EvaluateBatchRequest{Context: ctx})
				return err
			}},
			{"GetAvailability", func() error {
				_, err := availClient.GetAvailability(rpc, &sdkpb.GetAvailabilityRequest{Component: "ios-app", CurrentVersion: "2.2.0", Context: ctx})
				return err
			}},
		}
		for _, tc := range grpcCalls {
			err := tc.call()
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "64 levels") {
				t.Errorf("gRPC %s with %d levels = %v, want InvalidArgument naming the limit of 64 levels", tc.name, n, err)
			}
		}
	}
}
