package main

import (
	"strings"
	"testing"
	"time"
)

func TestAuditFilters(t *testing.T) {
	s := startCLIServer(t)
	ed := s.newToken(t, "ed", "editor")
	s.must(t, "flag create", "banner", "--type", "bool")
	s.mustAs(t, ed, "flag toggle", "banner", "-e", "staging", "--on")
	s.must(t, "flag toggle", "new-checkout", "-e", "production", "--off")
	s.mustAs(t, ed, "flag toggle", "banner", "-e", "staging", "--off")

	all := s.must(t, "audit")
	if lines := strings.Split(strings.TrimSpace(all), "\n"); len(lines) < 5 || fields(lines[0]) != "TIME ACTOR ACTION RESOURCE ENVIRONMENT REVISION" {
		t.Fatalf("audit printed\n%s\nwant a table of at least four events", all)
	}
	first := fields(strings.Split(all, "\n")[1])
	if !strings.Contains(first, " ed flag.targeting.update projects/default/flags/banner/environments/staging staging ") {
		t.Errorf("audit's newest event = %q, want ed's last toggle", first)
	}
	// Two of ed's events among others: the pages hold two events each.
	byEd := s.must(t, "audit", "--actor", "ed", "--limit", "2")
	if lines := strings.Split(strings.TrimSpace(byEd), "\n"); len(lines) != 3 || strings.Contains(byEd, "new-checkout") {
		t.Errorf("audit --actor ed --limit 2 printed\n%s\nwant ed's two toggles", byEd)
	}
	js := decodeJSON(t, s.must(t, "audit", "--resource", "flag/banner", "-o", "json"))
	events, _ := js["events"].([]any)
	if len(events) != 3 {
		t.Errorf("audit --resource flag/banner -o json has %d events, want 3 (create and two toggles): %v", len(events), js)
	}
	for _, e := range events {
		if r := e.(map[string]any)["resource"].(string); !strings.HasPrefix(r, "projects/default/flags/banner") {
			t.Errorf("audit --resource flag/banner listed %s", r)
		}
	}
	if got := s.must(t, "audit", "--limit", "1"); len(strings.Split(strings.TrimSpace(got), "\n")) != 2 {
		t.Errorf("audit --limit 1 printed\n%s", got)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if got := s.must(t, "audit", "--since", future); got != "no audit events\n" {
		t.Errorf("audit --since %s printed %q, want none", future, got)
	}
	if got := s.must(t, "audit", "--since", "1h", "--resource", "flag/banner"); len(strings.Split(strings.TrimSpace(got), "\n")) != 4 {
		t.Errorf("audit --since 1h printed\n%s\nwant banner's three events", got)
	}
	for _, args := range [][]string{{"--limit", "0"}, {"--resource", "gadget/x"}, {"--resource", "flag"}, {"--since", "yesterday"}} {
		s.fails(t, exitUsage, "audit", args...)
	}
}
