package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
)

// KeyKind is what an API key is for (DESIGN §4).
type KeyKind string

// The kinds of API keys.
const (
	KindAdmin  KeyKind = "admin"  // the admin API, with a Role
	KindSDK    KeyKind = "sdk"    // a server SDK of one environment: may stream the ruleset
	KindClient KeyKind = "client" // a client of one environment: may only evaluate
	KindRelay  KeyKind = "relay"  // a relay: may follow the sync streams of some environments of a project
)

// Role is what an admin token may do.
type Role string

// The roles of admin tokens.
const (
	RoleAdmin          Role = "admin"
	RoleReleaseManager Role = "release-manager"
	RoleEditor         Role = "editor"
	RoleViewer         Role = "viewer"
)

// Secret prefixes, by key kind, for NewSecret.
const (
	PrefixAdmin  = "sya_"
	PrefixSDK    = "sys_"
	PrefixClient = "syc_"
	PrefixRelay  = "syr_"
)

// PrincipalKind is what a principal is: a person or a service.
type PrincipalKind string

// The kinds of principal.
const (
	PrincipalPerson  PrincipalKind = "person"
	PrincipalService PrincipalKind = "service"
)

// BootstrapPrincipal is the principal of the admin token bootstrap creates
// on an empty database (a person).
const BootstrapPrincipal = "admin"

// APIKey is a stored API key. The secret itself is never stored: Hash is the
// hex SHA-256 of it (HashSecret).
//
// Every key belongs to a principal — the person or service that holds it —
// fixed at creation, and records the chain of keys that created it
// (Lineage), so that rules about people (two-person approvals) can tell a
// second person from a second key of the same one.
type APIKey struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	Kind        KeyKind   `json:"kind"`
	Role        Role      `json:"role,omitempty"`        // admin keys only
	Project     string    `json:"project,omitempty"`     // sdk and client keys
	Environment string    `json:"environment,omitempty"` // sdk and client keys
	Hash        string    `json:"hash"`
	CreateTime  time.Time `json:"create_time"`
	CreatedBy   string    `json:"created_by,omitempty"`
	// Principal is who holds the key, PrincipalKind whether a person or a
	// service. Keys stored before principals existed get one derived on
	// read (LegacyPrincipal).
	Principal     string        `json:"principal,omitempty"`
	PrincipalKind PrincipalKind `json:"principal_kind,omitempty"`
	// CreatedByKey is the ID of the key that created this one; "" for keys
	// created by the server itself (bootstrap) and for keys stored before
	// it was recorded.
	CreatedByKey string `json:"created_by_key,omitempty"`
	// Lineage is the creation chain as it was at creation, nearest first:
	// the creating key, the key that created that one, and so on, each
	// with its principal. It survives the deletion of any key in it.
	Lineage []KeyRef `json:"lineage,omitempty"`
	// Environments are a relay key's environments of Project.
	Environments []string `json:"environments,omitempty"`
}

// Covers reports whether the key may use environment env of project: its
// own environment for sdk and client keys, one of its environments for
// relay keys; admin tokens are bound to none.
func (k *APIKey) Covers(project, env string) bool {
	if k.Project != project {
		return false
	}
	if k.Kind == KindRelay {
		return slices.Contains(k.Environments, env)
	}
	return k.Environment == env
}

// KeyRef names a key and the principal it belonged to.
type KeyRef struct {
	Key       string `json:"key"`
	Principal string `json:"principal"`
}

// MaxLineage bounds a key's recorded creation chain; a longer chain keeps
// its nearest links.
const MaxLineage = 32

// DescendsFrom reports whether k belongs to principal, is the key keyID,
// or was created (directly or through a chain of keys) by principal or by
// the key keyID. Empty arguments match nothing.
func (k *APIKey) DescendsFrom(principal, keyID string) bool {
	match := func(key, p string) bool {
		return (principal != "" && p == principal) || (keyID != "" && key == keyID)
	}
	if match(k.ID, k.Principal) {
		return true
	}
	for _, r := range k.Lineage {
		if match(r.Key, r.Principal) {
			return true
		}
	}
	return false
}

// LegacyPrincipal fills in the principal of a key stored before keys had
// one: the key's name (or "key-" and its ID when it has none), a person
// for admin tokens and a service for SDK and client keys. The result is
// the same on every read. Keys with a principal are left alone.
func LegacyPrincipal(k *APIKey) {
	if k.Principal != "" {
		return
	}
	k.Principal = k.Name
	if k.Principal == "" {
		k.Principal = "key-" + k.ID
	}
	if k.PrincipalKind == "" {
		k.PrincipalKind = PrincipalService
		if k.Kind == KindAdmin {
			k.PrincipalKind = PrincipalPerson
		}
	}
}

// ValidPrincipal reports whether p is a usable principal name: 1 to 128
// printable characters without surrounding spaces.
func ValidPrincipal(p string) bool {
	if p == "" || len(p) > 128 || strings.TrimSpace(p) != p {
		return false
	}
	for _, r := range p {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// secretBytes is the entropy of a secret: 192 bits.
const secretBytes = 24

// NewSecret returns a new secret, prefix followed by 192 random bits from
// crypto/rand in unpadded base64url, and its hash (HashSecret). Show the
// secret once; store the hash.
func NewSecret(prefix string) (secret, hash string, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("new secret: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret), nil
}

// HashSecret returns the hex SHA-256 of a secret, as kept in APIKey.Hash.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newKeyID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new key id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// keyView is what audit events record of an API key: everything but the
// hash. PrincipalNamedBy is set on creation when the creator named a
// principal other than its own: the principal of the creating key.
type keyView struct {
	ID               string        `json:"id"`
	Name             string        `json:"name,omitempty"`
	Kind             KeyKind       `json:"kind"`
	Role             Role          `json:"role,omitempty"`
	Project          string        `json:"project,omitempty"`
	Environment      string        `json:"environment,omitempty"`
	Environments     []string      `json:"environments,omitempty"`
	Principal        string        `json:"principal,omitempty"`
	PrincipalKind    PrincipalKind `json:"principal_kind,omitempty"`
	CreatedByKey     string        `json:"created_by_key,omitempty"`
	PrincipalNamedBy string        `json:"principal_named_by,omitempty"`
}

func viewKey(k *APIKey) keyView {
	return keyView{
		ID: k.ID, Name: k.Name, Kind: k.Kind, Role: k.Role, Project: k.Project, Environment: k.Environment,
		Environments: k.Environments,
		Principal:    k.Principal, PrincipalKind: k.PrincipalKind, CreatedByKey: k.CreatedByKey,
	}
}

// CreateAPIKey stores a new API key and returns it as stored. k.Hash must
// be a HashSecret result; an empty k.ID gets a random one; CreateTime is
// the commit's time; an empty CreatedBy becomes the actor's name. Admin keys
// need a Role and no Project; sdk and client keys need an existing
// Project and Environment and no Role; relay keys need an existing Project,
// one or more of its environments in Environments (no duplicates), no
// Environment and no Role.
//
// The key's principal is fixed here. The actor's key (Actor.KeyID) is the
// creating key: CreatedByKey and Lineage record it and its own chain. An
// empty k.Principal makes the key its creator's (principal and kind);
// naming another principal needs an admin actor and is recorded in the
// audit event (principal_named_by). Without a creating key (bootstrap, the
// server itself) an empty k.Principal is derived as LegacyPrincipal does.
// PrincipalKind defaults to the creator's, else person for admin tokens and
// service for other keys.
func (tx *Tx) CreateAPIKey(k APIKey) (APIKey, error) {
	if err := tx.usable(); err != nil {
		return APIKey{}, err
	}
	if k.ID == "" {
		id, err := newKeyID()
		if err != nil {
			return APIKey{}, err
		}
		k.ID = id
	}
	if err := checkKey("api", k.ID); err != nil {
		return APIKey{}, err
	}
	name := APIKeyName(k.ID)
	if b, err := hex.DecodeString(k.Hash); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != k.Hash {
		return APIKey{}, fmt.Errorf("%s: hash is not a lower-case hex SHA-256: %w", name, ErrInvalid)
	}
	switch k.Kind {
	case KindAdmin:
		switch k.Role {
		case RoleAdmin, RoleReleaseManager, RoleEditor, RoleViewer:
		default:
			return APIKey{}, fmt.Errorf("%s: role %q: %w", name, k.Role, ErrInvalid)
		}
		if k.Project != "" || k.Environment != "" {
			return APIKey{}, fmt.Errorf("%s: admin keys have no project or environment: %w", name, ErrInvalid)
		}
	case KindSDK, KindClient:
		if k.Role != "" {
			return APIKey{}, fmt.Errorf("%s: %s keys have no role: %w", name, k.Kind, ErrInvalid)
		}
		ps, ok := tx.Project(k.Project)
		if !ok {
			return APIKey{}, notFound(ProjectName(k.Project))
		}
		if _, ok := ps.Environment(k.Environment); !ok {
			return APIKey{}, notFound(EnvironmentName(k.Project, k.Environment))
		}
		if len(k.Environments) > 0 {
			return APIKey{}, fmt.Errorf("%s: %s keys have one environment: %w", name, k.Kind, ErrInvalid)
		}
	case KindRelay:
		if k.Role != "" || k.Environment != "" {
			return APIKey{}, fmt.Errorf("%s: relay keys have no role and name environments, not environment: %w", name, ErrInvalid)
		}
		if len(k.Environments) == 0 {
			return APIKey{}, fmt.Errorf("%s: a relay key needs at least one environment: %w", name, ErrInvalid)
		}
		ps, ok := tx.Project(k.Project)
		if !ok {
			return APIKey{}, notFound(ProjectName(k.Project))
		}
		for i, env := range k.Environments {
			if slices.Contains(k.Environments[:i], env) {
				return APIKey{}, fmt.Errorf("%s: environment %q listed twice: %w", name, env, ErrInvalid)
			}
			if _, ok := ps.Environment(env); !ok {
				return APIKey{}, notFound(EnvironmentName(k.Project, env))
			}
		}
		k.Environments = slices.Clone(k.Environments)
	default:
		return APIKey{}, fmt.Errorf("%s: kind %q: %w", name, k.Kind, ErrInvalid)
	}
	if _, ok := tx.keys[k.ID]; ok {
		return APIKey{}, fmt.Errorf("%s: %w", name, ErrAlreadyExists)
	}
	if _, ok := tx.byHash[k.Hash]; ok {
		return APIKey{}, fmt.Errorf("%s: hash: %w", name, ErrAlreadyExists)
	}
	namedBy, err := tx.ownPrincipal(&k)
	if err != nil {
		return APIKey{}, fmt.Errorf("%s: %w", name, err)
	}
	k.CreateTime = tx.now
	if k.CreatedBy == "" {
		k.CreatedBy = tx.actor.Name
	}
	tx.ownKeys()
	nk := &k
	tx.keys[k.ID] = nk
	tx.byHash[k.Hash] = nk
	tx.keyChanges[k.ID] = true
	view := viewKey(nk)
	view.PrincipalNamedBy = namedBy
	tx.record(AuditEvent{
		Action:      "apikey.create",
		Resource:    name,
		Project:     k.Project,
		Environment: k.Environment,
		After:       encode(view),
	}, false)
	return k, nil
}

// ownPrincipal sets k's principal, its kind, CreatedByKey and Lineage from
// the actor's key, and returns the creator's principal when k names
// another one (else "").
func (tx *Tx) ownPrincipal(k *APIKey) (namedBy string, err error) {
	k.CreatedByKey, k.Lineage = "", nil
	switch k.PrincipalKind {
	case "", PrincipalPerson, PrincipalService:
	default:
		return "", fmt.Errorf("principal_kind %q: want person or service: %w", k.PrincipalKind, ErrInvalid)
	}
	creator, ok := tx.keys[tx.actor.KeyID]
	if !ok {
		LegacyPrincipal(k)
	} else {
		k.CreatedByKey = creator.ID
		k.Lineage = append([]KeyRef{{Key: creator.ID, Principal: creator.Principal}}, creator.Lineage...)
		if len(k.Lineage) > MaxLineage {
			k.Lineage = k.Lineage[:MaxLineage]
		}
		switch {
		case k.Principal == "" || k.Principal == creator.Principal:
			k.Principal = creator.Principal
			if k.PrincipalKind == "" {
				k.PrincipalKind = creator.PrincipalKind
			}
		case creator.Role != RoleAdmin:
			return "", fmt.Errorf("%w: only an admin may create a key for another principal (%q, not %q)",
				ErrFailedPrecondition, k.Principal, creator.Principal)
		default:
			namedBy = creator.Principal
		}
	}
	if !ValidPrincipal(k.Principal) {
		return "", fmt.Errorf("principal %q: want 1 to 128 printable characters: %w", k.Principal, ErrInvalid)
	}
	if k.PrincipalKind == "" {
		k.PrincipalKind = PrincipalService
		if k.Kind == KindAdmin {
			k.PrincipalKind = PrincipalPerson
		}
	}
	return namedBy, nil
}

// APIKey returns the API key with the given ID as tx sees it.
func (tx *Tx) APIKey(id string) (*APIKey, bool) {
	k, ok := tx.keys[id]
	return k, ok
}

// DeleteAPIKey deletes an API key. Keys are immutable, so there is no
// etag.
func (tx *Tx) DeleteAPIKey(id string) error {
	if err := tx.usable(); err != nil {
		return err
	}
	k, ok := tx.keys[id]
	if !ok {
		return notFound(APIKeyName(id))
	}
	tx.removeKey(k)
	tx.record(AuditEvent{
		Action:      "apikey.delete",
		Resource:    APIKeyName(id),
		Project:     k.Project,
		Environment: k.Environment,
		Before:      encode(viewKey(k)),
	}, false)
	return nil
}

// removeKeys deletes the keys that match and returns their IDs, sorted;
// the caller's audit event records them.
func (tx *Tx) removeKeys(match func(*APIKey) bool) []string {
	var ids []string
	for _, k := range tx.keys {
		if match(k) {
			ids = append(ids, k.ID)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		tx.removeKey(tx.keys[id])
	}
	return ids
}

func (tx *Tx) removeKey(k *APIKey) {
	tx.ownKeys()
	delete(tx.keys, k.ID)
	delete(tx.byHash, k.Hash)
	tx.keyChanges[k.ID] = true
}

// ownKeys makes the Tx's key maps its own before the first change.
func (tx *Tx) ownKeys() {
	if tx.keyChanges == nil {
		tx.keys = maps.Clone(tx.keys)
		tx.byHash = maps.Clone(tx.byHash)
		tx.keyChanges = map[string]bool{}
	}
}
