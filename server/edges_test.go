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
