package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// ofrepFlags creates flags that cover every OFREP answer.
func ofrepFlags(t *testing.T, ts *testServer) {
	t.Helper()
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"rollout","type":"bool",
		"environments":{"production":{"enabled":true,"default":{"rollout":[{"variant":"on","weight":50000},{"variant":"off","weight":50000}]}}}}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"plain","type":"string",
		"variants":[{"key":"a","value":"A"}],"environments":{"production":{"enabled":true,"off_variant":"a","default":{"variant":"a"}}}}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"elsewhere","type":"string","variants":[{"key":"a","value":"A"}]}`)
}

func TestOFREPSingle(t *testing.T) {
	ts := startServer(t)
	ofrepFlags(t, ts)
	tests := []struct {
		name       string
		flag       string
		body       string
		wantStatus int
		want       map[string]any
	}{
		{"static", "plain", `{"context":{"targetingKey":"u"}}`, 200,
			map[string]any{"key": "plain", "value": "A", "variant": "a", "reason": "STATIC"}},
		{"split", "rollout", `{"context":{"targetingKey":"user-1"}}`, 200,
			map[string]any{"key": "rollout", "reason": "SPLIT"}},
		{"code default when disabled without entry", "elsewhere", `{"context":{}}`, 200,
			map[string]any{"key": "elsewhere", "reason": "DISABLED", "value": nil}},
		{"flag not found", "nope", `{"context":{"targetingKey":"u"}}`, 404,
			map[string]any{"key": "nope", "errorCode": "FLAG_NOT_FOUND"}},
		{"targeting key missing", "rollout", `{"context":{"country":"DE"}}`, 400,
			map[string]any{"key": "rollout", "errorCode": "TARGETING_KEY_MISSING"}},
		{"non-string targeting key", "plain", `{"context":{"targetingKey":42}}`, 400,
			map[string]any{"key": "plain", "errorCode": "INVALID_CONTEXT"}},
		{"object attribute", "plain", `{"context":{"targetingKey":"u","address":{"city":"Paris"}}}`, 200,
			map[string]any{"key": "plain", "value": "A"}},
		{"malformed body", "plain", `{"context":`, 400,
			map[string]any{"key": "plain", "errorCode": "INVALID_CONTEXT"}},
		{"other members around the context", "plain", `{"flagConfigEtag":"x","context":{"targetingKey":"u"}}`, 200,
			map[string]any{"key": "plain", "value": "A"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags/"+tc.flag, "X-API-Key", ts.creds.SDKKey, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d %s, want %d", r.status, r.body, tc.wantStatus)
			}
			got := r.json(t)
			for k, want := range tc.want {
				if v, ok := got[k]; want == nil && ok {
					t.Errorf("%s = %v, want absent", k, v)
				} else if want != nil && v != want {
					t.Errorf("%s = %v, want %v (body %s)", k, v, want, r.body)
				}
			}
		})
	}
}

func TestOFREPBulkETag(t *testing.T) {
	ts := startServer(t)
	ofrepFlags(t, ts)
	body := `{"context":{"targetingKey":"user-1"}}`
	first := ts.call(t, "POST", "/ofrep/v1/evaluate/flags", "Authorization", ts.creds.SDKKey, body)
	if first.status != http.StatusOK {
		t.Fatalf("bulk = %d %s", first.status, first.body)
	}
	flags := first.json(t)["flags"].([]any)
	if len(flags) != 3 {
		t.Errorf("bulk has %d flags, want 3: %s", len(flags), first.body)
	}
	etag := first.header.Get("ETag")
	if etag == "" {
		t.Fatal("bulk answer has no ETag")
	}

	again := ts.call(t, "POST", "/ofrep/v1/evaluate/flags", "Authorization", ts.creds.SDKKey, body, "If-None-Match", etag)
	if again.status != http.StatusNotModified || len(again.body) != 0 {
		t.Errorf("same request with If-None-Match = %d %q, want 304 without body", again.status, again.body)
	}
	other := ts.call(t, "POST", "/ofrep/v1/evaluate/flags", "Authorization", ts.creds.SDKKey,
		`{"context":{"targetingKey":"user-2"}}`, "If-None-Match", etag)
	if other.status != http.StatusOK {
		t.Errorf("another context with the old ETag = %d, want 200", other.status)
	}

	// A change to the environment changes the ETag.
	ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/flags/plain/environments/production?update_mask=enabled", `{"enabled":false}`)
	changed := ts.call(t, "POST", "/ofrep/v1/evaluate/flags", "Authorization", ts.creds.SDKKey, body, "If-None-Match", etag)
	if changed.status != http.StatusOK || changed.header.Get("ETag") == etag {
		t.Errorf("after a change = %d with ETag %q, want 200 with a new ETag", changed.status, changed.header.Get("ETag"))
	}

	bad := ts.call(t, "POST", "/ofrep/v1/evaluate/flags", "Authorization", ts.creds.SDKKey, `{"context":{"targetingKey":true}}`)
	if bad.status != http.StatusBadRequest || bad.json(t)["errorCode"] != "INVALID_CONTEXT" {
		t.Errorf("bulk with a bool targeting key = %d %s, want 400 INVALID_CONTEXT", bad.status, bad.body)
	}
}

func TestOFREPAllowsBrowsers(t *testing.T) {
	ts := startServer(t)
	ofrepFlags(t, ts)
	pre := ts.call(t, "OPTIONS", "/ofrep/v1/evaluate/flags", "", "", nil,
		"Origin", "https://shop.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "x-api-key, content-type")
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "X-API-Key") {
		t.Errorf("preflight = %d %v, want 204 allowing any origin and X-API-Key", pre.status, pre.header)
	}
	r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags", "X-API-Key", ts.creds.SDKKey, `{"context":{"targetingKey":"u"}}`,
		"Origin", "https://shop.example")
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Errorf("bulk from a browser = %d %v, want 200 with CORS headers exposing the ETag", r.status, r.header)
	}
	admin := ts.call(t, "GET", "/api/v1/projects", "Authorization", ts.creds.AdminToken, nil, "Origin", "https://shop.example")
	if admin.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the admin API answers cross-origin requests, want same-origin only")
	}
}
