package release_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/release"
)

// mint creates an admin key as creator (an actor whose key exists) for
// principal ("" for the creator's own) and returns the actor using it.
func (e *env) mint(creator domain.Actor, id, principal string, kind domain.PrincipalKind, role domain.Role) domain.Actor {
	e.t.Helper()
	var k domain.APIKey
	e.update(creator, func(tx *domain.Tx) error {
		var err error
		k, err = tx.CreateAPIKey(domain.APIKey{ID: id, Name: id, Kind: domain.KindAdmin, Role: role, Hash: domain.HashSecret(id),
			Principal: principal, PrincipalKind: kind})
		return err
	})
	return domain.Actor{KeyID: k.ID, Name: k.Name, Principal: k.Principal, Role: k.Role}
}

// gated creates and starts (as requester) a release whose second stage
// needs count approvals.
func (e *env) gated(requester domain.Actor, count int) {
	e.t.Helper()
	e.create(`{"id": "r", "environment": "production", "release_notes": "n", "items": [{"flag": "checkout", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 100000, "gate": {"approval": {"count": ` + strconv.Itoa(count) + `}}}]}`)
	e.update(requester, func(tx *domain.Tx) error { return release.Start(tx, req("r"), time.Time{}) })
}

func TestApprovalCountsPrincipalsNotKeys(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the requester and the approver; the bootstrap-like
		// root (principal root, admin) and alice and bob exist already.
		setup func(e *env) (requester, approver domain.Actor)
		// want is nil (approved), auth.ErrPermissionDenied or
		// domain.ErrFailedPrecondition, with a message containing msg.
		want error
		msg  string
	}{
		{"another person", func(e *env) (domain.Actor, domain.Actor) { return alice, bob }, nil, ""},
		{"the requester's key", func(e *env) (domain.Actor, domain.Actor) { return alice, alice }, auth.ErrPermissionDenied, "requester (alice)"},
		{"a second key of the requester", func(e *env) (domain.Actor, domain.Actor) {
			return alice, e.mint(root, "alice-2", "alice", domain.PrincipalPerson, domain.RoleReleaseManager)
		}, auth.ErrPermissionDenied, "any other of their keys"},
		{"a key the requester minted for themselves", func(e *env) (domain.Actor, domain.Actor) {
			return root, e.mint(root, "root-2", "", "", domain.RoleReleaseManager)
		}, auth.ErrPermissionDenied, "requester (root)"},
		{"a key the requester minted for someone else", func(e *env) (domain.Actor, domain.Actor) {
			return root, e.mint(root, "dave", "dave", domain.PrincipalPerson, domain.RoleReleaseManager)
		}, auth.ErrPermissionDenied, "related by key creation"},
		{"a key minted through a chain from the requester", func(e *env) (domain.Actor, domain.Actor) {
			eve := e.mint(root, "eve", "eve", domain.PrincipalPerson, domain.RoleAdmin)
			frank := e.mint(eve, "frank", "frank", domain.PrincipalPerson, domain.RoleReleaseManager)
			// Deleting the link in the middle does not hide the chain.
			e.update(root, func(tx *domain.Tx) error { return tx.DeleteAPIKey("eve") })
			return root, frank
		}, auth.ErrPermissionDenied, "related by key creation"},
		{"the creator of the requester's key", func(e *env) (domain.Actor, domain.Actor) {
			return e.mint(root, "gina", "gina", domain.PrincipalPerson, domain.RoleReleaseManager), root
		}, auth.ErrPermissionDenied, "related by key creation"},
		{"a service", func(e *env) (domain.Actor, domain.Actor) {
			return alice, e.mint(root, "ci", "ci", domain.PrincipalService, domain.RoleReleaseManager)
		}, auth.ErrPermissionDenied, "approvals are given by people"},
		{"no key", func(e *env) (domain.Actor, domain.Actor) {
			return alice, domain.Actor{Name: "system", Role: domain.RoleAdmin}
		}, auth.ErrPermissionDenied, "API key of a person"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			requester, approver := tc.setup(e)
			e.gated(requester, 1)
			_, err := e.try(approver, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) })
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Approve = %v, want it accepted", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Approve = %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if r := e.release("r"); len(r.Approvals) != 0 {
				t.Errorf("a refused approval was recorded: %+v", r.Approvals)
			}
		})
	}
}

func TestApprovalTwoApproversMustBeTwoPeople(t *testing.T) {
	e := newEnv(t)
	carol := e.mint(root, "carol", "carol", domain.PrincipalPerson, domain.RoleReleaseManager)
	bob2 := e.mint(root, "bob-2", "bob", domain.PrincipalPerson, domain.RoleReleaseManager)
	bobsFriend := e.mint(e.mint(root, "bob-admin", "bob", domain.PrincipalPerson, domain.RoleAdmin),
		"bobs-friend", "zed", domain.PrincipalPerson, domain.RoleReleaseManager)
	e.gated(alice, 2)
	e.update(bob, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) })
	for _, a := range []domain.Actor{bob, bob2, bobsFriend} {
		if _, err := e.try(a, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) }); !isPrecondition(err) {
			t.Errorf("Approve by %s after bob = %v, want a failed precondition (bob approved already)", a.Name, err)
		}
	}
	if step, _ := release.Next(e.release("r")); step.Approved != 1 {
		t.Fatalf("approvals given = %d, want 1", step.Approved)
	}
	e.update(carol, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) })
	r := e.release("r")
	if step, _ := release.Next(r); step.Approved != 2 {
		t.Errorf("approvals given = %d, want 2", step.Approved)
	}
	// The record shows each approval's principal and key, and so does the
	// timeline.
	want := []struct{ key, principal string }{{bob.KeyID, "bob"}, {"carol", "carol"}}
	for i, w := range want {
		if a := r.Approvals[i]; a.By != w.key || a.Principal != w.principal {
			t.Errorf("approval %d = key %q principal %q, want %q %q", i, a.By, a.Principal, w.key, w.principal)
		}
	}
	if r.RequesterPrincipal != "alice" || r.Requester != alice.KeyID {
		t.Errorf("requester = %q (%q), want alice's key", r.Requester, r.RequesterPrincipal)
	}
	var approvals []string
	for _, ev := range r.Timeline {
		if ev.Action == "approve" {
			approvals = append(approvals, ev.Actor+"/"+ev.ActorPrincipal)
		}
	}
	if got := strings.Join(approvals, ","); got != "k-bob/bob,carol/carol" {
		t.Errorf("approve events = %s, want k-bob/bob,carol/carol", got)
	}
}

// A release started before principals existed has no requester principal:
// it is derived from the requester's key, or from its name as for keys
// stored then.
func TestApprovalOfAReleaseWithoutRequesterPrincipal(t *testing.T) {
	e := newEnv(t)
	carl := domain.Actor{Name: "carl", Role: domain.RoleReleaseManager} // no key, no principal
	e.gated(carl, 1)
	if r := e.release("r"); r.RequesterPrincipal != "" {
		t.Fatalf("requester principal = %q, want none", r.RequesterPrincipal)
	}
	carlsKey := e.mint(domain.Actor{Name: "setup"}, "carl-key", "carl", domain.PrincipalPerson, domain.RoleReleaseManager)
	if _, err := e.try(carlsKey, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) }); !errors.Is(err, auth.ErrPermissionDenied) {
		t.Errorf("Approve by carl's key = %v, want permission denied (carl is the requester)", err)
	}
	e.update(bob, func(tx *domain.Tx) error { return release.Approve(tx, req("r")) })
}
