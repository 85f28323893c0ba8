// Package conformance locates, for tests and benchmarks, the material
// shared with peer implementations: the conformance vectors
// ($SWITCHYARD_CONFORMANCE_DIR, default ../shared/conformance beside the
// module root) and the rest of ../shared, such as the benchmark flag set.
package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EnvDir names the environment variable that overrides the vector directory.
const EnvDir = "SWITCHYARD_CONFORMANCE_DIR"

// Dir returns the vector directory joined with sub: $SWITCHYARD_CONFORMANCE_DIR
// when set, else ../shared/conformance beside the module root.
func Dir(t testing.TB, sub ...string) string {
	t.Helper()
	root := os.Getenv(EnvDir)
	if root == "" {
		root = filepath.Join(Shared(t), "conformance")
	}
	return filepath.Join(append([]string{root}, sub...)...)
}

// Shared returns ../shared beside the module root, joined with elem.
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("Getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(append([]string{dir, "..", "shared"}, elem...)...)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Files returns the *.json files directly in dir. A directory that cannot
// be read or holds none is an error: a conformance test must never pass by
// checking nothing.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read conformance directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json conformance vectors in %s", dir)
	}
	return files, nil
}

// MustFiles is Files that fails the test on error.
func MustFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}
