package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

// bigDocument is a document whose segment cohort includes n keys and
// excludes a short list, with a flag targeting it.
func bigDocument(n int) *model.Document {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("customer-imported-from-the-crm-%07d", i)
	}
	return &model.Document{
		Version: 1, Project: "shop", Environments: []string{"production"},
		Segments: []*model.Segment{
			{Key: "cohort", Include: keys, Exclude: []string{"customer-imported-from-the-crm-0000007"}},
			{Key: "staff", Include: []string{"alice", "bob"}},
		},
		Flags: []*model.Flag{{Key: "new-checkout", Type: model.TypeBool, Environments: map[string]*model.Targeting{
			"production": {Enabled: true, Rules: []model.Rule{{ID: "cohort", Segments: []string{"cohort"}, Serve: model.Serve{Variant: "on"}}}},
		}}},
	}
}

// TestImportExportStreamLongLists: a document with a 100,000-key list
// (4.1 MB of keys: over the API's 4 MiB cap) imports in parts and exports,
// as YAML and as JSON, back to the same document.
func TestImportExportStreamLongLists(t *testing.T) {
	dir := t.TempDir()
	url, _ := serveInBackground(t, filepath.Join(dir, "s.db"))
	s := &cliServer{url: url, token: "sya_test_admin"}
	want := bigDocument(100_000)
	data, err := model.Encode(want, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := s.must(t, "import", file); !strings.Contains(out, "4 created") {
		t.Errorf("import printed %q, want the environment, 2 segments and a flag created", out)
	}
	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			out := s.must(t, "export", "--project", "shop", "--format", format)
			got, err := model.Parse([]byte(out))
			if err != nil {
				t.Fatalf("the export does not parse: %v\n%.2000s", err, out)
			}
			cohort := got.Segments[0]
			if len(got.Segments) != 2 || cohort.Key != "cohort" || len(cohort.Include) != 100_000 || !slices.Equal(cohort.Exclude, want.Segments[0].Exclude) {
				t.Fatalf("exported segments: %d, cohort %q with %d included, %v excluded", len(got.Segments), cohort.Key, len(cohort.Include), cohort.Exclude)
			}
			if !slices.Equal(slices.Sorted(slices.Values(cohort.Include)), want.Segments[0].Include) {
				t.Error("the exported include list is not the imported one")
			}
			if !slices.Equal(got.Segments[1].Include, want.Segments[1].Include) {
				t.Errorf("short list = %v, want %v in order", got.Segments[1].Include, want.Segments[1].Include)
			}
		})
	}
	if out := s.must(t, "import", file); !strings.Contains(out, "0 created, 0 updated") {
		t.Errorf("a second import printed %q, want nothing changed", out)
	}
}
