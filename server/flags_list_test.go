package server_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestListFlagsFiltersByQueryAndType(t *testing.T) {
	ts := startServer(t)
	for i, f := range []string{
		`{"key": "new-checkout", "type": "bool", "description": "The new checkout", "tags": ["checkout", "team-pay"]}`,
		`{"key": "banner", "type": "string", "variants": [{"key": "a", "value": "A"}], "description": "Checkout banner", "tags": ["team-web"]}`,
		`{"key": "max-items", "type": "number", "variants": [{"key": "n", "value": 3}]}`,
		`{"key": "checkout-api", "type": "bool"}`,
	} {
		if r := ts.admin(t, "POST", "/api/v1/projects/default/flags", f); r.status != 200 {
			t.Fatalf("create flag %d = %d %s", i, r.status, r.body)
		}
	}
	for _, tc := range []struct {
		name, query string
		want        string
	}{
		{"query in key or description, any case", "?query=CHECKOUT", "[new-checkout banner checkout-api]"},
		{"type", "?type=bool", "[new-checkout checkout-api]"},
		{"query and type", "?query=checkout&type=string", "[banner]"},
		{"query and type paged", "?query=checkout&type=bool&page_size=1", "[new-checkout]"},
		{"none", "", "[new-checkout banner max-items checkout-api]"},
		{"tag", "?tag=team-pay", "[new-checkout]"},
		{"tag and query", "?tag=team-web&query=banner", "[banner]"},
		{"tag nobody has", "?tag=team-x", "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ts.mustAdmin(t, "GET", "/api/v1/projects/default/flags"+tc.query, nil)
			keys := []string{}
			flags, _ := got["flags"].([]any)
			for _, f := range flags {
				keys = append(keys, f.(map[string]any)["key"].(string))
			}
			if s := fmt.Sprint(keys); s != tc.want {
				t.Errorf("GET flags%s = %s, want %s", tc.query, s, tc.want)
			}
		})
	}
}

func TestFlagTagsCreateUpdateValidate(t *testing.T) {
	ts := startServer(t)
	f := ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key": "tagged", "type": "bool", "tags": ["web", "q3.launch"]}`)
	if fmt.Sprint(f["tags"]) != "[web q3.launch]" {
		t.Errorf("created tags = %v, want [web q3.launch]", f["tags"])
	}
	f = ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/flags/tagged?update_mask=tags", `{"tags": ["ios"]}`)
	if fmt.Sprint(f["tags"]) != "[ios]" {
		t.Errorf("updated tags = %v, want [ios]", f["tags"])
	}
	got := ts.mustAdmin(t, "GET", "/api/v1/projects/default/flags/tagged", nil)
	if fmt.Sprint(got["tags"]) != "[ios]" {
		t.Errorf("read tags = %v, want [ios]", got["tags"])
	}
	for _, tc := range []struct{ body, field string }{
		{`{"key": "bad", "type": "bool", "tags": ["ok", "has space"]}`, "flag.tags[1]"},
		{`{"key": "bad", "type": "bool", "tags": ["a", "a"]}`, "flag.tags[1]"},
	} {
		r := ts.admin(t, "POST", "/api/v1/projects/default/flags", tc.body)
		if r.status != 400 || !strings.Contains(string(r.body), tc.field) {
			t.Errorf("create %s = %d %s, want 400 naming %s", tc.body, r.status, r.body, tc.field)
		}
	}
	if r := ts.admin(t, "GET", "/api/v1/projects/default/flags/bad", nil); r.status != 404 {
		t.Errorf("a refused flag exists: %d", r.status)
	}
}
