package server_test

import (
	"fmt"
	"testing"
)

func TestListFlagsFiltersByQueryAndType(t *testing.T) {
	ts := startServer(t)
	for i, f := range []string{
		`{"key": "new-checkout", "type": "bool", "description": "The new checkout"}`,
		`{"key": "banner", "type": "string", "variants": [{"key": "a", "value": "A"}], "description": "Checkout banner"}`,
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ts.mustAdmin(t, "GET", "/api/v1/projects/default/flags"+tc.query, nil)
			var keys []string
			for _, f := range got["flags"].([]any) {
				keys = append(keys, f.(map[string]any)["key"].(string))
			}
			if s := fmt.Sprint(keys); s != tc.want {
				t.Errorf("GET flags%s = %s, want %s", tc.query, s, tc.want)
			}
		})
	}
}
