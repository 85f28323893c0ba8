package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyFile writes keys, one per line, to a file and returns its path.
func keyFile(t *testing.T, keys ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(path, []byte(strings.Join(keys, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSegmentKeysCommands(t *testing.T) {
	s := startCLIServer(t)
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("device-%07d", i)
	}
	out := s.must(t, "segment keys replace", "staff", keyFile(t, keys...))
	if strings.Fields(lineWith(out, "count"))[1] != fmt.Sprint(n) || strings.Fields(lineWith(out, "removed"))[1] != "2" {
		t.Errorf("replace printed\n%s\nwant count %d, removed 2", out, n)
	}
	out = s.must(t, "segment keys add", "staff", keyFile(t, "staff-1", "device-0000001"))
	if strings.Fields(lineWith(out, "added"))[1] != "1" {
		t.Errorf("add printed\n%s\nwant added 1", out)
	}
	s.must(t, "segment keys remove", "staff", keyFile(t, keys[1:]...))
	if got := s.must(t, "segment keys list", "staff"); got != "device-0000000\nstaff-1\n" {
		t.Errorf("list printed %q, want device-0000000 and staff-1", got)
	}
	s.must(t, "segment keys add", "--exclude", "staff", keyFile(t, "staff-1"))
	if got := s.must(t, "segment keys list", "staff", "--exclude"); got != "staff-1\n" {
		t.Errorf("list --exclude printed %q, want staff-1", got)
	}
	_, _, err := s.run(t, s.token, "segment keys add", "staff", keyFile(t, "ok", "bad\x01key"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("add of a bad key = %v, want an error naming line 2", err)
	}
}
