package console_test

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/server/servertest"
)

// uploadKeys posts the segment page's upload form with a file of n keys
// written while the request is sent (a pipe: the body is never whole in
// memory), as the page's script does.
func (c *browserless) uploadKeys(segment, csrf, list, mode, prefix string, n int) (int, string) {
	c.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, f := range [][2]string{{"csrf", csrf}, {"project", "default"}, {"list", list}, {"mode", mode}} {
			mw.WriteField(f[0], f[1])
		}
		w, _ := mw.CreateFormFile("file", "keys.txt")
		var b []byte
		for i := range n {
			b = fmt.Appendf(b, "%s%d\n", prefix, i)
			if len(b) > 32<<10 || i == n-1 {
				if _, err := w.Write(b); err != nil {
					pw.CloseWithError(err)
					return
				}
				b = b[:0]
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequest(http.MethodPost, c.srv.HTTPURL+"/segments/"+segment+"/keys", pr)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var nextPage = regexp.MustCompile(`href="(/segments/beta\?include_page=[^"]+)" rel="next"`)

// TestSegmentPageUploadsThroughTheKeyListAPI: the console streams an
// uploaded file into the key-list API (one segment.keys event, no segment
// update), and the segment page shows counts, the hash, one page of keys
// with a link to the next, and a membership check, never the whole list.
func TestSegmentPageUploadsThroughTheKeyListAPI(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", map[string]any{"key": "beta"})
	c := signInHTTP(t, srv, srv.Creds.AdminToken)
	const n = 100_000
	status, body := c.uploadKeys("beta", c.csrf(), "include", "replace", "user-", n)
	if want := fmt.Sprintf("%d keys from the file, %d new, 0 removed; the list now has %d keys", n, n, n); status != http.StatusOK || !strings.Contains(body, want) {
		t.Fatalf("upload = %d %q, want 200 and %q", status, body, want)
	}
	audit := srv.Admin(t, "GET", "/api/v1/audit-events?project=default&page_size=1", nil)
	if ev := audit["events"].([]any)[0].(map[string]any); ev["action"] != "segment.keys.replace" {
		t.Errorf("last audit event = %v, want segment.keys.replace", ev["action"])
	}
	seg := srv.Admin(t, "GET", "/api/v1/projects/default/segments/beta", nil)

	status, page := c.get("/segments/beta")
	if status != http.StatusOK {
		t.Fatalf("GET /segments/beta = %d", status)
	}
	if len(page) > 64<<10 {
		t.Errorf("the segment page is %d bytes, want at most 64 KiB", len(page))
	}
	if got := strings.Count(page, "<li><code>user-"); got != 50 {
		t.Errorf("the page shows %d keys, want one page of 50", got)
	}
	if !strings.Contains(page, `<span class="count">100000</span>`) || !strings.Contains(page, seg["keys_hash"].(string)) {
		t.Error("the page lacks the include count or the keys hash")
	}
	m := nextPage.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no link to the next page of included keys")
	}
	if _, next := c.get(strings.ReplaceAll(m[1], "&amp;", "&")); strings.Count(next, "<li><code>user-") != 50 || next == page {
		t.Error("the next page does not show 50 other keys")
	}
	tests := []struct{ key, want string }{
		{"user-4242", "is in the include list"},
		{"stranger", "is in neither list"},
	}
	for _, tc := range tests {
		if _, got := c.get("/segments/beta?check=" + tc.key); !strings.Contains(got, tc.want) {
			t.Errorf("check %s: the page does not say %q", tc.key, tc.want)
		}
	}
}

// TestSegmentKeyUploadChecksCSRF: the streamed upload reads its CSRF token
// from the form before the file, and a wrong one applies nothing.
func TestSegmentKeyUploadChecksCSRF(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", map[string]any{"key": "beta"})
	c := signInHTTP(t, srv, srv.Creds.AdminToken)
	if status, _ := c.uploadKeys("beta", "forged", "include", "add", "user-", 10); status != http.StatusForbidden {
		t.Errorf("upload with a forged CSRF token = %d, want 403", status)
	}
	if seg := srv.Admin(t, "GET", "/api/v1/projects/default/segments/beta", nil); seg["include_count"] != nil {
		t.Errorf("include_count = %v after a refused upload, want none (0)", seg["include_count"])
	}
}
