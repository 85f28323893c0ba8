package main

import (
	"strings"
	"testing"
)

func TestFlagStaleListsUnusedFlags(t *testing.T) {
	s := startCLIServer(t)
	out := s.must(t, "flag stale", "--days", "7")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || strings.Join(strings.Fields(lines[0]), " ") != "FLAG LAST SEEN ENVIRONMENTS" ||
		!strings.Contains(lines[1], "never") || !strings.Contains(lines[1], "production never") {
		t.Errorf("flag stale printed\n%s\nwant a table of never-used flags with each environment", out)
	}
	js := decodeJSON(t, s.must(t, "flag stale", "--json"))
	if js["days"] != float64(30) || js["flags"] == nil {
		t.Errorf("flag stale --json = %v, want the report over 30 days", js)
	}
	if _, _, err := s.run(t, s.token, "flag stale", "--days", "0"); err == nil || !strings.Contains(err.Error(), "--days 0") {
		t.Errorf("flag stale --days 0 = %v, want refused", err)
	}
}
