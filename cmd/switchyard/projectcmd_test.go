package main

import (
	"strings"
	"testing"
)

func TestProjectAndEnvironmentCommands(t *testing.T) {
	s := startCLIServer(t)
	if got := s.must(t, "project create", "shop", "--description", "The shop"); got != "created project shop\n" {
		t.Errorf("project create printed %q", got)
	}
	list := s.must(t, "project list")
	if line := fields(lineWith(list, "shop")); !strings.HasPrefix(line, "shop ") || !strings.HasSuffix(line, " The shop") {
		t.Errorf("project list printed\n%s\nwant shop with its description", list)
	}
	js := decodeJSON(t, s.must(t, "environment create", "eu", "-p", "shop", "-o", "json"))
	if js["key"] != "eu" || js["etag"] == "" {
		t.Errorf("environment create -o json = %v, want the environment", js)
	}
	s.must(t, "environment create", "us", "--project", "shop")
	envs := s.must(t, "environment list", "-p", "shop")
	if len(strings.Fields(lineWith(envs, "eu"))) != 2 || len(strings.Fields(lineWith(envs, "us"))) != 2 {
		t.Errorf("environment list printed\n%s\nwant eu and us", envs)
	}
	if got := s.must(t, "environment list"); !strings.Contains(got, "production") || strings.Contains(got, "eu") {
		t.Errorf("environment list of the default project printed\n%s", got)
	}
	s.fails(t, exitFailure, "environment delete", "eu", "-p", "shop", "--etag", "stale")
	if got := s.must(t, "environment delete", "eu", "-p", "shop", "--etag", js["etag"].(string)); got != "deleted environment eu\n" {
		t.Errorf("environment delete printed %q", got)
	}
	if msg := s.fails(t, exitFailure, "environment delete", "eu", "-p", "shop"); !strings.Contains(msg, "NOT_FOUND") {
		t.Errorf("environment delete twice = %q, want NOT_FOUND", msg)
	}
	if msg := s.fails(t, exitFailure, "project create", "Bad Key"); !strings.Contains(msg, "project.key") {
		t.Errorf("project create with a bad key = %q, want project.key named", msg)
	}
	if msg := s.fails(t, exitFailure, "project create", "shop"); !strings.Contains(msg, "ALREADY_EXISTS") {
		t.Errorf("project create twice = %q, want ALREADY_EXISTS", msg)
	}
	if msg := s.fails(t, exitFailure, "project delete", "shop", "--etag", "stale"); !strings.Contains(msg, "ABORTED") {
		t.Errorf("project delete with a stale etag = %q, want ABORTED", msg)
	}
	s.must(t, "project delete", "shop")
	if got := s.must(t, "project list"); strings.Contains(got, "shop") {
		t.Errorf("project list after delete printed\n%s", got)
	}
	s.fails(t, exitUsage, "project create")
}
