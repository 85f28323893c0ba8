package benchmarks

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/server/servertest"
)

// consolePages are the console pages measured, by name. Pages of other
// files add themselves here.
var consolePages = append([]struct{ name, path string }{
	{"flags", "/flags"},
	{"flags-search", "/flags?q=flag-09"},
	{"flags-page", "/flags?after=NTAw"}, // base64("500")
	{"flags-stale", "/flags?stale=1"},
	{"flag", "/flags/flag-0500"},
	{"evaluate", "/evaluate"},
	{"segments", "/segments"},
	{"segment", "/segments/seg-05"},
	{"components", "/components"},
	{"component", "/components/app-0"},
	{"audit", "/audit"},
	{"styleguide", "/styleguide"},
}, releasePages...)

// consoleAssets are the assets every page loads.
var consoleAssets = []string{"/static/console.css", "/static/console.js"}

// consoleServer starts a server whose default project has 1,000 flags
// (each with a rule and a rollout in production), 10 segments, 5
// components and 100 draft releases, and signs in to its console.
func consoleServer(tb testing.TB) (*servertest.Server, *http.Client) {
	tb.Helper()
	srv := servertest.Start(tb, servertest.Options{})
	var flags, segments, components, releases []string
	for i := range 1000 {
		flags = append(flags, fmt.Sprintf(`{"key": "flag-%04d", "type": "bool", "description": "Flag number %d",
		  "environments": {"production": {"enabled": %t, "rules": [{"id": "eu", "segments": ["seg-%02d"], "serve": {"variant": "on"}}],
		    "default": {"rollout": [{"variant": "on", "weight": 20000}, {"variant": "off", "weight": 80000}]}}}}`, i, i, i%2 == 0, i%10))
	}
	for i := range 10 {
		segments = append(segments, fmt.Sprintf(`{"key": "seg-%02d", "conditions": [{"attribute": "country", "op": "in", "values": ["DE", "FR"]}], "include": ["u1", "u2"]}`, i))
	}
	for i := range 5 {
		components = append(components, fmt.Sprintf(`{"key": "app-%d", "min_supported": "1.0.0", "versions": [{"version": "1.0.0"}, {"version": "1.1.0", "required": true}, {"version": "2.0.0"}],
		  "environments": {"production": {"default": {"version": "2.0.0"}}}}`, i))
	}
	doc := fmt.Sprintf(`{"document": {"version": 1, "project": "default", "environments": ["production", "staging"],
	  "segments": [%s], "flags": [%s], "components": [%s]}}`,
		strings.Join(segments, ","), strings.Join(flags, ","), strings.Join(components, ","))
	if r := srv.Call(tb, "POST", "/api/v1/documents:import", srv.Creds.AdminToken, doc); r.Status != http.StatusOK {
		tb.Fatalf("import = %d %.500s", r.Status, r.Body)
	}
	for i := range 100 {
		releases = append(releases, fmt.Sprintf(`{"id": "rel-%03d", "title": "Release %d", "environment": "production", "release_notes": "n",
		  "items": [{"flag": "flag-%04d", "variant": "on"}], "plan": [{"segments": ["seg-01"], "weight": 100000}, {"weight": 100000}]}`, i, i, i))
	}
	for _, rel := range releases {
		if r := srv.Call(tb, "POST", "/api/v1/projects/default/releases", srv.Creds.AdminToken, rel); r.Status != http.StatusOK {
			tb.Fatalf("create release = %d %.500s", r.Status, r.Body)
		}
	}
	seedReleasePages(tb, srv)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(srv.HTTPURL+"/signin", url.Values{"token": {srv.Creds.AdminToken}})
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign-in = %d, want 303", resp.StatusCode)
	}
	return srv, client
}

// getPage reads a page whole and fails unless it answers 200.
func getPage(tb testing.TB, client *http.Client, url string) []byte {
	resp, err := client.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s = %d %.300s", url, resp.StatusCode, body)
	}
	return body
}

// BenchmarkConsolePage measures each console page's HTML, from request to
// the last byte over loopback (an upper bound of the server time), with
// 1,000 flags and 100 releases; html-bytes is the page's HTML weight.
func BenchmarkConsolePage(b *testing.B) {
	srv, client := consoleServer(b)
	for _, page := range consolePages {
		b.Run(page.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				size = len(getPage(b, client, srv.HTTPURL+page.path))
			}
			b.ReportMetric(float64(size), "html-bytes")
		})
	}
}

// TestConsolePageWeight checks that each page with its assets stays under
// 200 KB with 1,000 flags and 100 releases, and logs the weights.
func TestConsolePageWeight(t *testing.T) {
	srv, client := consoleServer(t)
	assets := 0
	for _, a := range consoleAssets {
		assets += len(getPage(t, client, srv.HTTPURL+a))
	}
	for _, page := range consolePages {
		html := len(getPage(t, client, srv.HTTPURL+page.path))
		total := html + assets
		t.Logf("%-14s html %7d B, with assets %7d B", page.name, html, total)
		if total > 200<<10 {
			t.Errorf("page %s weighs %d bytes with its assets, want under %d", page.name, total, 200<<10)
		}
	}
}
