package console_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchyard/switchyard/server/servertest"
)

func TestBrowserSegmentKeyListUpload(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", map[string]any{
		"key": "beta-testers", "description": "People who try things first",
		"conditions": []any{map[string]any{"attribute": "country", "op": "in", "values": []any{"DE", "FR"}}},
		"include":    []any{"qa-1"},
	})
	file := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(file, []byte("user-1\nuser-2\r\nqa-1\nuser-3, user-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/segments")
	b.shot("segments")
	if got := b.text("table.list tbody tr"); !strings.Contains(got, "beta-testers") {
		t.Fatalf("segment list row = %q, want beta-testers", got)
	}
	b.open("/segments/beta-testers")
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#up-file"), []string{file}))
	b.do(chromedp.Click(chromedp.CSS(`form[data-upload] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(".upload-result.ok")))
	if got := b.text(".upload-result"); !strings.Contains(got, "5 keys from the file, 3 new; the list now has 4 keys") {
		t.Errorf("upload result = %q", got)
	}
	if got := eval[string](b, `document.querySelector("#up-progress").value + ""`); got != "100" {
		t.Errorf("progress after the upload = %s, want 100", got)
	}
	b.shot("segment-upload")
	got := srv.Admin(t, "GET", "/api/v1/projects/default/segments/beta-testers", nil)
	if inc := got["include"].([]any); len(inc) != 4 || inc[0] != "qa-1" || inc[3] != "user-3" {
		t.Errorf("stored include = %v, want qa-1 then user-1..3", inc)
	}
	b.open("/segments/beta-testers")
	if got := b.text("section.card h2 .count"); got != "4" {
		t.Errorf("included count = %q, want 4", got)
	}
	b.shot("segment")
}

func TestBrowserSegmentConditionsEdit(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", map[string]any{
		"key": "eu", "conditions": []any{map[string]any{"attribute": "country", "op": "in", "values": []any{"DE", "FR"}}},
	})
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/segments/eu")
	b.setValue("#f-conditions-1-attribute", "email")
	b.do(chromedp.SetValue(chromedp.CSS("#f-conditions-1-op"), "matches"))
	b.setValue("#f-conditions-1-values", "[a-")
	b.submit(`form[action="/segments/eu"] button[type=submit]`)
	if got := b.text("#f-conditions-1-values-err"); got == "" {
		t.Fatal("no error next to the invalid regex")
	}
	b.shot("segment-invalid")
	b.setValue("#f-conditions-1-values", `@example\.com$`)
	b.submit(`form[action="/segments/eu"] button[type=submit]`)
	if got := b.text(".banner.ok"); !strings.Contains(got, "Saved segment eu") {
		t.Fatalf("after saving the banner reads %q", got)
	}
	got := srv.Admin(t, "GET", "/api/v1/projects/default/segments/eu", nil)
	if conds := got["conditions"].([]any); len(conds) != 2 || conds[1].(map[string]any)["op"] != "matches" {
		t.Errorf("stored conditions = %v, want the added matches condition", conds)
	}
}

func TestBrowserCreateSegment(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	b := newTab(t, srv)
	b.signIn(srv.Creds.AdminToken)
	b.open("/segments")
	b.do(chromedp.Click(chromedp.CSS("details summary")), chromedp.WaitVisible(chromedp.CSS("#f-key")))
	b.setValue("#f-key", "-bad")
	b.submit(`form[action="/segments"] button[type=submit]`)
	if got := b.text("#f-key-err"); got == "" {
		t.Fatal("no error next to the key field for -bad")
	}
	b.setValue("#f-key", "staff")
	b.submit(`form[action="/segments"] button[type=submit]`)
	if got := b.text("h1"); got != "staff" {
		t.Fatalf("after creating, the heading is %q, want staff", got)
	}
	srv.Admin(t, "GET", "/api/v1/projects/default/segments/staff", nil)
}
