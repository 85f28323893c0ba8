package server_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// newKey creates an API key over REST and returns its secret.
func (ts *testServer) newKey(t *testing.T, key map[string]any) string {
	t.Helper()
	resp := ts.mustAdmin(t, "POST", "/api/v1/keys", key)
	return resp["secret"].(string)
}

func TestKeyMatrix(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	viewer := ts.newKey(t, map[string]any{"name": "v", "kind": "admin", "role": "viewer"})
	editor := ts.newKey(t, map[string]any{"name": "e", "kind": "admin", "role": "editor"})
	client := ts.newKey(t, map[string]any{"name": "c", "kind": "client", "project": "default", "environment": "production"})
	stagingSDK := ts.newKey(t, map[string]any{"name": "s", "kind": "sdk", "project": "default", "environment": "staging"})

	const (
		readFlags  = "GET /api/v1/projects/default/flags"
		writeFlag  = "POST /api/v1/projects/default/segments"
		createKey  = "POST /api/v1/keys"
		ofrep      = "POST /ofrep/v1/evaluate/flags/new-checkout"
		ofrepBulk  = "POST /ofrep/v1/evaluate/flags"
		ofrepOther = "POST /ofrep/v1/evaluate/flags/new-checkout?project=default&environment=staging"
	)
	bodies := map[string]string{
		writeFlag:  `{"key":"s-NAME"}`,
		createKey:  `{"name":"x","kind":"admin","role":"viewer"}`,
		ofrep:      `{"context":{"targetingKey":"u"}}`,
		ofrepBulk:  `{"context":{"targetingKey":"u"}}`,
		ofrepOther: `{"context":{"targetingKey":"u"}}`,
	}
	tests := []struct {
		name   string
		header string
		key    string
		call   string
		want   int
	}{
		{"no key", "", "", readFlags, 401},
		{"no key ofrep", "", "", ofrep, 401},
		{"unknown key", "Authorization", "sya_unknown", readFlags, 401},
		{"unknown key ofrep", "X-API-Key", "sys_unknown", ofrep, 401},
		{"admin reads", "Authorization", ts.creds.AdminToken, readFlags, 200},
		{"admin creates key", "X-API-Key", ts.creds.AdminToken, createKey, 200},
		{"viewer reads", "Authorization", viewer, readFlags, 200},
		{"viewer may not write", "Authorization", viewer, writeFlag, 403},
		{"editor writes", "Authorization", editor, writeFlag, 200},
		{"editor may not create keys", "Authorization", editor, createKey, 403},
		{"sdk key on admin API", "Authorization", ts.creds.SDKKey, readFlags, 403},
		{"sdk key evaluates, bearer", "Authorization", ts.creds.SDKKey, ofrep, 200},
		{"sdk key evaluates, x-api-key", "X-API-Key", ts.creds.SDKKey, ofrepBulk, 200},
		{"sdk key of staging evaluates in staging", "X-API-Key", stagingSDK, ofrep, 200},
		{"sdk key names another environment", "X-API-Key", ts.creds.SDKKey, ofrepOther, 403},
		{"client key evaluates", "X-API-Key", client, ofrepBulk, 200},
		{"client key on admin API", "Authorization", client, readFlags, 403},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, path, _ := cut(tc.call)
			body := bodies[tc.call]
			if tc.call == writeFlag {
				body = `{"key":"seg-` + string(rune('a'+i)) + `"}`
			}
			r := ts.call(t, method, path, tc.header, tc.key, body)
			if r.status != tc.want {
				t.Errorf("%s = %d %s, want %d", tc.call, r.status, r.body, tc.want)
			}
		})
	}

	// gRPC: the same decisions.
	eval := sdkpb.NewEvaluationServiceClient(ts.conn)
	flagsAPI := pb.NewFlagServiceClient(ts.conn)
	ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": "u"})
	grpcTests := []struct {
		name string
		key  string
		call func(key string) error
		want codes.Code
	}{
		{"no key", "", func(k string) error {
			_, err := eval.Evaluate(t.Context(), &sdkpb.EvaluateRequest{Flag: "new-checkout", Context: ctx})
			return err
		}, codes.Unauthenticated},
		{"sdk key evaluates", ts.creds.SDKKey, func(k string) error {
			_, err := eval.Evaluate(rpcContext(k), &sdkpb.EvaluateRequest{Flag: "new-checkout", Context: ctx})
			return err
		}, codes.OK},
		{"sdk key of another environment", ts.creds.SDKKey, func(k string) error {
			_, err := eval.Evaluate(rpcContext(k), &sdkpb.EvaluateRequest{Project: "default", Environment: "staging", Flag: "new-checkout", Context: ctx})
			return err
		}, codes.PermissionDenied},
		{"client key batch", client, func(k string) error {
			_, err := eval.EvaluateBatch(rpcContext(k), &sdkpb.EvaluateBatchRequest{Context: ctx})
			return err
		}, codes.OK},
		{"sdk key on admin API", ts.creds.SDKKey, func(k string) error {
			_, err := flagsAPI.ListFlags(rpcContext(k), &pb.ListFlagsRequest{Project: "default"})
			return err
		}, codes.PermissionDenied},
		{"admin token without scope", ts.creds.AdminToken, func(k string) error {
			_, err := eval.Evaluate(rpcContext(k), &sdkpb.EvaluateRequest{Flag: "new-checkout", Context: ctx})
			return err
		}, codes.InvalidArgument},
		{"admin token with scope", ts.creds.AdminToken, func(k string) error {
			_, err := eval.Evaluate(rpcContext(k), &sdkpb.EvaluateRequest{Project: "default", Environment: "production", Flag: "new-checkout", Context: ctx})
			return err
		}, codes.OK},
	}
	for _, tc := range grpcTests {
		t.Run("grpc/"+tc.name, func(t *testing.T) {
			if got := status.Code(tc.call(tc.key)); got != tc.want {
				t.Errorf("code = %v, want %v", got, tc.want)
			}
		})
	}
}

func cut(call string) (method, path string, ok bool) {
	for i := 0; i < len(call); i++ {
		if call[i] == ' ' {
			return call[:i], call[i+1:], true
		}
	}
	return "", call, false
}
