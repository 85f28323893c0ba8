package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var etagField = regexp.MustCompile(`name="etag" value="([^"]+)"`)

func TestReleaseActionOnAStaleEtagIsRefusedWithAReload(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	draftSpring(t, srv, "everyone")
	admin := signInHTTP(t, srv, srv.Creds.AdminToken)
	status, page := admin.get("/releases/spring?project=default")
	m := etagField.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("release page = %d without an etag field: %.300s", status, page)
	}
	// Someone else changes the draft after the page was loaded.
	srv.Admin(t, "PATCH", "/api/v1/projects/default/releases/spring?update_mask=title", map[string]any{"title": "Renamed"})

	form := url.Values{"csrf": {admin.csrf()}, "project": {"default"}, "etag": {m[1]}}
	status, body := admin.post("/releases/spring/start", form, "")
	if status != http.StatusConflict || !strings.Contains(body, "Changed by someone else") {
		t.Errorf("start on a stale etag = %d %.300s, want 409 saying someone else changed it", status, body)
	}
	if !strings.Contains(body, "Renamed") {
		t.Errorf("the refused action's page does not show the current release (title Renamed)")
	}
	if got := srv.Admin(t, "GET", "/api/v1/projects/default/releases/spring", nil)["state"]; got != "DRAFT" {
		t.Errorf("after the stale start the release is %v, want DRAFT", got)
	}
}

func TestReleaseFragmentsAnswer304WhileUnchanged(t *testing.T) {
	srv, _, _ := startReleaseServer(t)
	draftSpring(t, srv, "everyone")
	admin := signInHTTP(t, srv, srv.Creds.AdminToken)
	for _, path := range []string{"/fragments/releases?project=default", "/fragments/releases/spring/actions?project=default"} {
		t.Run(path, func(t *testing.T) {
			resp, err := admin.http.Get(srv.HTTPURL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			etag := resp.Header.Get("ETag")
			if resp.StatusCode != http.StatusOK || etag == "" {
				t.Fatalf("GET %s = %d with ETag %q, want 200 with an ETag", path, resp.StatusCode, etag)
			}
			req, _ := http.NewRequest(http.MethodGet, srv.HTTPURL+path, nil)
			req.Header.Set("If-None-Match", etag)
			resp, err = admin.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("GET %s with its ETag = %d, want 304", path, resp.StatusCode)
			}
		})
	}
	// A change shows: the list fragment names the new state.
	srv.Admin(t, "POST", "/api/v1/projects/default/releases/spring:start", map[string]any{})
	if _, body := admin.get("/fragments/releases?project=default"); !strings.Contains(body, "In progress") {
		t.Errorf("the list fragment after the start = %.300s, want the release in progress", body)
	}
}
