package main

import (
	"strings"
	"testing"
)

func TestSegmentCRUD(t *testing.T) {
	s := startCLIServer(t)
	seg := func(args ...string) string { return s.must(t, "segment", args...) }
	segFails := func(code int, args ...string) string {
		return s.fails(t, code, "segment", args...)
	}
	got := seg("create", "beta", "--condition", "country in DE,FR", "--condition", "age gte 18", "--match", "any",
		"--include", "qa-1", "--exclude", "qa-9", "--description", "Beta testers")
	if got != "created segment beta\n" {
		t.Errorf("segment create printed %q", got)
	}
	list := seg("list")
	if fields(lineWith(list, "beta")) != "beta any 2 1 1 Beta testers" || fields(lineWith(list, "staff")) != "staff all 0 2 0" {
		t.Errorf("segment list printed\n%s", list)
	}
	get := seg("get", "beta")
	for _, want := range []string{"condition country in DE,FR", "condition age gte 18", "match any", "included 1 keys"} {
		if !strings.Contains(fields(get), want) {
			t.Errorf("segment get printed\n%s\nwant %q", get, want)
		}
	}
	js := decodeJSON(t, seg("get", "beta", "-o", "json"))
	conds := js["conditions"].([]any)
	if v := conds[1].(map[string]any)["values"].([]any)[0]; v != float64(18) {
		t.Errorf("segment get -o json: age value = %#v, want the number 18", v)
	}
	// The keys commands of the group still work beside these.
	if out := s.must(t, "segment keys list", "beta"); out != "qa-1\n" {
		t.Errorf("segment keys list printed %q", out)
	}
	if msg := segFails(exitFailure, "create", "beta"); !strings.Contains(msg, "ALREADY_EXISTS") {
		t.Errorf("segment create twice = %q", msg)
	}
	if msg := segFails(exitFailure, "create", "bad", "--condition", "country like DE"); !strings.Contains(msg, "segment.conditions[0].op") {
		t.Errorf("segment create with an unknown operator = %q, want the field path", msg)
	}
	if msg := segFails(exitUsage, "create", "bad", "--condition", "country"); !strings.Contains(msg, "ATTRIBUTE OP") {
		t.Errorf("segment create with a condition without op = %q", msg)
	}
	if msg := segFails(exitFailure, "delete", "beta", "--etag", "stale"); !strings.Contains(msg, "ABORTED") {
		t.Errorf("segment delete with a stale etag = %q", msg)
	}
	if got := seg("delete", "beta", "--etag", js["etag"].(string)); got != "deleted segment beta\n" {
		t.Errorf("segment delete printed %q", got)
	}
	if msg := segFails(exitFailure, "get", "beta"); !strings.Contains(msg, "NOT_FOUND") {
		t.Errorf("segment get of a deleted segment = %q", msg)
	}
}
