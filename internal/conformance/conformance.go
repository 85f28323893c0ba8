// Package conformance locates, for tests and benchmarks, the material
// shared with peer implementations: the conformance vectors and the
// benchmark flag set. A copy of both lives in the module's testdata/ so a
// bare clone's tests pass; $SWITCHYARD_CONFORMANCE_DIR points the vector
// tests at another set (CI points it at the newest shared vectors).
package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EnvDir names the environment variable that overrides the vector directory.
const EnvDir = "SWITCHYARD_CONFORMANCE_DIR"

// Dir returns the vector directory joined with sub: $SWITCHYARD_CONFORMANCE_DIR
// when set, else the module's testdata/conformance.
func Dir(t testing.TB, sub ...string) string {
	t.Helper()
	root := os.Getenv(EnvDir)
	if root == "" {
		root = Testdata(t, "conformance")
	}
	return filepath.Join(append([]string{root}, sub...)...)
}

// FlagSet returns the path of the benchmark flag set (testdata/bench/flagset.yaml).
func FlagSet(t testing.TB) string {
	t.Helper()
	return Testdata(t, "bench", "flagset.yaml")
}

// Testdata returns the module root's testdata directory joined with elem.
func Testdata(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{ModuleRoot(t), "testdata"}, elem...)...)
}

// ModuleRoot returns the directory holding go.mod above the working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("Getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
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

// FlagFile is a flag evaluation vector file: a document and its cases.
type FlagFile struct {
	Document json.RawMessage `json:"document"`
	Cases    []FlagCase      `json:"cases"`
}

// FlagCase is one flag evaluation vector: an environment, a flag and a
// context, and the expected result.
type FlagCase struct {
	Environment string          `json:"environment"`
	Flag        string          `json:"flag"`
	Context     json.RawMessage `json:"context"`
	Expect      struct {
		Variant string          `json:"variant"`
		Value   json.RawMessage `json:"value"`
		Reason  string          `json:"reason"`
		Rule    string          `json:"rule"`
		Error   string          `json:"error"`
	} `json:"expect"`
}
