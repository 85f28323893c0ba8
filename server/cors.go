package server

import (
	"net/http"
	"strings"
)

// Browser apps call the evaluation endpoints from their own origin with a
// client key in a header (never a cookie), so any origin may: cors answers
// preflights and marks answers for the OFREP, availability and event
// ingestion paths (a client key may send track and exposure events for its
// environment). The admin API stays same-origin.

// corsPath reports whether path is an evaluation endpoint open to browsers.
func corsPath(path string) bool {
	return strings.HasPrefix(path, "/ofrep/") || path == "/api/v1/events" ||
		(strings.HasPrefix(path, "/api/v1/components/") && strings.HasSuffix(path, "/availability"))
}

// cors adds CORS to the evaluation endpoints.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !corsPath(r.URL.Path) || r.Header.Get("Origin") == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "ETag")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, X-API-Key, Content-Type, If-None-Match, Last-Event-ID")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
