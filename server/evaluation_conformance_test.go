package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/conformance"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// evaluationVectors is a conformance file of flag evaluation cases.
type evaluationVectors = conformance.FlagFile

// served is what a case checks of an answer: the value as JSON decodes it.
type served struct {
	Variant, Reason, Rule, Error string
	Value                        any
}

// jsonValue decodes raw, or nil when it is empty.
func jsonValue(t *testing.T, raw []byte) any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// TestEvaluationConformance runs every flag evaluation vector through the
// real import path and the server's wire formats: gRPC Evaluate with the
// context as a google.protobuf.Struct, and OFREP with the context as JSON.
func TestEvaluationConformance(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(conformance.Dir(t), "evaluation-*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no evaluation vectors (%v)", err)
	}
	ts := startServer(t)
	client := sdkpb.NewEvaluationServiceClient(ts.conn)
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var vf evaluationVectors
			if err := json.Unmarshal(data, &vf); err != nil {
				t.Fatal(err)
			}
			var head struct {
				Project      string   `json:"project"`
				Environments []string `json:"environments"`
			}
			if err := json.Unmarshal(vf.Document, &head); err != nil {
				t.Fatal(err)
			}
			ts.mustAdmin(t, "POST", "/api/v1/documents:import", `{"document":`+string(vf.Document)+`}`)
			keys := map[string]string{}
			for _, env := range head.Environments {
				keys[env] = ts.newKey(t, map[string]any{"name": "conformance", "kind": "sdk", "project": head.Project, "environment": env})
			}
			for i, tc := range vf.Cases {
				want := served{tc.Expect.Variant, tc.Expect.Reason, tc.Expect.Rule, tc.Expect.Error, jsonValue(t, tc.Expect.Value)}
				var ctx structpb.Struct
				if err := protojson.Unmarshal(tc.Context, &ctx); err != nil {
					t.Fatalf("case %d: context %s: %v", i, tc.Context, err)
				}
				res, err := client.Evaluate(rpcContext(keys[tc.Environment]), &sdkpb.EvaluateRequest{Flag: tc.Flag, Context: &ctx})
				if err != nil {
					t.Fatalf("case %d: Evaluate: %v", i, err)
				}
				var value any
				if res.GetValue() != nil {
					value = res.GetValue().AsInterface()
				}
				got := served{res.GetVariant(), res.GetReason(), res.GetRule(), res.GetErrorCode(), value}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("case %d gRPC %s/%s context %s = %+v, want %+v", i, tc.Environment, tc.Flag, tc.Context, got, want)
				}

				r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags/"+tc.Flag, "X-API-Key", keys[tc.Environment], `{"context":`+string(tc.Context)+`}`)
				var answer struct {
					Variant   string          `json:"variant"`
					Value     json.RawMessage `json:"value"`
					Reason    string          `json:"reason"`
					ErrorCode string          `json:"errorCode"`
					Metadata  struct {
						Rule string `json:"rule"`
					} `json:"metadata"`
				}
				if err := json.Unmarshal(r.body, &answer); err != nil {
					t.Fatalf("case %d: OFREP answer %d %s: %v", i, r.status, r.body, err)
				}
				if answer.ErrorCode != "" {
					answer.Reason = "ERROR" // OFREP's error answers carry no reason
				}
				got = served{answer.Variant, answer.Reason, answer.Metadata.Rule, answer.ErrorCode, jsonValue(t, answer.Value)}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("case %d OFREP %s/%s context %s = %d %+v, want %+v", i, tc.Environment, tc.Flag, tc.Context, r.status, got, want)
				}
			}
		})
	}
}
