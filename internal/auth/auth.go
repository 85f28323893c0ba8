// Package auth decides who may call what. It knows the kinds of key (admin
// tokens with a role, server SDK keys and client keys, DESIGN §4, and relay
// keys), the permission every API method needs, and nothing about
// transports: the gRPC interceptor and the HTTP middleware both ask
// Authorize.
package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind is the kind of an API key.
type Kind string

// The kinds of API key.
const (
	KindAdmin  Kind = "admin"  // admin token: the admin API, by role
	KindSDK    Kind = "sdk"    // server SDK key: evaluate and stream one environment's rules
	KindClient Kind = "client" // client key: evaluate one context in one environment
	KindRelay  Kind = "relay"  // relay key: follow the sync streams of some environments, forward events
)

// Role is an admin token's role. Every role may read.
type Role string

// The roles of admin tokens, from least to most powerful.
const (
	RoleViewer         Role = "viewer"
	RoleEditor         Role = "editor"
	RoleReleaseManager Role = "release-manager"
	RoleAdmin          Role = "admin"
)

// rank orders roles; a role may do what any lower role may.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleReleaseManager:
		return 3
	case RoleAdmin:
		return 4
	}
	return 0
}

// ValidKind reports whether k is a known kind.
func ValidKind(k Kind) bool {
	return k == KindAdmin || k == KindSDK || k == KindClient || k == KindRelay
}

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool { return r.rank() > 0 }

// Permission is what an API method needs.
type Permission int

// The permissions, each method needing exactly one.
const (
	// Public methods need no key (health checks).
	Public Permission = iota
	// Evaluate evaluates flags for one context: any key kind.
	Evaluate
	// Sync streams an environment's compiled rules: SDK keys only.
	Sync
	// Read reads admin resources: every admin role.
	Read
	// Edit changes flags, segments and components and drafts releases.
	Edit
	// Release starts, advances, approves, pauses and rolls back releases.
	Release
	// Admin manages keys, environments and projects.
	Admin
	// Events sends exposure and track events: every key that may evaluate,
	// and relay keys (which forward their clients' events).
	Events
)

// String names the permission for error messages.
func (p Permission) String() string {
	switch p {
	case Public:
		return "public"
	case Evaluate:
		return "evaluate"
	case Sync:
		return "sync"
	case Read:
		return "read"
	case Edit:
		return "edit"
	case Release:
		return "release"
	case Admin:
		return "admin"
	case Events:
		return "send events"
	}
	return fmt.Sprintf("permission(%d)", int(p))
}

// roleFor is the least role that holds an admin permission.
func roleFor(p Permission) Role {
	switch p {
	case Read:
		return RoleViewer
	case Edit:
		return RoleEditor
	case Release:
		return RoleReleaseManager
	}
	return RoleAdmin
}

// Principal is the authenticated caller: the key used and the person or
// service it belongs to.
type Principal struct {
	KeyID string
	Name  string
	Kind  Kind
	Role  Role // admin tokens only
	// Owner is the principal the key belongs to (a person or a service).
	// Two keys of one owner are one caller to rules about people, such as
	// two-person approvals.
	Owner string
	// Project and Environment bind SDK and client keys.
	Project     string
	Environment string
	// Environments are a relay key's environments of Project.
	Environments []string
}

// ErrUnauthenticated means no key, or no key the server knows.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrPermissionDenied means a known key that may not do what was asked.
var ErrPermissionDenied = errors.New("permission denied")

// Authorize reports whether p holds perm. It returns an error wrapping
// ErrPermissionDenied with a message a caller can act on.
func Authorize(p *Principal, perm Permission) error {
	if perm == Public {
		return nil
	}
	if p == nil {
		return ErrUnauthenticated
	}
	switch p.Kind {
	case KindAdmin:
		if perm == Evaluate || perm == Events {
			return nil
		}
		if perm == Sync {
			return fmt.Errorf("%w: streaming rules needs a server SDK key", ErrPermissionDenied)
		}
		if need := roleFor(perm); p.Role.rank() < need.rank() {
			return fmt.Errorf("%w: %s needs role %s or higher, key %q has %s", ErrPermissionDenied, perm, need, p.Name, p.Role)
		}
		return nil
	case KindSDK:
		if perm == Evaluate || perm == Sync || perm == Events {
			return nil
		}
	case KindClient:
		if perm == Evaluate || perm == Events {
			return nil
		}
	case KindRelay:
		if perm == Sync || perm == Events {
			return nil
		}
	}
	return fmt.Errorf("%w: a %s key may not %s; use an admin token", ErrPermissionDenied, p.Kind, perm)
}

// Scope resolves the environment a call addresses. Admin tokens must name
// project and environment; SDK and client keys address their own, and
// naming another is refused; relay keys address one of theirs, the first
// when they name none.
func Scope(p *Principal, project, environment string) (string, string, error) {
	if p == nil {
		return "", "", ErrUnauthenticated
	}
	if p.Kind == KindRelay {
		if environment == "" && len(p.Environments) > 0 {
			environment = p.Environments[0]
		}
		if (project != "" && project != p.Project) || !slices.Contains(p.Environments, environment) {
			return "", "", fmt.Errorf("%w: the relay key covers %s/%s", ErrPermissionDenied, p.Project, strings.Join(p.Environments, ","))
		}
		return p.Project, environment, nil
	}
	if p.Kind == KindAdmin {
		if project == "" || environment == "" {
			return "", "", fmt.Errorf("%w: an admin token must name project and environment", ErrScopeMissing)
		}
		return project, environment, nil
	}
	if (project != "" && project != p.Project) || (environment != "" && environment != p.Environment) {
		return "", "", fmt.Errorf("%w: the key belongs to environment %s/%s", ErrPermissionDenied, p.Project, p.Environment)
	}
	return p.Project, p.Environment, nil
}

// ErrScopeMissing means an admin token called an environment-scoped method
// without naming the environment.
var ErrScopeMissing = errors.New("scope missing")

// SecretFromHeader extracts the secret from an Authorization header value
// ("Bearer <secret>"); it returns "" when the header is of another scheme.
func SecretFromHeader(v string) string {
	const prefix = "bearer "
	if len(v) > len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) {
		return strings.TrimSpace(v[len(prefix):])
	}
	return ""
}
