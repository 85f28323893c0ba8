package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// createRoutes are the POST routes that create a resource from a body.
var createRoutes = []struct {
	kind, path, name string // name: the field that names the resource
}{
	{"project", "/api/v1/projects", "key"},
	{"environment", "/api/v1/projects/default/environments", "key"},
	{"segment", "/api/v1/projects/default/segments", "key"},
	{"flag", "/api/v1/projects/default/flags", "key"},
	{"component", "/api/v1/projects/default/components", "key"},
	{"release", "/api/v1/projects/default/releases", "id"},
	{"release model", "/api/v1/projects/default/release-models", "key"},
	{"experiment", "/api/v1/projects/default/experiments", "id"},
	{"metric", "/api/v1/projects/default/metrics", "key"},
	{"webhook", "/api/v1/projects/default/webhooks", "id"},
}

// TestCreateRefusesBadKeysWith400 pins that an empty resource or a key
// that is not a key is the client's mistake: 400 naming a field, never 500.
func TestCreateRefusesBadKeysWith400(t *testing.T) {
	ts := startServer(t)
	keys := map[string]string{"empty": "", "traversal": "../../etc", "slash": "a/b", "upper dot": ".hidden"}
	for _, rt := range createRoutes {
		for name, key := range keys {
			body := "{}"
			if key != "" {
				body = fmt.Sprintf(`{%q:%q}`, rt.name, key)
			}
			t.Run(rt.kind+"/"+name, func(t *testing.T) {
				r := ts.admin(t, "POST", rt.path, body)
				if r.status != http.StatusBadRequest {
					t.Fatalf("POST %s %s = %d %s, want 400", rt.path, body, r.status, r.body)
				}
				if f, _ := r.json(t)["field"].(string); f == "" {
					t.Errorf("POST %s %s = %s, want a field", rt.path, body, r.body)
				}
			})
		}
	}
}

// TestBadPageTokenIs400 pins that a page token the server did not issue is
// a 400 on every listing.
func TestBadPageTokenIs400(t *testing.T) {
	ts := startServer(t)
	for _, path := range []string{"/api/v1/projects", "/api/v1/projects/default/flags", "/api/v1/keys",
		"/api/v1/projects/default/releases", "/api/v1/audit-events"} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		r := ts.admin(t, "GET", path+sep+"page_token=%25%25not-base64", nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("GET %s with a bad page_token = %d %s, want 400", path, r.status, r.body)
		}
	}
}

// TestMalformedBodiesNameTheField pins that a body the route's message
// refuses is a 400 in the {code, message, field} shape of validation
// errors, naming the field path, never the JSON library's text.
func TestMalformedBodiesNameTheField(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"f","type":"bool"}`)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"unknown field", "POST", "/api/v1/projects/default/segments", `{"key":"s","colour":"red"}`, "segment.colour"},
		{"nested unknown field", "POST", "/api/v1/projects/default/segments", `{"key":"s","conditions":[{"attribute":"a","op":"in","valuez":[]}]}`, "segment.conditions[0].valuez"},
		{"wrong type", "POST", "/api/v1/projects/default/flags", `{"key":"g","type":"bool","description":7}`, "flag.description"},
		{"wrong type in a map", "PATCH", "/api/v1/projects/default/flags/f", `{"environments":{"production":{"enabled":"yes"}}}`, "flag.environments.production.enabled"},
		{"targeting body", "PATCH", "/api/v1/projects/default/flags/f/environments/production", `{"enabled":true,"rulez":[]}`, "targeting.rulez"},
		{"not an object", "POST", "/api/v1/projects/default/segments", `[1,2]`, "segment"},
		{"syntax error", "POST", "/api/v1/projects/default/segments", `{"key":`, "segment"},
		{"trailing garbage", "POST", "/api/v1/projects/default/segments", `{"key":"s"} {"key":"t"}`, "segment"},
		{"trailing text", "PATCH", "/api/v1/projects/default/flags/f/environments/production", `{"enabled":false}xyz`, "targeting"},
		{"body etag not a string", "PATCH", "/api/v1/projects/default/flags/f/environments/production", `{"etag":7}`, "etag"},
		{"star body", "POST", "/api/v1/keys", `{"name":"k","kind":"admin","role":"viewer","colour":1}`, "key.colour"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, tc.method, tc.path, tc.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%s %s %s = %d %s, want 400", tc.method, tc.path, tc.body, r.status, r.body)
			}
			m := r.json(t)
			if m["code"] != "INVALID_ARGUMENT" || m["field"] != tc.field || strings.Contains(fmt.Sprint(m["message"]), "proto:") {
				t.Errorf("%s %s %s = %s, want INVALID_ARGUMENT at %s in our words", tc.method, tc.path, tc.body, r.body, tc.field)
			}
		})
	}
}

// TestWrongMethodIs405 pins that a known path asked with a method it does
// not take is 405 with Allow, and an unknown path a JSON 404.
func TestWrongMethodIs405(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		method, path, allow string
	}{
		{"DELETE", "/api/v1/projects", "GET, POST"},
		{"PUT", "/api/v1/projects/default/flags/x", "DELETE, GET, PATCH"},
		{"GET", "/api/v1/documents:import", "POST"},
		{"PATCH", "/api/v1/keys", "GET, POST"},
	}
	for _, tc := range tests {
		r := ts.admin(t, tc.method, tc.path, nil)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != tc.allow {
			t.Errorf("%s %s = %d Allow %q %s, want 405 Allow %q", tc.method, tc.path, r.status, r.header.Get("Allow"), r.body, tc.allow)
		}
		if m := r.json(t); m["code"] == "" || m["message"] == "" {
			t.Errorf("%s %s = %s, want a JSON error", tc.method, tc.path, r.body)
		}
	}
	r := ts.admin(t, "GET", "/api/v1/nothing/here", nil)
	if r.status != http.StatusNotFound || r.json(t)["code"] != "NOT_FOUND" {
		t.Errorf("GET an unknown path = %d %s, want a JSON 404", r.status, r.body)
	}
}

// TestBadQueryParametersNameThemselves pins that a query parameter the
// route does not have, or whose value is not of its type, is a 400 naming
// the parameter.
func TestBadQueryParametersNameThemselves(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		path, field string
	}{
		{"/api/v1/projects?page_size=abc", "page_size"},
		{"/api/v1/projects/default/flags?page_size=99999999999", "page_size"},
		{"/api/v1/projects?page_sise=10", "page_sise"},
		{"/api/v1/projects/default/release-report?start=yesterday", "start"},
	}
	for _, tc := range tests {
		r := ts.admin(t, "GET", tc.path, nil)
		if r.status != http.StatusBadRequest || r.json(t)["field"] != tc.field {
			t.Errorf("GET %s = %d %s, want 400 at %s", tc.path, r.status, r.body, tc.field)
		}
	}
	if r := ts.admin(t, "GET", "/api/v1/audit-events?project=default&page_size=3", nil); r.status != http.StatusOK {
		t.Errorf("GET audit events with good parameters = %d %s", r.status, r.body)
	}
}
