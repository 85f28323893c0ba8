package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/bootstrap"
)

// newKeyFull creates an API key over REST and returns the answer's key
// and secret.
func (ts *testServer) newKeyFull(t *testing.T, key map[string]any) (map[string]any, string) {
	t.Helper()
	resp := ts.mustAdmin(t, "POST", "/api/v1/keys", key)
	return resp["key"].(map[string]any), resp["secret"].(string)
}

func TestKeysBelongToPrincipals(t *testing.T) {
	ts := startServer(t)
	keys := ts.mustAdmin(t, "GET", "/api/v1/keys", nil)["keys"].([]any)
	for _, k := range keys {
		if k := k.(map[string]any); k["principal"] != "admin" || k["principal_kind"] != "person" {
			t.Errorf("bootstrap key %v, want principal admin, a person", k)
		}
	}
	own, _ := ts.newKeyFull(t, map[string]any{"name": "mine", "kind": "admin", "role": "viewer"})
	alice, _ := ts.newKeyFull(t, map[string]any{"name": "alice", "kind": "admin", "role": "release-manager", "principal": "alice"})
	for _, c := range []struct {
		key                      map[string]any
		principal, kind, creator string
	}{{own, "admin", "person", ""}, {alice, "alice", "person", ""}} {
		if c.key["principal"] != c.principal || c.key["principal_kind"] != c.kind || c.key["created_by_key"] == "" {
			t.Errorf("created key %v, want principal %s (%s) and created_by_key", c.key, c.principal, c.kind)
		}
	}
	svc, _ := ts.newKeyFull(t, map[string]any{"name": "ci", "kind": "sdk", "project": "default", "environment": "production",
		"principal": "ci", "principal_kind": "service"})
	if svc["principal_kind"] != "service" {
		t.Errorf("service key %v, want principal_kind service", svc)
	}

	// Naming another principal is audited.
	events := ts.mustAdmin(t, "GET", "/api/v1/audit-events?resource=apikeys/"+alice["id"].(string), nil)["events"].([]any)
	if len(events) != 1 {
		t.Fatalf("audit events of alice's key: %v", events)
	}
	ev := events[0].(map[string]any)
	if ev["actor_principal"] != "admin" || ev["actor_key"] != alice["created_by_key"] {
		t.Errorf("audit event actor = %v / %v, want the admin's key and principal", ev["actor_key"], ev["actor_principal"])
	}
	after, _ := ev["after"].(map[string]any)
	if after["principal"] != "alice" || after["principal_named_by"] != "admin" || after["created_by_key"] != alice["created_by_key"] {
		t.Errorf("audit of a key named for alice = %v, want principal alice, principal_named_by admin, created_by_key", after)
	}

	tests := []struct {
		name, body, field string
	}{
		{"unknown principal kind", `{"name": "x", "kind": "admin", "role": "viewer", "principal_kind": "robot"}`, "key.principal_kind"},
		{"principal with spaces around", `{"name": "x", "kind": "admin", "role": "viewer", "principal": " bob "}`, "key.principal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, "POST", "/api/v1/keys", tc.body)
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.field) {
				t.Errorf("POST /api/v1/keys %s = %d %s, want 400 naming %s", tc.body, r.status, r.body, tc.field)
			}
		})
	}
}

func TestApprovalCountsPeopleOverREST(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t) // rm is held by rm, rm2 by rm2
	_, rmAgain := rs.newKeyFull(t, map[string]any{"name": "rm-laptop", "kind": "admin", "role": "release-manager", "principal": "rm"})
	rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/releases", `{"id": "gated", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "new-checkout", "variant": "on"}],
	  "plan": [{"segments": ["staff"], "weight": 100000}, {"weight": 100000, "gate": {"approval": {"count": 1}}}]}`)
	rs.mustAs(t, keys["rm"], "POST", releasePath("gated", "start"), `{}`)

	// A release manager may not mint a key, for anyone.
	if r := rs.as(t, keys["rm"], "POST", "/api/v1/keys", `{"name": "bob", "kind": "admin", "role": "release-manager", "principal": "bob"}`); r.status != http.StatusForbidden {
		t.Errorf("a release manager minting a key for bob = %d %s, want 403", r.status, r.body)
	}
	// A second key of the requester is the requester.
	r := rs.as(t, rmAgain, "POST", releasePath("gated", "approve"), `{}`)
	if r.status != http.StatusForbidden || errorCode(t, r) != "PERMISSION_DENIED" || !strings.Contains(string(r.body), "any other of their keys") {
		t.Errorf("approval with the requester's second key = %d %s, want 403 PERMISSION_DENIED", r.status, r.body)
	}
	// The admin who minted the requester's key counts as the requester.
	if r := rs.as(t, rs.creds.AdminToken, "POST", releasePath("gated", "approve"), `{}`); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "related by key creation") {
		t.Errorf("approval by the creator of the requester's key = %d %s, want 403", r.status, r.body)
	}
	rs.mustAs(t, keys["rm2"], "POST", releasePath("gated", "approve"), `{"comment": "fine"}`)
	got := rs.mustAs(t, keys["viewer"], "GET", releasePath("gated", ""), nil)
	approvals := got["approvals"].([]any)
	if len(approvals) != 1 {
		t.Fatalf("approvals = %v, want rm2's", approvals)
	}
	a := approvals[0].(map[string]any)
	if a["principal"] != "rm2" || a["by_name"] != "rm2" || a["by"] == "" {
		t.Errorf("approval = %v, want principal rm2 and its key", a)
	}
	if got["requester_principal"] != "rm" || got["requester"] == "" {
		t.Errorf("requester = %v (%v), want rm's key", got["requester"], got["requester_principal"])
	}
	if ev := lastEvent(t, got); ev["action"] != "approve" || ev["actor_principal"] != "rm2" || ev["actor"] != a["by"] {
		t.Errorf("approve event = %v, want rm2's key and principal", ev)
	}
}
