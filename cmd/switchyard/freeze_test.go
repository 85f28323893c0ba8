package main

import (
	"strings"
	"testing"
	"time"
)

func TestFreezeCommandsAndCalendar(t *testing.T) {
	s := startCLIServer(t)
	now := time.Now().UTC().Truncate(time.Second)
	start, end := now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)
	out := s.must(t, "freeze create", "year-end", "--start", start, "--end", end, "--environment", "production",
		"--component", "ios-app", "--reason", "closing the books")
	if !strings.Contains(out, "year-end") || !strings.Contains(out, "closing the books") || !strings.Contains(out, "production") {
		t.Errorf("freeze create printed\n%s", out)
	}
	s.must(t, "freeze create", "fridays", "--start", start, "--end", end, "--rrule", "FREQ=WEEKLY;BYDAY=FR", "--tz", "Europe/Berlin", "--reason", "weekend")
	if _, _, err := s.run(t, s.token, "freeze create", "bad", "--start", "tomorrow", "--end", end, "--reason", "r"); err == nil ||
		exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--start") {
		t.Errorf("freeze create --start tomorrow = %v, want a usage error naming --start", err)
	}
	if _, _, err := s.run(t, s.token, "freeze create", "bad", "--start", end, "--end", start, "--reason", "r"); err == nil ||
		!strings.Contains(err.Error(), "end_time") {
		t.Errorf("freeze create with end before start = %v, want the server's error naming end_time", err)
	}
	list := s.must(t, "freeze list")
	if lines := strings.Split(strings.TrimSpace(list), "\n"); len(lines) != 3 || !strings.Contains(lines[2], "FREQ=WEEKLY;BYDAY=FR (Europe/Berlin)") {
		t.Errorf("freeze list printed\n%s\nwant a header and two freezes", list)
	}
	cal := decodeJSON(t, s.must(t, "calendar", "--output", "json", "--from", start, "--to", now.Add(8*24*time.Hour).Format(time.RFC3339)))
	if fs, _ := cal["freezes"].([]any); len(fs) < 2 {
		t.Errorf("calendar --output json = %v, want year-end and the Fridays", cal)
	}
	if table := s.must(t, "calendar"); !strings.Contains(table, "FREEZE") || !strings.Contains(table, "year-end") {
		t.Errorf("calendar printed\n%s", table)
	}
	s.must(t, "freeze delete", "year-end")
	if list := s.must(t, "freeze list"); strings.Contains(list, "year-end") {
		t.Errorf("after delete, freeze list printed\n%s", list)
	}
}
