package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// longPrefix makes 100,000 keys weigh over 4 MiB, the JSON API's cap.
const longPrefix = "customer-imported-from-the-crm-with-a-long-id-"

// importParts posts a streamed import: the request part, then each list
// part, written while the request is sent.
func (ts *testServer) importParts(t *testing.T, request string, lists ...[2]any) response {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("request", request)
		for _, l := range lists {
			w, _ := mw.CreateFormFile(l[0].(string), "keys.txt")
			if _, err := io.Copy(w, l[1].(io.Reader)); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	return ts.upload(t, "POST", "/api/v1/documents:import-stream", mw.FormDataContentType(), pr)
}

const importRequest = `{"document":{"version":1,"project":"default","environments":["production","staging"],
	"segments":[{"key":"beta","description":"imported"}]}}`

// TestImportStreamAppliesDocumentAndListsAtOnce: a document and its long
// lists (over 4 MiB together) apply in one transaction and one revision;
// the export leaves the long list out and the text download streams it
// back whole.
func TestImportStreamAppliesDocumentAndListsAtOnce(t *testing.T) {
	ts := startServer(t)
	betaSetup(t, ts)
	const n = 100_000
	r := ts.importParts(t, importRequest,
		[2]any{"segments/beta/include", keyLines(longPrefix, n)},
		[2]any{"segments/beta/exclude", strings.NewReader(longPrefix + "7\n")})
	if r.status != http.StatusOK {
		t.Fatalf("import-stream = %d %s", r.status, r.body)
	}
	rev := fmt.Sprint(r.json(t)["revisions"].(map[string]any)["production"])
	seg := ts.mustAdmin(t, "GET", "/api/v1/projects/default/segments/beta", nil)
	if seg["description"] != "imported" || seg["include_count"] != fmt.Sprint(n) || seg["exclude_count"] != "1" {
		t.Errorf("segment = %v, want the description, %d included and 1 excluded", seg, n)
	}
	audit := ts.mustAdmin(t, "GET", "/api/v1/audit-events?project=default&page_size=4", nil)
	for _, ev := range audit["events"].([]any)[:3] {
		ev := ev.(map[string]any)
		if ev["action"] != "project.import" && fmt.Sprint(ev["revision"]) != rev {
			t.Errorf("event %s has revision %v, want the import's %s", ev["action"], ev["revision"], rev)
		}
	}
	if got := ts.ofrepVariant(t, longPrefix+"5"); got != "on" {
		t.Errorf("an included key gets %q, want on", got)
	}
	if got := ts.ofrepVariant(t, longPrefix+"7"); got != "off" {
		t.Errorf("the excluded key gets %q, want off", got)
	}

	doc := ts.admin(t, "GET", "/api/v1/projects/default:export", nil)
	if doc.status != http.StatusOK || len(doc.body) > 8<<10 || !strings.Contains(string(doc.body), `"include_count": "100000"`) && !strings.Contains(string(doc.body), `"include_count":"100000"`) {
		t.Errorf("export = %d, %d bytes, want 200, a small document with include_count 100000: %.500s", doc.status, len(doc.body), doc.body)
	}
	req, _ := http.NewRequest("GET", ts.httpURL+keysURL+"include", nil)
	req.Header.Set("Authorization", "Bearer "+ts.creds.AdminToken)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, sc := map[string]bool{}, bufio.NewScanner(resp.Body)
	for sc.Scan() {
		got[sc.Text()] = true
	}
	if len(got) != n || !got[longPrefix+"0"] || !got[longPrefix+fmt.Sprint(n-1)] {
		t.Errorf("the text download holds %d distinct keys, want the %d imported", len(got), n)
	}
}

// TestImportStreamRefusesAndAppliesNothing: a bad key in a list part, a
// list of a segment the document lacks, or a list sent twice is a 400
// naming the part, and nothing of the import is applied.
func TestImportStreamRefusesAndAppliesNothing(t *testing.T) {
	ts := startServer(t)
	betaSetup(t, ts)
	tests := []struct {
		name    string
		lists   [][2]any
		message string
	}{
		{"bad key", [][2]any{{"segments/beta/include", strings.NewReader("ok\n\x01bad\n")}}, "segments/beta/include: line 2"},
		{"segment not in the document", [][2]any{{"segments/other/include", strings.NewReader("a\n")}}, "segments/other/include"},
		{"list twice", [][2]any{{"segments/beta/include", strings.NewReader("a\n")}, {"segments/beta/include", strings.NewReader("b\n")}}, "sent twice"},
		{"bad part name", [][2]any{{"keys", strings.NewReader("a\n")}}, "segments/{segment}/include"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.importParts(t, importRequest, tc.lists...)
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.message) {
				t.Errorf("import-stream = %d %s, want 400 naming %q", r.status, r.body, tc.message)
			}
			if seg := ts.mustAdmin(t, "GET", "/api/v1/projects/default/segments/beta", nil); seg["description"] != nil {
				t.Errorf("segment = %v after a refused import, want it unchanged", seg)
			}
		})
	}
}

// TestImportDocumentStreamOverGRPC: the gRPC surface takes the request,
// then batches of a list, and applies them in one revision.
func TestImportDocumentStreamOverGRPC(t *testing.T) {
	ts := startServer(t)
	betaSetup(t, ts)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+ts.creds.AdminToken)
	stream, err := pb.NewDocumentServiceClient(ts.conn).ImportDocumentStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := &pb.ImportDocumentRequest{}
	if err := protojson.Unmarshal([]byte(importRequest), req); err != nil {
		t.Fatal(err)
	}
	const n, batch = 100_000, 10_000
	if err := stream.Send(&pb.ImportDocumentStreamRequest{Request: req}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += batch {
		keys := make([]string, batch)
		for j := range keys {
			keys[j] = fmt.Sprintf("user-%d", i+j)
		}
		if err := stream.Send(&pb.ImportDocumentStreamRequest{Segment: "beta", List: "include", Keys: keys}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatalf("ImportDocumentStream = %v", err)
	}
	seg := ts.mustAdmin(t, "GET", "/api/v1/projects/default/segments/beta", nil)
	if seg["description"] != "imported" || seg["include_count"] != fmt.Sprint(n) || resp.GetRevisions()["production"] == 0 {
		t.Errorf("segment = %v, answer %v; want the description and %d keys in a new revision", seg, resp, n)
	}
}
