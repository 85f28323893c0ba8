package main

import (
	"strings"
	"testing"
)

func TestReleaseIncidentAndReview(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	createDE(t, s, "spring")
	rel := func(args ...string) string { return s.must(t, "release", args...) }
	relFails := func(code int, args ...string) string {
		return s.fails(t, code, "release", args...)
	}
	s.must(t, "release start", "spring")
	got := rel("incident", "spring", "--severity", "high", "--summary", "Checkout errors in DE", "--time", "2026-03-01T10:00:00Z")
	if got != "incident 1 (high) linked to release spring at stage 1\n" {
		t.Errorf("release incident printed %q", got)
	}
	js := decodeJSON(t, rel("incident", "spring", "--severity", "low", "--summary", "Slow page", "-o", "json"))
	if incs := js["incidents"].([]any); len(incs) != 2 || incs[1].(map[string]any)["note"] != "Slow page" {
		t.Errorf("release incident -o json = %v, want the release with both incidents", js)
	}
	if msg := relFails(exitFailure, "incident", "spring", "--summary", "no severity"); !strings.Contains(msg, "incident.severity") {
		t.Errorf("release incident without a severity = %q, want incident.severity named", msg)
	}
	if msg := relFails(exitFailure, "incident", "spring", "--severity", "low", "--summary", "x", "--etag", "stale"); !strings.Contains(msg, "ABORTED") {
		t.Errorf("release incident with a stale etag = %q, want ABORTED", msg)
	}
	if msg := relFails(exitFailure, "incident", "autumn", "--severity", "low", "--summary", "x"); !strings.Contains(msg, "NOT_FOUND") {
		t.Errorf("release incident of an unknown release = %q, want NOT_FOUND", msg)
	}
	relFails(exitUsage, "incident", "spring", "--severity", "low", "--time", "yesterday")
	// A review waits for the release to end.
	relFails(exitFailure, "review", "spring", "--outcome", "failure")
	s.must(t, "release rollback", "spring", "--reason", "errors")
	if got := rel("review", "spring", "--outcome", "failure", "--lessons", "Test payments in DE first"); got != "review of release spring: failure, by bootstrap-admin\n" {
		t.Errorf("release review printed %q", got)
	}
	if msg := relFails(exitFailure, "review", "spring", "--outcome", "meh"); !strings.Contains(msg, "review.outcome") {
		t.Errorf("release review with an unknown outcome = %q, want review.outcome named", msg)
	}
}
