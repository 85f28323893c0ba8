package conformance

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCopyMatchesShared compares the module's copy of the shared material
// with ../shared (beside the module root) when that exists, and names every
// file that differs, so an outdated copy is noticed where both are present.
func TestCopyMatchesShared(t *testing.T) {
	shared := filepath.Join(ModuleRoot(t), "..", "shared")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no %s beside the module: a bare clone tests its own copy", shared)
	}
	pairs := []struct{ shared, copy string }{
		{filepath.Join(shared, "conformance"), Testdata(t, "conformance")},
		{filepath.Join(shared, "bench"), Testdata(t, "bench")},
	}
	for _, p := range pairs {
		for _, d := range diffTrees(t, p.shared, p.copy) {
			t.Errorf("%s differs from the shared set (%s): copy ../shared into testdata/", d, p.shared)
		}
	}
}

// diffTrees lists the relative paths present in only one tree or with
// different contents.
func diffTrees(t *testing.T, a, b string) []string {
	t.Helper()
	ta, tb := readTree(t, a), readTree(t, b)
	var diff []string
	for name, da := range ta {
		if db, ok := tb[name]; !ok || !bytes.Equal(da, db) {
			diff = append(diff, filepath.Join(b, name))
		}
	}
	for name := range tb {
		if _, ok := ta[name]; !ok {
			diff = append(diff, filepath.Join(b, name)+" (not in the shared set)")
		}
	}
	return diff
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[rel] = data
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", root, err)
	}
	return files
}
