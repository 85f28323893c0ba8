package main

import (
	"strings"
	"testing"
)

func TestComponentCreateList(t *testing.T) {
	s := startCLIServer(t)
	if got := s.must(t, "component create", "android-app", "--min-supported", "1.0.0", "--description", "Android"); got != "created component android-app\n" {
		t.Errorf("component create printed %q", got)
	}
	list := s.must(t, "component list")
	if fields(lineWith(list, "ios-app")) != "ios-app 2.2.0 2.3.1" || fields(lineWith(list, "android-app")) != "android-app 1.0.0 - Android" {
		t.Errorf("component list printed\n%s", list)
	}
	js := decodeJSON(t, s.must(t, "component list", "-o", "json"))
	if cs, _ := js["components"].([]any); len(cs) != 2 {
		t.Errorf("component list -o json = %v, want two components", js)
	}
	if msg := s.fails(t, exitFailure, "component create", "ios-app"); !strings.Contains(msg, "ALREADY_EXISTS") {
		t.Errorf("component create twice = %q, want ALREADY_EXISTS", msg)
	}
	if msg := s.fails(t, exitFailure, "component create", "web", "--min-supported", "one"); !strings.Contains(msg, "component.min_supported") {
		t.Errorf("component create with a bad version = %q, want component.min_supported named", msg)
	}
}

func TestVersionWithdraw(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	if got := s.must(t, "version withdraw", "ios-app", "2.4.0"); got != "ios-app 2.4.0: WITHDRAWN\n" {
		t.Errorf("version withdraw printed %q", got)
	}
	if got := s.must(t, "component list"); fields(lineWith(got, "ios-app")) != "ios-app 2.2.0 2.3.1, 2.4.0 (withdrawn)" {
		t.Errorf("component list after withdraw printed\n%s", got)
	}
	// Production serves 2.3.1 by default: refused, nothing changed.
	if msg := s.fails(t, exitFailure, "version withdraw", "ios-app", "2.3.1"); !strings.Contains(msg, "FAILED_PRECONDITION") {
		t.Errorf("version withdraw of a served version = %q, want FAILED_PRECONDITION", msg)
	}
	s.must(t, "version register", "ios-app", "2.5.0")
	if msg := s.fails(t, exitFailure, "version withdraw", "ios-app", "2.5.0", "--etag", "stale"); !strings.Contains(msg, "ABORTED") {
		t.Errorf("version withdraw with a stale etag = %q, want ABORTED", msg)
	}
	if msg := s.fails(t, exitFailure, "version withdraw", "ios-app", "9.9.9"); !strings.Contains(msg, "NOT_FOUND") {
		t.Errorf("version withdraw of an unknown version = %q, want NOT_FOUND", msg)
	}
	js := decodeJSON(t, s.must(t, "version withdraw", "ios-app", "2.5.0", "-o", "json"))
	if js["state"] != "WITHDRAWN" {
		t.Errorf("version withdraw -o json = %v", js)
	}
	s.fails(t, exitUsage, "version withdraw", "ios-app")
}
