package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/switchyard/switchyard/internal/conformance"
)

// BenchmarkOFREP drives the OFREP endpoints of a real server over loopback
// HTTP with the benchmark flag set, in parallel, for profiling the whole
// request path (go test -bench OFREP -cpuprofile).
func BenchmarkOFREP(b *testing.B) {
	ts := startServer(b)
	doc, err := os.ReadFile(conformance.FlagSet(b))
	if err != nil {
		b.Skip("no bench flag set:", err)
	}
	if r := ts.call(b, "POST", "/api/v1/documents:import", "Authorization", ts.creds.AdminToken,
		fmt.Sprintf(`{"document":%s}`, yamlToJSON(b, doc))); r.status != 200 {
		b.Fatalf("import = %d %s", r.status, r.body)
	}
	key := ts.mustAdmin(b, "POST", "/api/v1/keys", `{"name":"b","kind":"sdk","project":"bench","environment":"production"}`)["secret"].(string)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, bc := range []struct{ name, path string }{
		{"single", "/ofrep/v1/evaluate/flags/new-checkout"},
		{"bulk", "/ofrep/v1/evaluate/flags"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					body := fmt.Sprintf(`{"context":{"targetingKey":"user-%d","country":"DE"}}`, i)
					req, _ := http.NewRequest("POST", ts.httpURL+bc.path, bytes.NewReader([]byte(body)))
					req.Header.Set("X-API-Key", key)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
