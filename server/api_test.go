package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

const demoFlag = `{
  "key": "new-checkout", "type": "bool",
  "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}]
}`

func TestRESTWriteReachesGRPCAndOFREP(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/segments", map[string]any{
		"key": "eu", "conditions": []any{map[string]any{"attribute": "country", "op": "in", "values": []any{"DE", "FR"}}},
	})
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	tg := ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/production", map[string]any{
		"enabled": true, "off_variant": "off",
		"rules":   []any{map[string]any{"id": "eu", "segments": []any{"eu"}, "serve": map[string]any{"variant": "on"}}},
		"default": map[string]any{"variant": "off"},
	})
	revision := tg["revision"].(string) // uint64 travels as a JSON string

	eval := sdkpb.NewEvaluationServiceClient(ts.conn)
	ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": "user-1", "country": "DE"})
	got, err := eval.Evaluate(rpcContext(ts.creds.SDKKey), &sdkpb.EvaluateRequest{Flag: "new-checkout", Context: ctx})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if got.GetVariant() != "on" || got.GetReason() != "TARGETING_MATCH" || got.GetRule() != "eu" || fmt.Sprint(got.GetRevision()) != revision {
		t.Errorf("Evaluate = %v, want variant on, TARGETING_MATCH, rule eu, revision %s", got, revision)
	}
	if !got.GetValue().GetBoolValue() {
		t.Errorf("Evaluate value = %v, want true", got.GetValue())
	}

	r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags/new-checkout", "X-API-Key", ts.creds.SDKKey,
		`{"context":{"targetingKey":"user-2","country":"US"}}`)
	if r.status != http.StatusOK {
		t.Fatalf("OFREP = %d %s", r.status, r.body)
	}
	m := r.json(t)
	if m["key"] != "new-checkout" || m["value"] != false || m["variant"] != "off" || m["reason"] != "DEFAULT" {
		t.Errorf("OFREP = %s, want off/DEFAULT", r.body)
	}

	// Toggle off with a field mask: every evaluation sees the new revision.
	tg2 := ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/production?update_mask=enabled", map[string]any{"enabled": false})
	got, err = eval.Evaluate(rpcContext(ts.creds.SDKKey), &sdkpb.EvaluateRequest{Flag: "new-checkout", Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetReason() != "DISABLED" || fmt.Sprint(got.GetRevision()) != tg2["revision"] {
		t.Errorf("after toggle: Evaluate = %v, want DISABLED at revision %v", got, tg2["revision"])
	}
}

func TestEvaluateBatchAllFlags(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"banner","type":"string","variants":[{"key":"a","value":"A"}],
		"environments":{"production":{"enabled":true,"off_variant":"a","default":{"variant":"a"}}}}`)
	eval := sdkpb.NewEvaluationServiceClient(ts.conn)
	ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": "u"})
	resp, err := eval.EvaluateBatch(rpcContext(ts.creds.SDKKey), &sdkpb.EvaluateBatchRequest{Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range resp.GetResults() {
		got = append(got, r.GetFlag()+"="+r.GetReason())
	}
	if strings.Join(got, ",") != "new-checkout=DISABLED,banner=STATIC" {
		t.Errorf("EvaluateBatch = %v, want [new-checkout=DISABLED banner=STATIC]", got)
	}
}

func TestBadInput(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"unknown field", "POST", "/api/v1/projects/default/flags", `{"key":"x","type":"bool","colour":"red"}`, 400, "INVALID_ARGUMENT", ""},
		{"invalid variant value", "POST", "/api/v1/projects/default/flags", `{"key":"n","type":"number","variants":[{"key":"a","value":"ten"}]}`, 400, "INVALID_ARGUMENT", "flag.variants[0].value"},
		{"bad rollout", "PATCH", "/api/v1/projects/default/flags/new-checkout/environments/production",
			`{"enabled":true,"off_variant":"off","default":{"rollout":[{"variant":"on","weight":10}]}}`, 400, "INVALID_ARGUMENT", "targeting.default.rollout"},
		{"unknown flag", "GET", "/api/v1/projects/default/flags/nope", nil, 404, "NOT_FOUND", ""},
		{"unknown project", "GET", "/api/v1/projects/nope/flags", nil, 404, "NOT_FOUND", ""},
		{"duplicate", "POST", "/api/v1/projects/default/flags", demoFlag, 409, "ALREADY_EXISTS", ""},
		{"stale etag", "DELETE", "/api/v1/projects/default/flags/new-checkout?etag=stale", nil, 409, "ABORTED", ""},
		{"bad page token", "GET", "/api/v1/projects/default/flags?page_token=zzz", nil, 400, "INVALID_ARGUMENT", "page_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, tc.method, tc.path, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d %s, want %d", r.status, r.body, tc.wantStatus)
			}
			m := r.json(t)
			if m["code"] != tc.wantCode {
				t.Errorf("code = %v, want %s", m["code"], tc.wantCode)
			}
			if tc.wantField != "" && !strings.HasPrefix(fmt.Sprint(m["field"]), tc.wantField) {
				t.Errorf("field = %v, want prefix %s (body %s)", m["field"], tc.wantField, r.body)
			}
			if m["message"] == "" {
				t.Error("no message")
			}
		})
	}
	// Nothing of the refused requests was applied.
	doc := ts.mustAdmin(t, "GET", "/api/v1/projects/default:export", nil)
	if n := len(doc["flags"].([]any)); n != 1 {
		t.Errorf("export has %d flags after refused writes, want 1", n)
	}
}

func TestUnknownFieldIsNamed(t *testing.T) {
	ts := startServer(t)
	r := ts.admin(t, "POST", "/api/v1/projects/default/flags", `{"key":"x","type":"bool","colour":"red"}`)
	if r.status != 400 || !strings.Contains(string(r.body), "colour") {
		t.Errorf("unknown field answer = %d %s, want 400 naming colour", r.status, r.body)
	}
}

func TestEtagUpdate(t *testing.T) {
	ts := startServer(t)
	f := ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	etag := f["etag"].(string)
	upd := ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout?update_mask=description",
		map[string]any{"description": "first", "etag": etag})
	if upd["description"] != "first" || upd["etag"] == etag {
		t.Fatalf("update = %v, want description first and a new etag", upd)
	}
	r := ts.admin(t, "PATCH", "/api/v1/projects/default/flags/new-checkout?update_mask=description",
		map[string]any{"description": "second", "etag": etag})
	if r.status != http.StatusConflict {
		t.Errorf("update with stale etag = %d %s, want 409", r.status, r.body)
	}
	// The mask kept the variants.
	got := ts.mustAdmin(t, "GET", "/api/v1/projects/default/flags/new-checkout", nil)
	if len(got["variants"].([]any)) != 2 || got["description"] != "first" {
		t.Errorf("flag = %v", got)
	}
}

func TestAuditRecordsPeerNotForwardedFor(t *testing.T) {
	ts := startServer(t)
	r := ts.call(t, "POST", "/api/v1/projects/default/flags", "Authorization", ts.creds.AdminToken, demoFlag,
		"X-Forwarded-For", "203.0.113.9")
	if r.status != 200 {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	events := ts.mustAdmin(t, "GET", "/api/v1/audit-events?project=default&resource=projects/default/flags/new-checkout", nil)
	list := events["events"].([]any)
	if len(list) == 0 {
		t.Fatal("no audit event")
	}
	e := list[0].(map[string]any)
	if e["peer"] != "127.0.0.1" || e["action"] != "flag.create" || e["actor"] != "bootstrap-admin" {
		t.Errorf("audit event = %v, want peer 127.0.0.1, action flag.create, actor bootstrap-admin", e)
	}
}

func TestLimits(t *testing.T) {
	ts := startServer(t)
	big := `{"key":"x","description":"` + strings.Repeat("a", 5<<20) + `"}`
	if r := ts.admin(t, "POST", "/api/v1/projects/default/segments", big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MiB body = %d, want 413", r.status)
	}
	var attrs []string
	for i := range 300 {
		attrs = append(attrs, fmt.Sprintf(`"a%d":1`, i))
	}
	body := `{"context":{` + strings.Join(attrs, ",") + `}}`
	r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags", "X-API-Key", ts.creds.SDKKey, body)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "256") {
		t.Errorf("300-attribute context = %d %s, want 400 naming the limit", r.status, r.body)
	}
}

func TestOpenAPIAndHealth(t *testing.T) {
	ts := startServer(t)
	for _, path := range []string{"/api/v1/openapi.json", "/healthz", "/readyz"} {
		if r := ts.call(t, "GET", path, "", "", nil); r.status != 200 {
			t.Errorf("GET %s = %d", path, r.status)
		}
	}
	r := ts.call(t, "GET", "/api/v1/openapi.json", "", "", nil)
	if !strings.Contains(string(r.body), "/api/v1/projects/{project}/flags") {
		t.Error("OpenAPI document lacks the flags path")
	}
}
