package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkEdgeCheckBody measures what the edge adds to a PATCH of a flag:
// finding the route and checking the body against the message.
func BenchmarkEdgeCheckBody(b *testing.B) {
	var names []string
	for _, svc := range gatewayServices {
		names = append(names, svc.name)
	}
	rts, err := newRoutes(names)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"description":"Dark UI","environments":{"production":{"enabled":true,"off_variant":"off",
		"rules":[{"id":"beta","segments":["beta"],"serve":{"variant":"on"}}],"default":{"variant":"off"}}},"etag":"7"}`)
	r := httptest.NewRequest(http.MethodPatch, "/api/v1/projects/default/flags/dark-mode", nil)
	b.ReportAllocs()
	for b.Loop() {
		rt, _ := rts.find(r.Method, r.URL.Path)
		if _, err := rt.checkBody(r, body); err != nil || !strings.HasPrefix(rt.fullMethod, "/switchyard.v1.FlagService/") {
			b.Fatal(rt, err)
		}
	}
}
