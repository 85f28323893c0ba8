package server_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/conformance"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

const versionsPath = "/api/v1/projects/default/components/ios-app/versions"

// iosApp is a component in the default project: min_supported 2.2.0, a
// required 2.3.1, a withdrawn 2.3.2, and production targeting that serves
// 2.4.0 to eu-users (country DE or FR) and 2.3.1 to everyone else.
func iosApp(t *testing.T, ts *testServer) {
	t.Helper()
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/segments", `{"key":"eu-users",
		"conditions":[{"attribute":"country","op":"in","values":["DE","FR"]}]}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/components", `{"key":"ios-app","min_supported":"2.2.0",
		"versions":[
			{"version":"2.1.0","notes":"Old"},
			{"version":"2.2.0","notes":"Baseline"},
			{"version":"2.3.1","notes":"Security fix","required":true},
			{"version":"2.3.2","notes":"Broken sync","withdrawn":true},
			{"version":"2.4.0","notes":"New checkout"}],
		"environments":{"production":{
			"rules":[{"id":"eu","segments":["eu-users"],"serve":{"version":"2.4.0"}}],
			"default":{"version":"2.3.1"}}}}`)
}

// versionStates returns "version=STATE[envs]" for every version, in order.
func versionStates(t *testing.T, ts *testServer) []string {
	t.Helper()
	list := ts.mustAdmin(t, "GET", versionsPath, nil)
	var out []string
	for _, it := range list["versions"].([]any) {
		v := it.(map[string]any)
		envs, _ := v["environments"].([]any)
		out = append(out, fmt.Sprintf("%s=%s%v", v["version"].(map[string]any)["version"], v["state"], envs))
	}
	return out
}

func TestRegisterVersion(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	got := ts.mustAdmin(t, "POST", versionsPath, map[string]any{
		"version": "2.5.0", "notes": "Dark mode", "artifact": "https://apps.example/ios/2.5.0",
		"required": true, "labels": map[string]any{"commit": "abc123"},
	})
	v := got["version"].(map[string]any)
	if got["state"] != "DEPLOYED" || got["component"] != "ios-app" || v["version"] != "2.5.0" ||
		v["artifact"] != "https://apps.example/ios/2.5.0" || v["required"] != true ||
		v["labels"].(map[string]any)["commit"] != "abc123" || got["etag"] == "" {
		t.Errorf("RegisterVersion = %v, want 2.5.0 DEPLOYED with its fields and an etag", got)
	}
	// Registered versions join the document, in registration order.
	doc := ts.mustAdmin(t, "GET", "/api/v1/projects/default:export", nil)
	vs := doc["components"].([]any)[0].(map[string]any)["versions"].([]any)
	if last := vs[len(vs)-1].(map[string]any); last["version"] != "2.5.0" || last["notes"] != "Dark mode" {
		t.Errorf("exported last version = %v, want 2.5.0", last)
	}

	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"duplicate", versionsPath, `{"version":"2.5.0"}`, 409, "ALREADY_EXISTS", ""},
		{"duplicate by precedence, v prefix", versionsPath, `{"version":"v2.4.0"}`, 409, "ALREADY_EXISTS", ""},
		{"duplicate by precedence, short form", versionsPath, `{"version":"2.4"}`, 409, "ALREADY_EXISTS", ""},
		{"duplicate by precedence, build metadata", versionsPath, `{"version":"2.4.0+build.7"}`, 409, "ALREADY_EXISTS", ""},
		{"bad semver", versionsPath, `{"version":"2.4.0.1"}`, 400, "INVALID_ARGUMENT", "version.version"},
		{"leading zero", versionsPath, `{"version":"02.4.0"}`, 400, "INVALID_ARGUMENT", "version.version"},
		{"no version", versionsPath, `{"notes":"x"}`, 400, "INVALID_ARGUMENT", "version.version"},
		{"unknown field", versionsPath, `{"version":"3.0.0","colour":"red"}`, 400, "INVALID_ARGUMENT", ""},
		{"unknown component", "/api/v1/projects/default/components/nope/versions", `{"version":"1.0.0"}`, 404, "NOT_FOUND", ""},
		{"unknown project", "/api/v1/projects/nope/components/ios-app/versions", `{"version":"1.0.0"}`, 404, "NOT_FOUND", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, "POST", tc.path, tc.body)
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
		})
	}
	if n := len(versionStates(t, ts)); n != 6 {
		t.Errorf("%d versions after refused registrations, want 6", n)
	}
}

func TestVersionStates(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	ts.mustAdmin(t, "POST", versionsPath, `{"version":"2.5.0"}`)
	want := []string{
		"2.1.0=DEPLOYED[]", "2.2.0=DEPLOYED[]", "2.3.1=RELEASED[production]",
		"2.3.2=WITHDRAWN[]", "2.4.0=RELEASED[production]", "2.5.0=DEPLOYED[]",
	}
	if got := versionStates(t, ts); !slices.Equal(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}

	// Released to an audience: a canary in staging. A rollout entry of
	// weight 0 serves nobody.
	tg := `/api/v1/projects/default/components/ios-app/environments/staging`
	ts.mustAdmin(t, "PATCH", tg, `{"default":{"rollout":[{"version":"2.5.0","weight":100000},{"version":"2.2.0","weight":0}]}}`)
	one := ts.mustAdmin(t, "GET", versionsPath+"/2.5.0", nil)
	if one["state"] != "RELEASED" || fmt.Sprint(one["environments"]) != "[staging]" {
		t.Errorf("2.5.0 = %v, want RELEASED in [staging]", one)
	}
	if s := ts.mustAdmin(t, "GET", versionsPath+"/2.2.0", nil)["state"]; s != "DEPLOYED" {
		t.Errorf("2.2.0 at weight 0 = %v, want DEPLOYED", s)
	}

	// Deprecated: still served where targeted.
	dep := ts.mustAdmin(t, "PATCH", versionsPath+"/2.3.1", `{"deprecated":true}`)
	if dep["state"] != "DEPRECATED" || fmt.Sprint(dep["environments"]) != "[production]" ||
		dep["version"].(map[string]any)["notes"] != "Security fix" || dep["version"].(map[string]any)["required"] != true {
		t.Errorf("deprecate 2.3.1 = %v, want DEPRECATED in [production], notes and required kept", dep)
	}

	// Withdrawing a version that targeting serves is refused, naming it;
	// even a rollout entry of weight 0 names it.
	for _, v := range []string{"2.4.0", "2.2.0"} {
		r := ts.admin(t, "PATCH", versionsPath+"/"+v, `{"withdrawn":true}`)
		m := r.json(t)
		if r.status != http.StatusBadRequest || m["code"] != "FAILED_PRECONDITION" {
			t.Fatalf("withdraw targeted %s = %d %s, want 400 FAILED_PRECONDITION", v, r.status, r.body)
		}
		wantPath := map[string]string{
			"2.4.0": "components[0].environments.production.rules[0].serve.version",
			"2.2.0": "components[0].environments.staging.default.rollout[1].version",
		}[v]
		if !strings.Contains(m["message"].(string), wantPath) {
			t.Errorf("withdraw %s message = %q, want it to name %s", v, m["message"], wantPath)
		}
	}
	// Over gRPC too.
	_, err := pb.NewComponentServiceClient(ts.conn).UpdateVersion(rpcContext(ts.creds.AdminToken), &pb.UpdateVersionRequest{
		Project: "default", Component: "ios-app", Version: &pb.Version{Version: "2.4.0", Withdrawn: true},
	})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("gRPC withdraw targeted = %v, want FailedPrecondition", err)
	}

	// Move production off 2.4.0, then withdrawing works.
	ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/components/ios-app/environments/production?update_mask=rules", `{"rules":[]}`)
	if s := ts.mustAdmin(t, "GET", versionsPath+"/2.4.0", nil)["state"]; s != "DEPLOYED" {
		t.Errorf("2.4.0 after its rule went = %v, want DEPLOYED", s)
	}
	w := ts.mustAdmin(t, "PATCH", versionsPath+"/v2.4", `{"withdrawn":true}`)
	if w["state"] != "WITHDRAWN" || w["version"].(map[string]any)["version"] != "2.4.0" {
		t.Errorf("withdraw 2.4.0 (named v2.4) = %v, want WITHDRAWN, version text kept", w)
	}
	// A withdrawn version is never restored, and never targeted.
	if r := ts.admin(t, "PATCH", versionsPath+"/2.4.0", `{"withdrawn":false}`); r.status != 400 || r.json(t)["code"] != "FAILED_PRECONDITION" {
		t.Errorf("restore withdrawn = %d %s, want 400 FAILED_PRECONDITION", r.status, r.body)
	}
	r := ts.admin(t, "PATCH", tg, `{"default":{"version":"2.4.0"}}`)
	if m := r.json(t); r.status != 400 || m["field"] != "targeting.default.version" {
		t.Errorf("target withdrawn version = %d %s, want 400 at targeting.default.version", r.status, r.body)
	}
	want = []string{
		"2.1.0=DEPLOYED[]", "2.2.0=DEPLOYED[]", "2.3.1=DEPRECATED[production]",
		"2.3.2=WITHDRAWN[]", "2.4.0=WITHDRAWN[]", "2.5.0=RELEASED[staging]",
	}
	if got := versionStates(t, ts); !slices.Equal(got, want) {
		t.Errorf("final states = %v, want %v", got, want)
	}
}

func TestUpdateVersion(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	reg := ts.mustAdmin(t, "POST", versionsPath, `{"version":"2.5.0","notes":"a","artifact":"https://x/1","labels":{"k":"v"}}`)
	etag := reg["etag"].(string)

	// The REST PATCH changes only the fields in the body.
	upd := ts.mustAdmin(t, "PATCH", versionsPath+"/2.5.0?etag="+etag, `{"notes":"b"}`)
	v := upd["version"].(map[string]any)
	if v["notes"] != "b" || v["artifact"] != "https://x/1" || v["labels"].(map[string]any)["k"] != "v" || upd["etag"] == etag {
		t.Errorf("update notes = %v, want notes b, artifact and labels kept, a new etag", upd)
	}
	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"stale etag", versionsPath + "/2.5.0?etag=" + etag, `{"notes":"c"}`, 409, "ABORTED"},
		{"unknown version", versionsPath + "/9.9.9", `{"notes":"c"}`, 404, "NOT_FOUND"},
		{"bad version", versionsPath + "/nine", `{"notes":"c"}`, 400, "INVALID_ARGUMENT"},
		{"unknown component", "/api/v1/projects/default/components/nope/versions/1.0.0", `{"notes":"c"}`, 404, "NOT_FOUND"},
		{"state is derived", versionsPath + "/2.5.0", `{"state":"WITHDRAWN"}`, 400, "INVALID_ARGUMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, "PATCH", tc.path, tc.body)
			if r.status != tc.wantStatus || r.json(t)["code"] != tc.wantCode {
				t.Errorf("status = %d %s, want %d %s", r.status, r.body, tc.wantStatus, tc.wantCode)
			}
		})
	}
	if r := ts.admin(t, "GET", versionsPath+"/nine", nil); r.status != 400 || r.json(t)["field"] != "version" {
		t.Errorf("GET bad version = %d %s, want 400 at version", r.status, r.body)
	}
	if r := ts.admin(t, "GET", versionsPath+"/9.9.9", nil); r.status != 404 {
		t.Errorf("GET unknown version = %d %s, want 404", r.status, r.body)
	}

	// Paging lists every version once.
	var seen []string
	token := ""
	for range 10 {
		page := ts.mustAdmin(t, "GET", versionsPath+"?page_size=2&page_token="+token, nil)
		for _, it := range page["versions"].([]any) {
			seen = append(seen, it.(map[string]any)["version"].(map[string]any)["version"].(string))
		}
		token, _ = page["next_page_token"].(string)
		if token == "" {
			break
		}
	}
	if want := []string{"2.1.0", "2.2.0", "2.3.1", "2.3.2", "2.4.0", "2.5.0"}; !slices.Equal(seen, want) {
		t.Errorf("paged versions = %v, want %v", seen, want)
	}
}

func TestComponentTargeting(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	const path = "/api/v1/projects/default/components/ios-app/environments/"
	got := ts.mustAdmin(t, "GET", path+"production", nil)
	if got["component"] != "ios-app" || got["environment"] != "production" || got["etag"] == "" || got["revision"] == "" ||
		got["targeting"].(map[string]any)["default"].(map[string]any)["version"] != "2.3.1" {
		t.Errorf("GetComponentTargeting = %v", got)
	}
	empty := ts.mustAdmin(t, "GET", path+"staging", nil)
	if empty["etag"] != nil || len(empty["targeting"].(map[string]any)) != 0 {
		t.Errorf("targeting without an entry = %v, want empty and no etag", empty)
	}
	upd := ts.mustAdmin(t, "PATCH", path+"production?update_mask=default", `{"default":{"version":"2.4.0"}}`)
	if upd["etag"] == got["etag"] || upd["revision"] == got["revision"] ||
		len(upd["targeting"].(map[string]any)["rules"].([]any)) != 1 {
		t.Errorf("UpdateComponentTargeting = %v, want new etag and revision, rules kept", upd)
	}
	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantField  string
	}{
		{"unknown version", path + "production", `{"default":{"version":"9.0.0"}}`, 400, "targeting.default.version"},
		{"withdrawn version", path + "production", `{"targets":[{"version":"2.3.2","keys":["qa"]}]}`, 400, "targeting.targets[0].version"},
		{"variant in a component", path + "production", `{"default":{"variant":"on"}}`, 400, "targeting.default"},
		{"enabled in a component", path + "production", `{"enabled":true}`, 400, "targeting.enabled"},
		{"bad rollout", path + "production", `{"default":{"rollout":[{"version":"2.4.0","weight":5}]}}`, 400, "targeting.default.rollout"},
		{"stale etag", path + "production?etag=" + got["etag"].(string), `{"default":{"version":"2.2.0"}}`, 409, ""},
		{"unknown environment", path + "moon", `{"default":{"version":"2.4.0"}}`, 404, ""},
		{"unknown component", "/api/v1/projects/default/components/nope/environments/production", `{}`, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, "PATCH", tc.path, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d %s, want %d", r.status, r.body, tc.wantStatus)
			}
			if f := fmt.Sprint(r.json(t)["field"]); tc.wantField != "" && !strings.HasPrefix(f, tc.wantField) {
				t.Errorf("field = %s, want prefix %s (body %s)", f, tc.wantField, r.body)
			}
		})
	}
	// gRPC reads what REST wrote.
	ct, err := pb.NewComponentServiceClient(ts.conn).GetComponentTargeting(rpcContext(ts.creds.AdminToken),
		&pb.GetComponentTargetingRequest{Project: "default", Component: "ios-app", Environment: "production"})
	if err != nil || ct.GetTargeting().GetDefault().GetVersion() != "2.4.0" || ct.GetEtag() != upd["etag"] {
		t.Errorf("gRPC GetComponentTargeting = %v, %v; want default 2.4.0 and etag %v", ct, err, upd["etag"])
	}
}

func TestVersionPermissions(t *testing.T) {
	ts := startServer(t)
	iosApp(t, ts)
	viewer := ts.newKey(t, map[string]any{"name": "v", "kind": "admin", "role": "viewer"})
	editor := ts.newKey(t, map[string]any{"name": "e", "kind": "admin", "role": "editor"})
	client := ts.newKey(t, map[string]any{"name": "c", "kind": "client", "project": "default", "environment": "production"})
	const targeting = "/api/v1/projects/default/components/ios-app/environments/production"
	tests := []struct {
		name   string
		key    string
		method string
		path   string
		body   string
		want   int
	}{
		{"viewer lists versions", viewer, "GET", versionsPath, "", 200},
		{"viewer reads targeting", viewer, "GET", targeting, "", 200},
		{"viewer may not register", viewer, "POST", versionsPath, `{"version":"3.0.0"}`, 403},
		{"viewer may not withdraw", viewer, "PATCH", versionsPath + "/2.1.0", `{"withdrawn":true}`, 403},
		{"viewer may not target", viewer, "PATCH", targeting, `{"default":{"version":"2.4.0"}}`, 403},
		{"editor registers", editor, "POST", versionsPath, `{"version":"3.0.0"}`, 200},
		{"editor deprecates", editor, "PATCH", versionsPath + "/2.1.0", `{"deprecated":true}`, 200},
		{"editor targets", editor, "PATCH", targeting, `{"default":{"version":"2.4.0"}}`, 200},
		{"client key may not list versions", client, "GET", versionsPath, "", 403},
		{"client key may not register", client, "POST", versionsPath, `{"version":"3.1.0"}`, 403},
		{"client key may not read targeting", client, "GET", targeting, "", 403},
		{"sdk key may not register", ts.creds.SDKKey, "POST", versionsPath, `{"version":"3.1.0"}`, 403},
		{"client key asks availability", client, "GET", "/api/v1/components/ios-app/availability?current_version=2.2.0", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			if r := ts.call(t, tc.method, tc.path, "Authorization", tc.key, body); r.status != tc.want {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.want)
			}
		})
	}
}

// TestImportExportComponents pins that the components section, deprecated
// marks included, survives import and export unchanged.
func TestImportExportComponents(t *testing.T) {
	ts := startServer(t)
	paths, err := filepath.Glob(filepath.Join(conformance.Dir(t, "availability"), "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no availability vectors (%v)", err)
	}
	doc, err := model.Parse(readAvailabilityVectors(t, paths[0]).Document)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Components) == 0 || len(doc.Components[0].Versions) == 0 {
		t.Fatalf("%s has no component versions", paths[0])
	}
	doc.Components[0].Versions[0].Deprecated = true
	in, err := model.Encode(doc, "json")
	if err != nil {
		t.Fatal(err)
	}
	ts.mustAdmin(t, "POST", "/api/v1/documents:import", `{"document":`+string(in)+`}`)
	r := ts.admin(t, "GET", "/api/v1/projects/"+doc.Project+":export", nil)
	if r.status != 200 {
		t.Fatalf("export = %d %s", r.status, r.body)
	}
	back, err := model.Parse(r.body)
	if err != nil {
		t.Fatalf("parse export: %v", err)
	}
	out, err := model.Encode(back, "json")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(in) {
		t.Errorf("export after import =\n%s\nwant\n%s", out, in)
	}
	if n := len(back.Components); n == 0 || !back.Components[0].Versions[0].Deprecated {
		t.Errorf("export lost the components or the deprecated mark: %d components", n)
	}
}
