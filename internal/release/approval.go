package release

import (
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// The two-person rule of approval gates counts principals — the people
// keys belong to — not keys: a second key of the requester, or a key the
// requester created (for themselves or in anyone's name), is still the
// requester. Two principals are related when one's key was created, directly
// or through a chain of keys, by the other or by the other's key
// (domain.APIKey.Lineage); a related principal counts as the same person.

// setRequester makes tx's actor the requester of r's next gate.
func setRequester(tx *domain.Tx, r *model.Release) {
	a := tx.Actor()
	r.Requester, r.RequesterName, r.RequesterPrincipal = a.KeyID, a.Name, actorPrincipal(tx)
}

// actorPrincipal is the principal of tx's actor: its key's, else what the
// actor says ("" for the scheduler and other actors without a key).
func actorPrincipal(tx *domain.Tx) string {
	a := tx.Actor()
	if k, ok := tx.APIKey(a.KeyID); ok {
		return k.Principal
	}
	return a.Principal
}

// party is someone an approval is checked against: the requester or an
// earlier approver.
type party struct {
	requester bool
	key       string // key ID
	principal string
}

func (p party) role() string {
	if p.requester {
		return "the requester"
	}
	return "an earlier approver"
}

// requesterParty is r's requester. A release started before principals
// existed has no RequesterPrincipal: it is the requester key's principal
// if the key still exists, else derived from its name as for keys stored
// before principals existed (domain.LegacyPrincipal).
func requesterParty(tx *domain.Tx, r *model.Release) party {
	p := party{requester: true, key: r.Requester, principal: r.RequesterPrincipal}
	if p.principal == "" {
		p.principal = legacyPrincipal(tx, r.Requester, r.RequesterName)
	}
	return p
}

// approverParty is an earlier approval, with the same derivation for
// approvals given before principals existed.
func approverParty(tx *domain.Tx, a model.Approval) party {
	p := party{key: a.By, principal: a.Principal}
	if p.principal == "" {
		p.principal = legacyPrincipal(tx, a.By, a.ByName)
	}
	return p
}

func legacyPrincipal(tx *domain.Tx, keyID, name string) string {
	if k, ok := tx.APIKey(keyID); ok {
		return k.Principal
	}
	k := domain.APIKey{ID: keyID, Name: name}
	domain.LegacyPrincipal(&k)
	return k.Principal
}

// checkApprover returns the key of tx's actor if it may approve stage of
// r: a person's key (services do not approve), unrelated to the requester
// and to every earlier approver of the stage. Otherwise it returns an error
// that says why: matching auth.ErrPermissionDenied (HTTP 403) for the
// requester and a service, domain.ErrFailedPrecondition (HTTP 400
// FAILED_PRECONDITION) for a person who approved already.
func checkApprover(tx *domain.Tx, req Request, r *model.Release, stage int) (*domain.APIKey, error) {
	parties := []party{requesterParty(tx, r)}
	for _, ap := range r.Approvals {
		if ap.Stage == stage {
			parties = append(parties, approverParty(tx, ap))
		}
	}
	return checkPerson(tx, req, parties, "their own release", stageName(r, stage))
}

// checkPerson returns the key of tx's actor if it is a person's key
// unrelated to every party; own says what the requester may not approve
// ("their own release"), what names what is approved in messages.
func checkPerson(tx *domain.Tx, req Request, parties []party, own, what string) (*domain.APIKey, error) {
	a := tx.Actor()
	key, ok := tx.APIKey(a.KeyID)
	if !ok {
		return nil, permissionDenied(req, "an approval needs the API key of a person")
	}
	if key.PrincipalKind == domain.PrincipalService {
		return nil, permissionDenied(req, "key %q belongs to the service %q; approvals are given by people", key.Name, key.Principal)
	}
	for _, p := range parties {
		switch {
		case key.ID == p.key || key.Principal == p.principal:
			if p.requester {
				return nil, permissionDenied(req, "the requester (%s) may not approve %s, with this or any other of their keys; another person must",
					p.principal, own)
			}
			return nil, failed(req.Project, req.ID, "%s approved %s already; approvals count people, not keys", p.principal, what)
		case key.DescendsFrom(p.principal, p.key), related(tx, p, key):
			msg := "key %q (principal %q) and %s (%s) are related by key creation: one created the other's key, directly or through other keys, so they count as one person"
			if p.requester {
				return nil, permissionDenied(req, msg+"; another person must approve with a key of their own", key.Name, key.Principal, p.role(), p.principal)
			}
			return nil, failed(req.Project, req.ID, msg+", who approved already", key.Name, key.Principal, p.role(), p.principal)
		}
	}
	return key, nil
}

// related reports whether p's key, if it still exists, was created by
// key's principal or by key itself.
func related(tx *domain.Tx, p party, key *domain.APIKey) bool {
	pk, ok := tx.APIKey(p.key)
	return ok && pk.DescendsFrom(key.Principal, key.ID)
}
