package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeLargeSegmentOnEtcd: a list of a million keys (100,000 with
// -short) PUT through one 'serve --store etcd' replica, more than one etcd
// transaction holds, is stored (staged, then switched to) and served by
// another replica.
func TestServeLargeSegmentOnEtcd(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	rs := startReplicas(t)
	call := func(r replica, method, path, contentType string, body io.Reader) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, r.url+"/api/v1/projects/default/segments"+path, body)
		req.Header.Set("Authorization", "Bearer sya_test_admin")
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if status, out := call(rs[0], "POST", "", "application/json", strings.NewReader(`{"key":"vip"}`)); status != http.StatusOK {
		t.Fatalf("create segment = %d %v", status, out)
	}
	var keys strings.Builder
	for i := range n {
		fmt.Fprintf(&keys, "user-%07d\n", i)
	}
	status, out := call(rs[0], "PUT", "/vip/keys/include", "text/plain", strings.NewReader(keys.String()))
	if status != http.StatusOK || out["count"] != fmt.Sprint(n) {
		t.Fatalf("PUT %d keys through replica A = %d %v, want 200 and count %d", n, status, out, n)
	}
	within(t, 2*time.Minute, "the list on replica B", func() bool {
		_, out := call(rs[1], "GET", "/vip/keys/include?page_size=1", "", nil)
		return out["count"] == fmt.Sprint(n)
	})
	for _, key := range []string{"user-0000000", fmt.Sprintf("user-%07d", n-1)} {
		if _, out := call(rs[1], "GET", "/vip/keys/include/check?key="+key, "", nil); out["member"] != true {
			t.Errorf("replica B: check %s = %v, want member", key, out)
		}
	}
}
