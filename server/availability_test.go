package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/conformance"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

const availabilityURL = "/api/v1/components/%s/availability"

// availabilityGET asks over REST with a GET and the query q.
func (ts *testServer) availabilityGET(t *testing.T, key, component string, q url.Values, extra ...string) response {
	t.Helper()
	return ts.call(t, "GET", fmt.Sprintf(availabilityURL, component)+"?"+q.Encode(), "X-API-Key", key, nil, extra...)
}

// availabilityAnswer decodes a REST answer as the gRPC message.
func availabilityAnswer(t *testing.T, r response) *sdkpb.Availability {
	t.Helper()
	var a sdkpb.Availability
	if err := protojson.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("answer %d is not an Availability: %v: %s", r.status, err, r.body)
	}
	return &a
}

func notesOf(a *sdkpb.Availability) string {
	var out []string
	for _, n := range a.GetNotes() {
		out = append(out, n.GetVersion()+":"+n.GetNotes())
	}
	return strings.Join(out, ",")
}

func TestAvailability(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	client := ts.newKey(t, map[string]any{"name": "app", "kind": "client", "project": "default", "environment": "production"})
	grpcClient := sdkpb.NewAvailabilityServiceClient(ts.conn)
	tests := []struct {
		name       string
		country    string
		current    string
		component  string
		wantStatus int
		want       string // version reason rule update
		wantNotes  string
		wantError  string
	}{
		{"below min_supported", "US", "2.1.0", "ios-app", 200, "2.3.1 DEFAULT default REQUIRED", "2.2.0:Baseline,2.3.1:Security fix", ""},
		{"below a required version", "DE", "2.2.0", "ios-app", 200, "2.4.0 TARGETING_MATCH eu REQUIRED", "2.3.1:Security fix,2.4.0:New checkout", ""},
		{"above the required version", "DE", "2.3.1", "ios-app", 200, "2.4.0 TARGETING_MATCH eu OPTIONAL", "2.4.0:New checkout", ""},
		{"at the resolved version", "DE", "2.4.0", "ios-app", 200, "2.4.0 TARGETING_MATCH eu NONE", "", ""},
		{"above the resolved version: never a downgrade", "US", "2.4.0", "ios-app", 200, "2.3.1 DEFAULT default NONE", "", ""},
		{"on a withdrawn version", "DE", "2.3.2", "ios-app", 200, "2.4.0 TARGETING_MATCH eu REQUIRED", "2.4.0:New checkout", ""},
		{"v prefix and short form", "DE", "v2.3", "ios-app", 200, "2.4.0 TARGETING_MATCH eu REQUIRED", "2.3.1:Security fix,2.4.0:New checkout", ""},
		{"unknown component", "DE", "2.2.0", "android-app", 404, "  ", "", "FLAG_NOT_FOUND"},
		{"bad current_version", "DE", "2.4.0.1", "ios-app", 400, "  ", "", "INVALID_CONTEXT"},
		{"no current_version", "DE", "", "ios-app", 400, "  ", "", "INVALID_CONTEXT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"context.targetingKey": {"u1"}, "context.country": {tc.country}}
			if tc.current != "" {
				q.Set("current_version", tc.current)
			}
			r := ts.availabilityGET(t, client, tc.component, q)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d %s, want %d", r.status, r.body, tc.wantStatus)
			}
			got := availabilityAnswer(t, r)
			gotLine := strings.Join([]string{got.GetVersion(), got.GetReason(), got.GetRule(), got.GetUpdate()}, " ")
			if tc.wantError != "" {
				gotLine = strings.Join([]string{got.GetVersion(), got.GetRule(), got.GetUpdate()}, " ")
			}
			if gotLine != tc.want || notesOf(got) != tc.wantNotes || got.GetErrorCode() != tc.wantError ||
				got.GetComponent() != tc.component || got.GetRevision() == 0 {
				t.Errorf("GET = %s, want %q notes %q error %q", r.body, tc.want, tc.wantNotes, tc.wantError)
			}
			if tc.wantError != "" && (got.GetReason() != "ERROR" || got.GetErrorMessage() == "") {
				t.Errorf("error answer = %s, want reason ERROR and a message", r.body)
			}
			if (r.header.Get("ETag") != "") != (tc.wantStatus == 200) {
				t.Errorf("ETag = %q on a %d answer", r.header.Get("ETag"), r.status)
			}

			// POST and gRPC answer the same.
			body := map[string]any{"current_version": tc.current, "context": map[string]any{"targetingKey": "u1", "country": tc.country}}
			post := ts.call(t, "POST", fmt.Sprintf(availabilityURL, tc.component), "Authorization", client, body)
			if post.status != r.status || !proto.Equal(availabilityAnswer(t, post), got) {
				t.Errorf("POST = %d %s, want %d %s", post.status, post.body, r.status, r.body)
			}
			ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": "u1", "country": tc.country})
			viaGRPC, err := grpcClient.GetAvailability(rpcContext(client), &sdkpb.GetAvailabilityRequest{
				Component: tc.component, Context: ctx, CurrentVersion: tc.current,
			})
			if err != nil || !proto.Equal(viaGRPC, got) {
				t.Errorf("gRPC = %v, %v; want %v", viaGRPC, err, got)
			}
		})
	}
}

func TestAvailabilityETag(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	client := ts.newKey(t, map[string]any{"name": "app", "kind": "client", "project": "default", "environment": "production"})
	q := url.Values{"current_version": {"2.3.1"}, "context.targetingKey": {"u1"}, "context.country": {"DE"}}
	first := ts.availabilityGET(t, client, "ios-app", q)
	etag := first.header.Get("ETag")
	if first.status != 200 || !strings.HasPrefix(etag, `W/"`) || first.header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("first GET = %d ETag %q Cache-Control %q", first.status, etag, first.header.Get("Cache-Control"))
	}
	notModified := func(t *testing.T, what string) {
		t.Helper()
		r := ts.availabilityGET(t, client, "ios-app", q, "If-None-Match", etag)
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
			t.Errorf("%s: If-None-Match = %d %q ETag %q, want 304 with ETag %s", what, r.status, r.body, r.header.Get("ETag"), etag)
		}
	}
	notModified(t, "unchanged")
	// A change elsewhere in the environment bumps the revision but leaves
	// this client's availability, and its ETag, as they were.
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	notModified(t, "after an unrelated change")
	if r := ts.availabilityGET(t, client, "ios-app", q, "If-None-Match", `"other", `+etag); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match with a list = %d, want 304", r.status)
	}
	// Another client (context) has another ETag.
	other := ts.availabilityGET(t, client, "ios-app", url.Values{"current_version": {"2.3.1"}, "context.targetingKey": {"u1"}, "context.country": {"US"}}, "If-None-Match", etag)
	if other.status != 200 || other.header.Get("ETag") == etag {
		t.Errorf("other context = %d ETag %q, want 200 with another ETag", other.status, other.header.Get("ETag"))
	}

	// A targeting change that changes the answer: 200 with a new ETag.
	ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/components/ios-app/environments/production?update_mask=rules", `{"rules":[]}`)
	changed := ts.availabilityGET(t, client, "ios-app", q, "If-None-Match", etag)
	if changed.status != 200 || changed.header.Get("ETag") == etag || changed.header.Get("ETag") == "" {
		t.Fatalf("after targeting change = %d ETag %q, want 200 with a new ETag", changed.status, changed.header.Get("ETag"))
	}
	if a := availabilityAnswer(t, changed); a.GetVersion() != "2.3.1" || a.GetUpdate() != "NONE" ||
		a.GetRevision() <= availabilityAnswer(t, first).GetRevision() {
		t.Errorf("after targeting change = %s, want 2.3.1 NONE at a later revision", changed.body)
	}
	etag = changed.header.Get("ETag")
	notModified(t, "new ETag")
	// Error answers carry no ETag and are never 304.
	if r := ts.availabilityGET(t, client, "nope", q, "If-None-Match", "*"); r.status != 404 || r.header.Get("ETag") != "" {
		t.Errorf("unknown component with If-None-Match * = %d ETag %q, want 404 without ETag", r.status, r.header.Get("ETag"))
	}
}

func TestAvailabilityQuery(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	// A typed attribute: only 2.4.0-capable devices (os_major ≥ 16) get it.
	ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/components/ios-app/environments/staging", `{
		"rules":[{"id":"modern","conditions":[{"attribute":"os_major","op":"gte","values":[16]}],"serve":{"version":"2.4.0"}},
		         {"id":"tags","conditions":[{"attribute":"tags","op":"in","values":["beta"]}],"serve":{"version":"2.2.0"}}],
		"default":{"version":"2.3.1"}}`)
	staging := ts.newKey(t, map[string]any{"name": "s", "kind": "client", "project": "default", "environment": "staging"})
	tests := []struct {
		name       string
		query      string
		wantStatus int
		want       string // version rule error_code
	}{
		{"typed context as JSON", `current_version=2.0.0&context={"targetingKey":"u","os_major":17}`, 200, "2.4.0 modern "},
		{"a query string is a string, never a number", `current_version=2.0.0&context.targetingKey=u&context.os_major=17`, 200, "2.3.1 default "},
		{"context.x overrides the JSON", `current_version=2.0.0&context={"os_major":17}&context.os_major=x`, 200, "2.3.1 default "},
		{"repeated context.x is an array", `current_version=2.0.0&context.tags=alpha&context.tags=beta`, 200, "2.2.0 tags "},
		{"object attribute", `current_version=2.0.0&context={"device":{"os":"ios"}}`, 200, "2.3.1 default "},
		{"non-string targeting key", `current_version=2.0.0&context={"targetingKey":7}`, 400, "  INVALID_CONTEXT"},
		{"malformed context JSON", `current_version=2.0.0&context={`, 400, "  INVALID_CONTEXT"},
		{"empty context", `current_version=2.0.0`, 200, "2.3.1 default "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			r := ts.availabilityGET(t, staging, "ios-app", q)
			a := availabilityAnswer(t, r)
			if got := a.GetVersion() + " " + a.GetRule() + " " + a.GetErrorCode(); r.status != tc.wantStatus || got != tc.want {
				t.Errorf("GET ?%s = %d %s, want %d %q", tc.query, r.status, r.body, tc.wantStatus, tc.want)
			}
		})
	}
	// An unknown component is reported before a bad context (DESIGN §3).
	r := ts.availabilityGET(t, staging, "nope", url.Values{"context": {"{"}})
	if r.status != 404 || availabilityAnswer(t, r).GetErrorCode() != "FLAG_NOT_FOUND" {
		t.Errorf("unknown component with a bad context = %d %s, want 404 FLAG_NOT_FOUND", r.status, r.body)
	}

	callErrors := []struct {
		name       string
		method     string
		query      string
		body       string
		wantStatus int
		wantField  string
	}{
		{"unknown query parameter", "GET", "currentVersion=2.0.0", "", 400, "currentVersion"},
		{"repeated current_version", "GET", "current_version=1.0.0&current_version=2.0.0", "", 400, "current_version"},
		{"too many attributes", "GET", manyAttributes(300), "", 400, "context"},
		{"malformed body", "POST", "", `{"current_version":`, 400, "body"},
		{"unknown body field", "POST", "", `{"current_version":"2.0.0","colour":"red"}`, 400, "body"},
		{"other component in the body", "POST", "", `{"component":"android-app"}`, 400, "component"},
	}
	for _, tc := range callErrors {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := ts.call(t, tc.method, "/api/v1/components/ios-app/availability?"+tc.query, "X-API-Key", staging, body)
			m := r.json(t)
			if r.status != tc.wantStatus || m["code"] != "INVALID_ARGUMENT" || m["field"] != tc.wantField {
				t.Errorf("%s = %d %s, want %d INVALID_ARGUMENT at %s", tc.name, r.status, r.body, tc.wantStatus, tc.wantField)
			}
		})
	}
	// POST accepts the camelCase JSON names of the gRPC request too.
	post := ts.call(t, "POST", "/api/v1/components/ios-app/availability", "X-API-Key", staging,
		`{"currentVersion":"2.0.0","context":{"os_major":16}}`)
	if a := availabilityAnswer(t, post); post.status != 200 || a.GetVersion() != "2.4.0" {
		t.Errorf("POST camelCase = %d %s, want 2.4.0", post.status, post.body)
	}
}

func manyAttributes(n int) string {
	q := url.Values{"current_version": {"1.0.0"}}
	for i := range n {
		q.Set(fmt.Sprintf("context.a%d", i), "x")
	}
	return q.Encode()
}

func TestAvailabilityKeys(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	client := ts.newKey(t, map[string]any{"name": "app", "kind": "client", "project": "default", "environment": "production"})
	viewer := ts.newKey(t, map[string]any{"name": "v", "kind": "admin", "role": "viewer"})
	const path = "/api/v1/components/ios-app/availability?current_version=2.2.0"
	tests := []struct {
		name   string
		header string
		key    string
		path   string
		want   int
	}{
		{"no key", "", "", path, 401},
		{"unknown key", "X-API-Key", "syc_unknown", path, 401},
		{"client key", "X-API-Key", client, path, 200},
		{"client key, bearer", "Authorization", client, path, 200},
		{"client key names its own environment", "X-API-Key", client, path + "&project=default&environment=production", 200},
		{"client key names another environment", "X-API-Key", client, path + "&project=default&environment=staging", 403},
		{"sdk key", "X-API-Key", ts.creds.SDKKey, path, 200},
		{"admin token without scope", "Authorization", ts.creds.AdminToken, path, 400},
		{"admin token with scope", "Authorization", ts.creds.AdminToken, path + "&project=default&environment=production", 200},
		{"viewer with scope", "Authorization", viewer, path + "&project=default&environment=production", 200},
		{"admin token, unknown environment", "Authorization", ts.creds.AdminToken, path + "&project=default&environment=moon", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.call(t, "GET", tc.path, tc.header, tc.key, nil)
			if r.status != tc.want {
				t.Errorf("GET = %d %s, want %d", r.status, r.body, tc.want)
			}
			if m := r.json(t); tc.want != 200 && (m["code"] == nil || m["message"] == "") {
				t.Errorf("failed call body = %s, want code and message", r.body)
			}
		})
	}
	// gRPC: the same method permission.
	avail := sdkpb.NewAvailabilityServiceClient(ts.conn)
	grpcTests := []struct {
		name string
		key  string
		req  *sdkpb.GetAvailabilityRequest
		want codes.Code
	}{
		{"no key", "", &sdkpb.GetAvailabilityRequest{Component: "ios-app", CurrentVersion: "2.2.0"}, codes.Unauthenticated},
		{"client key", client, &sdkpb.GetAvailabilityRequest{Component: "ios-app", CurrentVersion: "2.2.0"}, codes.OK},
		{"client key, other environment", client, &sdkpb.GetAvailabilityRequest{Project: "default", Environment: "staging", Component: "ios-app"}, codes.PermissionDenied},
		{"admin without scope", ts.creds.AdminToken, &sdkpb.GetAvailabilityRequest{Component: "ios-app"}, codes.InvalidArgument},
		{"admin with scope", ts.creds.AdminToken, &sdkpb.GetAvailabilityRequest{Project: "default", Environment: "production", Component: "ios-app"}, codes.OK},
	}
	for _, tc := range grpcTests {
		t.Run("grpc/"+tc.name, func(t *testing.T) {
			ctx := t.Context()
			if tc.key != "" {
				ctx = rpcContext(tc.key)
			}
			if _, err := avail.GetAvailability(ctx, tc.req); status.Code(err) != tc.want {
				t.Errorf("GetAvailability = %v, want %v", err, tc.want)
			}
		})
	}
}

// availabilityVectors is a conformance file of availability cases.
type availabilityVectors struct {
	Document json.RawMessage `json:"document"`
	Cases    []struct {
		Environment    string          `json:"environment"`
		Component      string          `json:"component"`
		Context        json.RawMessage `json:"context"`
		CurrentVersion *string         `json:"current_version"`
		Expect         struct {
			Version string `json:"version"`
			Reason  string `json:"reason"`
			Rule    string `json:"rule"`
			Update  string `json:"update"`
			Notes   []struct {
				Version string `json:"version"`
				Notes   string `json:"notes"`
			} `json:"notes"`
			Error string `json:"error"`
		} `json:"expect"`
	} `json:"cases"`
}

func readAvailabilityVectors(t *testing.T, path string) *availabilityVectors {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vf availabilityVectors
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if len(vf.Cases) == 0 {
		t.Fatalf("%s has no cases", path)
	}
	return &vf
}

// TestAvailabilityConformanceREST runs every availability vector through
// the real import path and the REST endpoint, with a client key of the
// case's environment: POST always, and GET with context.* parameters when
// the context holds only strings.
func TestAvailabilityConformanceREST(t *testing.T) {
	dir := conformance.Dir(t, "availability")
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no availability vectors in %s (%v)", dir, err)
	}
	ts := startServer(t)
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			vf := readAvailabilityVectors(t, path)
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
				keys[env] = ts.newKey(t, map[string]any{"name": "conformance", "kind": "client", "project": head.Project, "environment": env})
			}
			gets := 0
			for i, tc := range vf.Cases {
				body := map[string]any{"context": tc.Context}
				q := url.Values{}
				if tc.CurrentVersion != nil {
					body["current_version"] = *tc.CurrentVersion
					q.Set("current_version", *tc.CurrentVersion)
				}
				if len(tc.Context) == 0 {
					delete(body, "context")
				}
				want := tc.Expect
				check := func(how string, r response) {
					got := availabilityAnswer(t, r)
					wantStatus := map[string]int{"": 200, "FLAG_NOT_FOUND": 404}[want.Error]
					if want.Error != "" && wantStatus == 0 {
						wantStatus = 400
					}
					var notes []string
					for _, n := range want.Notes {
						notes = append(notes, n.Version+":"+n.Notes)
					}
					if r.status != wantStatus || got.GetVersion() != want.Version || got.GetReason() != want.Reason ||
						got.GetRule() != want.Rule || got.GetUpdate() != want.Update || got.GetErrorCode() != want.Error ||
						notesOf(got) != strings.Join(notes, ",") {
						t.Errorf("case %d %s %s/%s context %s current %v = %d %s, want %d %+v",
							i, how, tc.Environment, tc.Component, tc.Context, q.Get("current_version"), r.status, r.body, wantStatus, want)
					}
				}
				check("POST", ts.call(t, "POST", fmt.Sprintf(availabilityURL, url.PathEscape(tc.Component)), "X-API-Key", keys[tc.Environment], body))
				if stringContext(tc.Context, q) {
					gets++
					check("GET", ts.availabilityGET(t, keys[tc.Environment], url.PathEscape(tc.Component), q))
				}
			}
			if gets == 0 {
				t.Error("no case ran through GET")
			}
		})
	}
}

// stringContext adds a context of strings and arrays of strings to q as
// context.* parameters; it reports false for any other context.
func stringContext(raw json.RawMessage, q url.Values) bool {
	var m map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return false
	}
	for name, v := range m {
		switch x := v.(type) {
		case string:
			q.Set("context."+name, x)
		case []any:
			if len(x) < 2 || !reflect.DeepEqual(x, stringsOf(x)) {
				return false
			}
			for _, e := range x {
				q.Add("context."+name, e.(string))
			}
		default:
			return false
		}
	}
	return true
}

// stringsOf returns xs if every element is a string, else nil.
func stringsOf(xs []any) []any {
	for _, x := range xs {
		if _, ok := x.(string); !ok {
			return nil
		}
	}
	return xs
}
