package server_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server"
	"github.com/switchyard/switchyard/server/servertest"
)

const keysURL = "/api/v1/projects/default/segments/beta/keys/"

// betaSetup creates the segment beta (no conditions, no keys) and a flag
// serving "on" to its members.
func betaSetup(t *testing.T, ts *testServer) {
	t.Helper()
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/segments", `{"key":"beta"}`)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"beta-feature","type":"bool",
		"environments":{"production":{"enabled":true,"rules":[{"id":"beta","segments":["beta"],"serve":{"variant":"on"}}],"default":{"variant":"off"}}}}`)
}

// upload streams body to a key-list route with the admin token.
func (ts *testServer) upload(t testing.TB, method, path, contentType string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.httpURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ts.creds.AdminToken)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// keyLines streams n keys "user-0" … one per line, without building them
// in memory first.
func keyLines(prefix string, n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		var b []byte
		for i := range n {
			b = fmt.Appendf(b, "%s%d\n", prefix, i)
			if len(b) > 32<<10 || i == n-1 {
				if _, err := pw.Write(b); err != nil {
					return
				}
				b = b[:0]
			}
		}
		pw.Close()
	}()
	return pr
}

// ofrepVariant evaluates beta-feature for key through OFREP.
func (ts *testServer) ofrepVariant(t *testing.T, key string) string {
	t.Helper()
	r := ts.call(t, "POST", "/ofrep/v1/evaluate/flags/beta-feature", "X-API-Key", ts.creds.SDKKey, `{"context":{"targetingKey":"`+key+`"}}`)
	if r.status != http.StatusOK {
		t.Fatalf("OFREP = %d %s", r.status, r.body)
	}
	v, _ := r.json(t)["variant"].(string)
	return v
}

func TestSegmentKeysLargeUploadThenAddRemove(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	ts := startServer(t)
	betaSetup(t, ts)

	r := ts.upload(t, "PUT", keysURL+"include", "text/plain", keyLines("user-", n))
	if r.status != http.StatusOK {
		t.Fatalf("PUT %d keys = %d %s", n, r.status, r.body)
	}
	if got := r.json(t)["count"]; got != fmt.Sprint(n) {
		t.Fatalf("count = %v, want %d", got, n)
	}
	if got := ts.ofrepVariant(t, fmt.Sprintf("user-%d", n-1)); got != "on" {
		t.Errorf("last uploaded key: variant %q, want on", got)
	}
	if got := ts.ofrepVariant(t, "newcomer"); got != "off" {
		t.Errorf("newcomer before add: variant %q, want off", got)
	}

	r = ts.upload(t, "POST", keysURL+"include", "text/csv", strings.NewReader("newcomer,extra column\nuser-1\n"))
	if r.status != http.StatusOK {
		t.Fatalf("add = %d %s", r.status, r.body)
	}
	if got := r.json(t); got["added"] != "1" || got["count"] != fmt.Sprint(n+1) {
		t.Errorf("add = %v, want added 1, count %d", got, n+1)
	}
	if got := ts.ofrepVariant(t, "newcomer"); got != "on" {
		t.Errorf("newcomer after add: variant %q, want on", got)
	}
	if got := ts.admin(t, "GET", keysURL+"include/check?key=newcomer", nil).json(t)["member"]; got != true {
		t.Errorf("check newcomer = %v, want true", got)
	}

	r = ts.upload(t, "POST", keysURL+"include/remove", "text/plain", strings.NewReader("newcomer\n"))
	if r.status != http.StatusOK || r.json(t)["removed"] != "1" {
		t.Fatalf("remove = %d %s, want 200 removed 1", r.status, r.body)
	}
	if got := ts.ofrepVariant(t, "newcomer"); got != "off" {
		t.Errorf("newcomer after remove: variant %q, want off", got)
	}

	// A long list is kept in shard order (keylist.Arrange).
	page := ts.admin(t, "GET", keysURL+"include?page_size=2", nil).json(t)
	if keys, _ := page["keys"].([]any); len(keys) != 2 || page["next_page_token"] == "" || page["count"] != fmt.Sprint(n) {
		t.Errorf("first page = %v, want 2 keys, a next page and count %d", page, n)
	}
}

func TestSegmentKeysLimitsRefuseTheWholeUpload(t *testing.T) {
	ts := wrap(servertest.Start(t, servertest.Options{Server: []server.Option{
		server.WithKeyListLimits(keylist.Limits{MaxKeys: 3, MaxKeyBytes: 8}),
	}}))
	betaSetup(t, ts)
	if r := ts.upload(t, "PUT", keysURL+"include", "text/plain", strings.NewReader("a\nb\n")); r.status != http.StatusOK {
		t.Fatalf("PUT = %d %s", r.status, r.body)
	}
	tests := []struct {
		name, method, path, body, wantLine string
	}{
		{"too many keys", "PUT", "include", "k1\nk2\n\nk3\nk4\n", "line 5"},
		{"key too long", "POST", "include", "ok\nmuch-too-long\n", "line 2"},
		{"control character", "POST", "exclude", "x\x01y\n", "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.upload(t, tc.method, keysURL+tc.path, "text/plain", strings.NewReader(tc.body))
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d %s, want 400", r.status, r.body)
			}
			if got := r.json(t); got["field"] != "body" || !strings.Contains(fmt.Sprint(got["message"]), tc.wantLine) {
				t.Errorf("answer = %v, want field body naming %q", got, tc.wantLine)
			}
			page := ts.admin(t, "GET", keysURL+"include", nil).json(t)
			if got := fmt.Sprint(page["keys"]); got != "[a b]" {
				t.Errorf("include after refused upload = %s, want [a b]", got)
			}
		})
	}
}

func TestSegmentKeysUploadNeedsEditKey(t *testing.T) {
	ts := startServer(t)
	betaSetup(t, ts)
	viewer := ts.newKey(t, map[string]any{"name": "v", "kind": "admin", "role": "viewer"})
	tests := []struct {
		name, header, key string
		want              int
	}{
		{"no key", "", "", http.StatusUnauthorized},
		{"viewer", "Authorization", viewer, http.StatusForbidden},
		{"sdk key", "X-API-Key", ts.creds.SDKKey, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.call(t, "PUT", keysURL+"include", tc.header, tc.key, "a\n")
			if r.status != tc.want {
				t.Errorf("status = %d %s, want %d", r.status, r.body, tc.want)
			}
		})
	}
}

// TestSegmentKeysReplaceIsAtomic replaces a list over gRPC while a reader
// watches the published State: it sees the old list or the new one, never
// a mix or a part.
func TestSegmentKeysReplaceIsAtomic(t *testing.T) {
	ts := startServer(t)
	betaSetup(t, ts)
	const n = 20_000
	if r := ts.upload(t, "PUT", keysURL+"include", "text/plain", keyLines("old-", n)); r.status != http.StatusOK {
		t.Fatalf("PUT = %d %s", r.status, r.body)
	}
	var bad atomic.Value
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			ps, _ := ts.store.State().Project("default")
			seg, _, _ := ps.Segment("beta")
			inc := seg.Include
			if len(inc) != n || inc[0][:4] != inc[n-1][:4] {
				bad.Store(fmt.Sprintf("saw %d keys from %s to %s", len(inc), inc[0], inc[len(inc)-1]))
			}
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	client := pb.NewSegmentServiceClient(ts.conn)
	stream, err := client.EditSegmentKeys(rpcContext(ts.creds.AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pb.EditSegmentKeysRequest{Project: "default", Segment: "beta", Op: "replace"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 1000 {
		msg := &pb.EditSegmentKeysRequest{}
		for j := i; j < i+1000; j++ {
			msg.Keys = append(msg.Keys, fmt.Sprintf("new-%d", j))
		}
		if err := stream.Send(msg); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	close(done)
	<-stopped
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAdded() != n || resp.GetRemoved() != n || resp.GetCount() != n || resp.GetRevision() == 0 {
		t.Errorf("replace = %v, want %d added, %d removed, a revision", resp, n, n)
	}
	if msg := bad.Load(); msg != nil {
		t.Error(msg)
	}
	if got := ts.ofrepVariant(t, "new-7"); got != "on" {
		t.Errorf("new-7: variant %q, want on", got)
	}
}

// waitRevision waits (10 s at most) until the SDK holds revision rev.
func waitRevision(t *testing.T, c *sdk.Client, rev uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Revision() < rev {
		if time.Now().After(deadline) {
			t.Fatalf("SDK at revision %d, want %d", c.Revision(), rev)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSegmentKeysReachTheSDK(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	ts := wrap(srv)
	betaSetup(t, ts)
	c := sdkClient(t, srv)
	if r := ts.upload(t, "PUT", keysURL+"include", "text/plain", keyLines("user-", 10_000)); r.status != http.StatusOK {
		t.Fatalf("PUT = %d %s", r.status, r.body)
	}
	steps := []struct {
		name, method, path, key string
		want                    bool
	}{
		{"add", "POST", "include", "newcomer", true},
		{"exclude", "POST", "exclude", "newcomer", false},
		{"remove from exclude", "POST", "exclude/remove", "newcomer", true},
		{"remove from include", "POST", "include/remove", "newcomer", false},
	}
	for _, st := range steps {
		r := ts.upload(t, st.method, keysURL+st.path, "text/plain", strings.NewReader(st.key+"\n"))
		if r.status != http.StatusOK {
			t.Fatalf("%s = %d %s", st.name, r.status, r.body)
		}
		rev, _ := strconv.ParseUint(fmt.Sprint(r.json(t)["revision"]), 10, 64)
		waitRevision(t, c, rev)
		if got := c.Bool("beta-feature", sdk.NewContext(st.key), false); got != st.want {
			t.Errorf("after %s: SDK Bool(%s) = %v, want %v", st.name, st.key, got, st.want)
		}
		if got := ts.ofrepVariant(t, st.key) == "on"; got != st.want {
			t.Errorf("after %s: OFREP on for %s = %v, want %v", st.name, st.key, got, st.want)
		}
	}
	if !c.Bool("beta-feature", sdk.NewContext("user-9999"), false) {
		t.Error("SDK: user-9999 is not in beta")
	}
}

// TestSegmentReadsCarryCountsNotLongLists: a long list is left out of
// segment answers (counts and a hash instead), and a PATCH that does not
// name it keeps it.
func TestSegmentReadsCarryCountsNotLongLists(t *testing.T) {
	ts := startServer(t)
	betaSetup(t, ts)
	n := keylist.ChunkThreshold + 1
	if r := ts.upload(t, "PUT", keysURL+"include", "text/plain", keyLines("user-", n)); r.status != http.StatusOK {
		t.Fatalf("PUT = %d %s", r.status, r.body)
	}
	ts.upload(t, "POST", keysURL+"exclude", "text/plain", strings.NewReader("user-1\n"))
	seg := ts.mustAdmin(t, "GET", "/api/v1/projects/default/segments/beta", nil)
	if seg["include"] != nil || seg["include_count"] != fmt.Sprint(n) || seg["exclude_count"] != "1" || fmt.Sprint(seg["exclude"]) != "[user-1]" || len(fmt.Sprint(seg["keys_hash"])) != 64 {
		t.Errorf("GET segment = %v, want no include, include_count %d, the short exclude list and a hash", seg, n)
	}
	hash := seg["keys_hash"]
	list := ts.mustAdmin(t, "GET", "/api/v1/projects/default/segments", nil)
	if got := fmt.Sprint(list["segments"]); strings.Contains(got, "user-2 ") {
		t.Errorf("ListSegments carries the long list")
	}
	patched := ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/segments/beta", `{"description":"beta testers"}`)
	if patched["include_count"] != fmt.Sprint(n) || patched["keys_hash"] != hash {
		t.Errorf("PATCH description = %v, want the list kept (count %d, hash %v)", patched, n, hash)
	}
	if got := ts.ofrepVariant(t, "user-2"); got != "on" {
		t.Errorf("user-2 after PATCH: variant %q, want on", got)
	}
	ts.upload(t, "POST", keysURL+"include", "text/plain", strings.NewReader("newcomer\n"))
	if seg := ts.mustAdmin(t, "GET", "/api/v1/projects/default/segments/beta", nil); seg["keys_hash"] == hash {
		t.Errorf("keys_hash unchanged after an add")
	}
}

// TestAnswersStaySmallBesideALargeSegment: with a 100,000-key include list
// (1,000,000 in BenchmarkSegmentServerRSS), the segment list, the segment,
// a page of keys and the project's audit page stay a few KiB: no answer
// carries the list.
func TestAnswersStaySmallBesideALargeSegment(t *testing.T) {
	ts := startServer(t)
	betaSetup(t, ts)
	const n = 100_000
	if r := ts.upload(t, "PUT", keysURL+"include", "text/plain", keyLines("user-", n)); r.status != http.StatusOK {
		t.Fatalf("PUT = %d %s", r.status, r.body)
	}
	if r := ts.upload(t, "POST", keysURL+"include", "text/plain", keyLines("more-", 50)); r.status != http.StatusOK {
		t.Fatalf("POST = %d %s", r.status, r.body)
	}
	ts.mustAdmin(t, "PATCH", "/api/v1/projects/default/segments/beta", `{"description":"a big cohort"}`)
	tests := []struct {
		name, path string
		max        int
	}{
		{"segment list", "/api/v1/projects/default/segments", 4 << 10},
		{"segment", "/api/v1/projects/default/segments/beta", 2 << 10},
		{"a page of keys", "/api/v1/projects/default/segments/beta/keys/include?page_size=10", 2 << 10},
		{"membership check", "/api/v1/projects/default/segments/beta/keys/include/check?key=user-99999", 1 << 10},
		{"audit page", "/api/v1/audit-events?project=default", 16 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, "GET", tc.path, nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s = %d %.300s", tc.path, r.status, r.body)
			}
			t.Logf("GET %s: %d bytes", tc.path, len(r.body))
			if len(r.body) > tc.max {
				t.Errorf("GET %s is %d bytes, want at most %d", tc.path, len(r.body), tc.max)
			}
		})
	}
}
