package main

import (
	"strings"
	"testing"
)

// createdKey is the ID and secret of the key a "key create" table shows
// on its second line.
func createdKey(t *testing.T, out string) (id, secret string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) < 2 {
		t.Fatalf("key create printed %q, want a table", out)
	}
	cells := strings.Fields(lines[1])
	return cells[0], cells[len(cells)-1]
}

func TestKeyCreateListRevoke(t *testing.T) {
	s := startCLIServer(t)
	out := s.must(t, "key create", "ci", "--kind", "admin", "--role", "editor")
	id, secret := createdKey(t, out)
	if !strings.HasPrefix(fields(lineWith(out, id)), id+" ci admin editor - ") || !strings.Contains(out, "shown only now") {
		t.Errorf("key create printed\n%s", out)
	}
	// The new token works, with its role.
	if got := s.mustAs(t, secret, "flag list"); !strings.Contains(got, "new-checkout") {
		t.Errorf("flag list with the new editor token printed %q", got)
	}
	js := decodeJSON(t, s.must(t, "key create", "app", "--kind", "sdk", "-e", "staging", "-o", "json"))
	if k := js["key"].(map[string]any); k["project"] != "default" || k["environment"] != "staging" || js["secret"] == "" {
		t.Errorf("key create --kind sdk -o json = %v, want the key of default/staging and its secret", js)
	}
	two := s.must(t, "key create", "web", "--kind", "client", "-e", "staging", "-e", "production")
	if lineWith(two, "") == "" || !strings.Contains(two, "default/staging") || !strings.Contains(two, "default/production") {
		t.Errorf("key create with two environments printed\n%s", two)
	}
	relay := s.must(t, "key create", "edge", "--kind", "relay", "-e", "staging", "-e", "production")
	if rid, rsecret := createdKey(t, relay); !strings.HasPrefix(fields(lineWith(relay, rid)), rid+" edge relay - default/staging,production ") ||
		!strings.HasPrefix(rsecret, "syr_") {
		t.Errorf("key create --kind relay with two environments printed\n%s\nwant one relay key of both", relay)
	}
	list := s.must(t, "key list")
	if line := fields(lineWith(list, id)); !strings.HasPrefix(line, id+" ci admin editor - ") || strings.Contains(list, secret) {
		t.Errorf("key list printed\n%s\nwant the ci token without its secret", list)
	}
	if got := s.must(t, "key revoke", id); got != "revoked key "+id+"\n" {
		t.Errorf("key revoke printed %q", got)
	}
	if _, _, err := s.run(t, secret, "flag list"); err == nil || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
		t.Errorf("flag list with the revoked token = %v, want UNAUTHENTICATED", err)
	}
	if msg := s.fails(t, exitFailure, "key revoke", id); !strings.Contains(msg, "NOT_FOUND") {
		t.Errorf("key revoke of a revoked key = %q, want NOT_FOUND", msg)
	}
	if msg := s.fails(t, exitFailure, "key create", "x", "--kind", "admin", "--role", "boss"); !strings.Contains(msg, "key.role") {
		t.Errorf("key create with a bad role = %q, want key.role named", msg)
	}
	if msg := s.fails(t, exitFailure, "key create", "x", "--kind", "sdk"); !strings.Contains(msg, "key.environment") {
		t.Errorf("key create --kind sdk without an environment = %q, want key.environment named", msg)
	}
	if msg := s.fails(t, exitUsage, "key create", "x", "--kind", "admin", "-e", "staging"); !strings.Contains(msg, "no environment") {
		t.Errorf("key create --kind admin -e = %q, want refused", msg)
	}
	if msg := s.mustFailAs(t, s.newToken(t, "vera", "viewer"), exitFailure, "key list"); !strings.Contains(msg, "PERMISSION_DENIED") {
		t.Errorf("key list as a viewer = %q, want PERMISSION_DENIED", msg)
	}
}

// mustFailAs runs a client command with a token that must fail with exit
// code want; it returns the error's text.
func (s *cliServer) mustFailAs(t *testing.T, token string, want int, cmd string, args ...string) string {
	t.Helper()
	_, _, err := s.run(t, token, cmd, args...)
	if err == nil {
		t.Fatalf("switchyard %s %s succeeded, want exit %d", cmd, strings.Join(args, " "), want)
	}
	if got := exitCode(err); got != want {
		t.Errorf("switchyard %s %s: exit %d (%v), want %d", cmd, strings.Join(args, " "), got, err, want)
	}
	return err.Error()
}
