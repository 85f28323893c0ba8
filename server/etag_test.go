package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// etagCase is one kind of resource with an etag: where it lives, how to
// make one, and a field a PATCH changes while another stays.
type etagCase struct {
	kind   string
	create func(t *testing.T, ts *testServer, name string) // makes resource name
	path   func(name string) string                        // its URL
	patch  string                                          // the field a PATCH changes (a string)
	keep   string                                          // a field the PATCH does not send
	delete bool                                            // the resource has a DELETE route
}

const etagBase = "/api/v1/projects/default"

func etagCases() []etagCase {
	post := func(path, format string) func(*testing.T, *testServer, string) {
		return func(t *testing.T, ts *testServer, name string) {
			t.Helper()
			ts.mustAdmin(t, "POST", path, fmt.Sprintf(format, name))
		}
	}
	at := func(format string) func(string) string {
		return func(name string) string { return fmt.Sprintf(format, name) }
	}
	return []etagCase{
		{"project", post("/api/v1/projects", `{"key":%q,"description":"d"}`), at("/api/v1/projects/%s"), "description", "key", true},
		{"environment", post(etagBase+"/environments", `{"key":%q,"description":"d"}`), at(etagBase + "/environments/%s"), "description", "key", true},
		{"segment", post(etagBase+"/segments", `{"key":%q,"description":"d","include":["u1"]}`), at(etagBase + "/segments/%s"), "description", "include", true},
		{"flag", post(etagBase+"/flags", `{"key":%q,"type":"string","description":"d","variants":[{"key":"a","value":"A"}]}`), at(etagBase + "/flags/%s"), "description", "type", true},
		{"flag targeting", post(etagBase+"/flags", `{"key":%q,"type":"bool","environments":{"production":{"enabled":true,"salt":"s"}}}`),
			at(etagBase + "/flags/%s/environments/production"), "targeting.bucket_by", "targeting.salt", false},
		{"component", post(etagBase+"/components", `{"key":%q,"description":"d","min_supported":"1.0.0","versions":[{"version":"1.0.0"}]}`),
			at(etagBase + "/components/%s"), "description", "min_supported", true},
		{"component targeting", post(etagBase+"/components", `{"key":%q,"versions":[{"version":"1.0.0"}],"environments":{"production":{"salt":"s","default":{"version":"1.0.0"}}}}`),
			at(etagBase + "/components/%s/environments/production"), "targeting.bucket_by", "targeting.salt", false},
		{"version", post(etagBase+"/components", `{"key":%q,"versions":[{"version":"1.0.0","notes":"n","artifact":"a"}]}`),
			at(etagBase + "/components/%s/versions/1.0.0"), "version.notes", "version.artifact", false},
		{"release", post(etagBase+"/releases", `{"id":%q,"environment":"production","title":"t","release_notes":"n","items":[{"flag":"base","variant":"on"}],"plan":[{"weight":100000}]}`),
			at(etagBase + "/releases/%s"), "title", "release_notes", true},
		{"release model", post(etagBase+"/release-models", `{"key":%q,"title":"t","description":"d","stages":[{"name":"all","weight":100000}]}`),
			at(etagBase + "/release-models/%s"), "description", "title", true},
		{"experiment", post(etagBase+"/experiments", `{"id":%q,"environment":"production","flag":"base","hypothesis":"h","control":{"variant":"off","weight":50000},"treatments":[{"variant":"on","weight":50000}],"traffic_share":100000,"primary_metric":"purchase"}`),
			at(etagBase + "/experiments/%s"), "hypothesis", "primary_metric", true},
		{"metric", post(etagBase+"/metrics", `{"key":%q,"kind":"conversion","description":"d","event_key":"e"}`), at(etagBase + "/metrics/%s"), "description", "event_key", true},
		{"webhook", post(etagBase+"/webhooks", `{"id":%q,"url":"https://hooks.example.com/x","secret":"whsec-0123456789abcdef","events":["release.*"],"description":"d"}`),
			at(etagBase + "/webhooks/%s"), "description", "url", true},
	}
}

// etagServer serves the flag and metric the releases and experiments of
// etagCases refer to.
func etagServer(t *testing.T) *testServer {
	t.Helper()
	ts := startServer(t)
	ts.mustAdmin(t, "POST", etagBase+"/flags", `{"key":"base","type":"bool","environments":{"production":{"enabled":true,"default":{"variant":"off"}}}}`)
	ts.mustAdmin(t, "POST", etagBase+"/metrics", `{"key":"purchase","kind":"conversion"}`)
	return ts
}

// field reads a dotted path ("targeting.salt") of an answer.
func field(m map[string]any, path string) any {
	var v any = m
	for len(path) > 0 {
		name := path
		for i := 0; i < len(path); i++ {
			if path[i] == '.' {
				name, path = path[:i], path[i+1:]
				break
			}
			if i == len(path)-1 {
				path = ""
			}
		}
		obj, _ := v.(map[string]any)
		v = obj[name]
	}
	return v
}

// leaf is the last element of a dotted path.
func leaf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return path
}

// TestEtagRule pins one rule for every PATCH and DELETE: the etag travels
// in the JSON body or as If-Match, a stale one is 409, and a plain JSON
// merge patch (no update_mask) changes only the fields it sends.
func TestEtagRule(t *testing.T) {
	ts := etagServer(t)
	for i, tc := range etagCases() {
		t.Run(tc.kind, func(t *testing.T) {
			name := fmt.Sprintf("e%d", i)
			tc.create(t, ts, name)
			path := tc.path(name)
			cur := ts.mustAdmin(t, "GET", path, nil)
			keep := field(cur, tc.keep)
			etag, _ := cur["etag"].(string)
			if etag == "" {
				t.Fatalf("GET %s = %v, want an etag", path, cur)
			}

			// The etag in the body, no update_mask: only the sent field changes.
			got := ts.mustAdmin(t, "PATCH", path, fmt.Sprintf(`{%q:"body-etag","etag":%q}`, leaf(tc.patch), etag))
			if field(got, tc.patch) != "body-etag" || fmt.Sprint(field(got, tc.keep)) != fmt.Sprint(keep) {
				t.Errorf("PATCH with a body etag = %v, want %s changed and %s = %v kept", got, tc.patch, tc.keep, keep)
			}
			stale := etag
			etag, _ = got["etag"].(string)
			if etag == stale {
				t.Fatalf("PATCH kept etag %q", etag)
			}

			// The etag as If-Match.
			r := ts.call(t, "PATCH", path, "Authorization", ts.creds.AdminToken,
				fmt.Sprintf(`{%q:"if-match"}`, leaf(tc.patch)), "If-Match", `"`+etag+`"`)
			if r.status != http.StatusOK || field(r.json(t), tc.patch) != "if-match" {
				t.Errorf("PATCH with If-Match = %d %s, want 200 and %s changed", r.status, r.body, tc.patch)
			}

			// A stale etag, either way, is a conflict and changes nothing.
			for _, how := range []struct {
				name, body string
				header     []string
			}{
				{"body", fmt.Sprintf(`{%q:"stale","etag":%q}`, leaf(tc.patch), stale), nil},
				{"If-Match", fmt.Sprintf(`{%q:"stale"}`, leaf(tc.patch)), []string{"If-Match", stale}},
			} {
				r := ts.call(t, "PATCH", path, "Authorization", ts.creds.AdminToken, how.body, how.header...)
				if r.status != http.StatusConflict {
					t.Errorf("PATCH with a stale etag in the %s = %d %s, want 409", how.name, r.status, r.body)
				}
			}
			if now := ts.mustAdmin(t, "GET", path, nil); field(now, tc.patch) != "if-match" {
				t.Errorf("after stale PATCHes: %s = %v, want if-match", tc.patch, field(now, tc.patch))
			}
			if !tc.delete {
				return
			}
			for _, how := range []struct {
				name, query, body string
				header            []string
			}{
				{"If-Match", "", "", []string{"If-Match", stale}},
				{"body", "", fmt.Sprintf(`{"etag":%q}`, stale), nil},
				{"query", "?etag=" + stale, "", nil},
			} {
				var body any
				if how.body != "" {
					body = how.body
				}
				r := ts.call(t, "DELETE", path+how.query, "Authorization", ts.creds.AdminToken, body, how.header...)
				if r.status != http.StatusConflict {
					t.Errorf("DELETE with a stale etag in the %s = %d %s, want 409", how.name, r.status, r.body)
				}
			}
			cur = ts.mustAdmin(t, "GET", path, nil)
			r = ts.call(t, "DELETE", path, "Authorization", ts.creds.AdminToken, nil, "If-Match", cur["etag"].(string))
			if r.status != http.StatusOK {
				t.Errorf("DELETE with If-Match = %d %s, want 200", r.status, r.body)
			}
		})
	}
}

// TestMergePatchOfAMap pins that a PATCH sending one entry of a map (a
// flag's environments) changes that entry only.
func TestMergePatchOfAMap(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", etagBase+"/flags", `{"key":"m","type":"bool","environments":{
		"production":{"enabled":true,"salt":"p"},"staging":{"enabled":true,"salt":"s"}}}`)
	got := ts.mustAdmin(t, "PATCH", etagBase+"/flags/m", `{"environments":{"production":{"enabled":false}}}`)
	if field(got, "environments.production.enabled") != nil || field(got, "environments.staging.salt") != "s" {
		t.Errorf("PATCH of production = %v, want production disabled and staging kept", got)
	}
}

// TestEtagRuleOverGRPC pins the rule on gRPC: the etag travels in the
// request (or resource) field or as if-match metadata; a stale one is
// ABORTED.
func TestEtagRuleOverGRPC(t *testing.T) {
	ts := startServer(t)
	created := ts.mustAdmin(t, "POST", etagBase+"/flags", `{"key":"g","type":"bool","description":"d"}`)
	stale := created["etag"].(string)
	ts.mustAdmin(t, "PATCH", etagBase+"/flags/g", `{"description":"changed"}`)
	flags := pb.NewFlagServiceClient(ts.conn)
	ctx := rpcContext(ts.creds.AdminToken)
	tests := []struct {
		name string
		call func() error
	}{
		{"field", func() error {
			_, err := flags.UpdateFlag(ctx, &pb.UpdateFlagRequest{Project: "default", Flag: &pb.Flag{Key: "g", Type: "bool", Etag: stale}})
			return err
		}},
		{"if-match", func() error {
			_, err := flags.UpdateFlag(metadata.AppendToOutgoingContext(ctx, "if-match", stale),
				&pb.UpdateFlagRequest{Project: "default", Flag: &pb.Flag{Key: "g", Type: "bool"}})
			return err
		}},
		{"delete if-match", func() error {
			_, err := flags.DeleteFlag(metadata.AppendToOutgoingContext(ctx, "if-match", stale), &pb.DeleteFlagRequest{Project: "default", Key: "g"})
			return err
		}},
		{"targeting field", func() error {
			_, err := flags.UpdateFlagTargeting(ctx, &pb.UpdateFlagTargetingRequest{Project: "default", Flag: "g", Environment: "production",
				Targeting: &pb.Targeting{Enabled: true}, Etag: "stale"})
			return err
		}},
	}
	for _, tc := range tests {
		if err := tc.call(); status.Code(err) != codes.Aborted {
			t.Errorf("%s: a stale etag = %v, want ABORTED", tc.name, err)
		}
	}
}

// TestEveryUpdateAndDeleteTakesAnEtag walks every RPC of the API: each
// Update… and Delete… request has an etag field, or carries a resource
// that has one, so the rule reaches every resource. API keys are
// immutable and have none.
func TestEveryUpdateAndDeleteTakesAnEtag(t *testing.T) {
	immutable := map[protoreflect.FullName]bool{"switchyard.v1.KeyService.DeleteApiKey": true}
	n := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("switchyard.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			methods := fd.Services().Get(i).Methods()
			for j := 0; j < methods.Len(); j++ {
				m := methods.Get(j)
				name := string(m.Name())
				if !strings.HasPrefix(name, "Update") && !strings.HasPrefix(name, "Delete") || immutable[m.FullName()] {
					continue
				}
				n++
				if !hasEtag(m.Input()) {
					t.Errorf("%s: %s has no etag field and carries no resource with one", m.FullName(), m.Input().FullName())
				}
			}
		}
		return true
	})
	if n < 20 {
		t.Errorf("found %d update and delete RPCs, want the API's", n)
	}
}

// hasEtag reports whether a request has an etag field of its own or in a
// resource message it carries.
func hasEtag(md protoreflect.MessageDescriptor) bool {
	if md.Fields().ByName("etag") != nil {
		return true
	}
	for i := 0; i < md.Fields().Len(); i++ {
		if f := md.Fields().Get(i); f.Message() != nil && !f.IsList() && !f.IsMap() && f.Message().Fields().ByName("etag") != nil {
			return true
		}
	}
	return false
}

// TestEmptyPatchChangesNothing pins that a PATCH body with no field (or
// only the etag) changes nothing; over gRPC an absent update_mask is a
// full replacement.
func TestEmptyPatchChangesNothing(t *testing.T) {
	ts := startServer(t)
	created := ts.mustAdmin(t, "POST", etagBase+"/segments", `{"key":"s","description":"d","include":["u1"]}`)
	for _, body := range []string{`{}`, fmt.Sprintf(`{"etag":%q}`, created["etag"])} {
		got := ts.mustAdmin(t, "PATCH", etagBase+"/segments/s", body)
		if got["description"] != "d" || fmt.Sprint(got["include"]) != "[u1]" {
			t.Errorf("PATCH %s = %v, want the segment unchanged", body, got)
		}
	}
	segs := pb.NewSegmentServiceClient(ts.conn)
	got, err := segs.UpdateSegment(rpcContext(ts.creds.AdminToken), &pb.UpdateSegmentRequest{Project: "default", Segment: &pb.Segment{Key: "s", Description: "new"}})
	if err != nil || got.GetDescription() != "new" || len(got.GetInclude()) != 0 {
		t.Errorf("UpdateSegment without a mask = %v, %v, want a full replacement", got, err)
	}
}
