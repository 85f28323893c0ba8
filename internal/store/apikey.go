package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"
)

// KeyKind is what an API key is for (DESIGN §4).
type KeyKind string

// The kinds of API keys.
const (
	KindAdmin  KeyKind = "admin"  // the admin API, with a Role
	KindSDK    KeyKind = "sdk"    // a server SDK of one environment: may stream the ruleset
	KindClient KeyKind = "client" // a client of one environment: may only evaluate
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
)

// APIKey is a stored API key. The secret itself is never stored: Hash is the
// hex SHA-256 of it (HashSecret).
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
// hash.
type keyView struct {
	ID          string  `json:"id"`
	Name        string  `json:"name,omitempty"`
	Kind        KeyKind `json:"kind"`
	Role        Role    `json:"role,omitempty"`
	Project     string  `json:"project,omitempty"`
	Environment string  `json:"environment,omitempty"`
}

func viewKey(k *APIKey) keyView {
	return keyView{k.ID, k.Name, k.Kind, k.Role, k.Project, k.Environment}
}

// CreateAPIKey stores a new API key and returns it as stored. k.Hash must
// be a HashSecret result; an empty k.ID gets a random one; CreateTime is
// the commit's time; an empty CreatedBy becomes the actor's name. Admin keys
// need a Role and no Project; sdk and client keys need an existing
// Project and Environment and no Role.
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
	default:
		return APIKey{}, fmt.Errorf("%s: kind %q: %w", name, k.Kind, ErrInvalid)
	}
	if _, ok := tx.keys[k.ID]; ok {
		return APIKey{}, fmt.Errorf("%s: %w", name, ErrAlreadyExists)
	}
	if _, ok := tx.byHash[k.Hash]; ok {
		return APIKey{}, fmt.Errorf("%s: hash: %w", name, ErrAlreadyExists)
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
	tx.record(AuditEvent{
		Action:      "apikey.create",
		Resource:    name,
		Project:     k.Project,
		Environment: k.Environment,
		After:       encode(viewKey(nk)),
	}, false)
	return k, nil
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
