package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/release"
	"github.com/switchyard/switchyard/internal/runtime"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/server/servertest"
)

// relClock is a settable clock shared by the store and the release
// scheduler of a test server.
type relClock struct {
	mu  sync.Mutex
	now time.Time
}

func newRelClock() *relClock { return &relClock{now: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *relClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *relClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// relServer is a test server whose store runs on a relClock and whose
// release scheduler looks for due steps every 10 ms.
type relServer struct {
	*testServer
	path     string
	clock    *relClock
	rulesets *snapshot.Set
}

// startRelServer serves the database at path ("" for a new one) on
// loopback until stop or the end of the test. creds are the credentials
// of a database bootstrapped by an earlier server.
func startRelServer(t *testing.T, path string, clk *relClock, creds bootstrap.Credentials) *relServer {
	t.Helper()
	s := servertest.Start(t, servertest.Options{
		Path: path, Creds: creds, Now: clk.Now,
		Runtime: runtime.Options{Releases: release.SchedulerOptions{Interval: 10 * time.Millisecond, LateAfter: time.Minute}},
	})
	return &relServer{testServer: wrap(s), path: s.Path, clock: clk, rulesets: s.Rulesets}
}

// releaseDoc is the project the release tests release from: two flags and
// a component in production, two segments.
const releaseDoc = `{"document": {
  "version": 1, "project": "default", "environments": ["production", "staging"],
  "segments": [
    {"key": "staff", "include": ["staff-1", "staff-2"]},
    {"key": "eu", "conditions": [{"attribute": "country", "op": "in", "values": ["DE", "FR"]}]}
  ],
  "flags": [
    {"key": "new-checkout", "type": "bool", "environments": {"production": {"enabled": true, "default": {"variant": "off"}}}},
    {"key": "banner", "type": "string", "variants": [{"key": "old", "value": "o"}, {"key": "new", "value": "n"}],
      "environments": {"production": {"enabled": true, "off_variant": "old", "default": {"variant": "old"}}}},
    {"key": "sidebar", "type": "bool", "environments": {"production": {"enabled": true, "default": {"variant": "off"}}}}
  ],
  "components": [
    {"key": "ios-app", "versions": [{"version": "2.3.0"}, {"version": "2.4.0", "notes": "New checkout"}],
      "environments": {"production": {"default": {"version": "2.3.0"}}}}
  ]
}}`

// seedReleases imports releaseDoc.
func (rs *relServer) seed(t *testing.T) {
	t.Helper()
	rs.mustAdmin(t, "POST", "/api/v1/documents:import", releaseDoc)
}

// as sends an HTTP request with the given admin token.
func (rs *relServer) as(t *testing.T, key, method, path string, body any) response {
	t.Helper()
	return rs.call(t, method, path, "Authorization", key, body)
}

// mustAs sends a request with a token and fails unless it answers 200.
func (rs *relServer) mustAs(t *testing.T, key, method, path string, body any) map[string]any {
	t.Helper()
	r := rs.as(t, key, method, path, body)
	if r.status != http.StatusOK {
		t.Fatalf("%s %s = %d %s, want 200", method, path, r.status, r.body)
	}
	return r.json(t)
}

// releasePath is the REST path of a release, with an optional ":verb".
func releasePath(id, verb string) string {
	p := "/api/v1/projects/default/releases/" + id
	if verb != "" {
		p += ":" + verb
	}
	return p
}

// roleKeys creates an admin token of each role (two release managers),
// each held by a person of its name, and returns their secrets by name.
func (rs *relServer) roleKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{"admin": rs.creds.AdminToken}
	for _, k := range []struct{ name, role string }{
		{"viewer", "viewer"}, {"editor", "editor"}, {"rm", "release-manager"}, {"rm2", "release-manager"},
	} {
		keys[k.name] = rs.newKey(t, map[string]any{"name": k.name, "kind": "admin", "role": k.role, "principal": k.name})
	}
	return keys
}

// revision is the production environment's current revision.
func (rs *relServer) revision(t *testing.T) string {
	t.Helper()
	env := rs.mustAdmin(t, "GET", "/api/v1/projects/default/environments/production", nil)
	return fmt.Sprint(env["revision"])
}

// export returns the project's exported document.
func (rs *relServer) export(t *testing.T) string {
	t.Helper()
	r := rs.admin(t, "GET", "/api/v1/projects/default:export", nil)
	if r.status != http.StatusOK {
		t.Fatalf("export = %d %s", r.status, r.body)
	}
	return string(r.body)
}

// waitRelease polls a release until cond holds (5 s at most).
func (rs *relServer) waitRelease(t *testing.T, id string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := rs.mustAdmin(t, "GET", releasePath(id, ""), nil)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("release %s never reached the expected state: %v", id, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stageOf reads a release's stage from a REST answer (0 when absent).
func stageOf(r map[string]any) int {
	f, _ := r["stage"].(float64)
	return int(f)
}

// lastEvent returns a release's last timeline event from a REST answer.
func lastEvent(t *testing.T, r map[string]any) map[string]any {
	t.Helper()
	tl, _ := r["timeline"].([]any)
	if len(tl) == 0 {
		t.Fatalf("release has no timeline: %v", r)
	}
	return tl[len(tl)-1].(map[string]any)
}

// errorCode reads the code of a REST error answer.
func errorCode(t *testing.T, r response) string {
	t.Helper()
	if !strings.HasPrefix(string(r.body), "{") {
		return ""
	}
	code, _ := r.json(t)["code"].(string)
	return code
}
