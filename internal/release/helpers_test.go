package release_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testDoc has two flags, a component and two segments in production.
const testDoc = `{
  "version": 1, "project": "shop", "environments": ["production", "staging"],
  "segments": [
    {"key": "staff", "include": ["s1", "s2"]},
    {"key": "eu", "conditions": [{"attribute": "country", "op": "in", "values": ["DE", "FR"]}]}
  ],
  "flags": [
    {"key": "checkout", "type": "bool", "environments": {"production": {"enabled": true, "default": {"variant": "off"}}}},
    {"key": "banner", "type": "string", "variants": [{"key": "old", "value": "o"}, {"key": "new", "value": "n"}],
      "environments": {"production": {"enabled": true, "off_variant": "old",
        "rules": [{"id": "vip", "conditions": [{"attribute": "vip", "op": "in", "values": [true]}], "serve": {"variant": "old"}}],
        "default": {"variant": "old"}}}},
    {"key": "dark", "type": "bool", "environments": {"production": {"enabled": false}}}
  ],
  "components": [
    {"key": "app", "versions": [{"version": "1.0.0"}, {"version": "2.0.0"}, {"version": "0.9.0", "withdrawn": true}],
      "environments": {"production": {"default": {"version": "1.0.0"}}}}
  ]
}`

// env is a store with testDoc imported, a clock, and actors.
type env struct {
	t     *testing.T
	path  string
	store *domain.Store
	clock *clock
}

var (
	alice = domain.Actor{KeyID: "k-alice", Name: "alice", Role: "release-manager"}
	bob   = domain.Actor{KeyID: "k-bob", Name: "bob", Role: "release-manager"}
	root  = domain.Actor{KeyID: "k-root", Name: "root", Role: "admin"}
)

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "switchyard.db"), clock: newClock()}
	e.store = domaintest.Open(t, e.path, domain.Options{Now: e.clock.Now})
	doc, err := model.Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	e.update(root, func(tx *domain.Tx) error { _, err := tx.Import(doc, false); return err })
	// Each actor's key, held by a person of the actor's name.
	e.update(domain.Actor{Name: "setup"}, func(tx *domain.Tx) error {
		for _, a := range []domain.Actor{alice, bob, root} {
			if _, err := tx.CreateAPIKey(domain.APIKey{
				ID: a.KeyID, Name: a.Name, Kind: domain.KindAdmin, Role: a.Role, Hash: domain.HashSecret(a.KeyID),
				Principal: a.Name, PrincipalKind: domain.PrincipalPerson,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return e
}

// update runs fn as actor and fails the test on error.
func (e *env) update(actor domain.Actor, fn func(tx *domain.Tx) error) *domain.Commit {
	e.t.Helper()
	c, err := e.try(actor, fn)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) try(actor domain.Actor, fn func(tx *domain.Tx) error) (*domain.Commit, error) {
	return e.store.Update(context.Background(), actor, fn)
}

func (e *env) project() *domain.ProjectState {
	ps, ok := e.store.State().Project("shop")
	if !ok {
		e.t.Fatal("no project shop")
	}
	return ps
}

func (e *env) release(id string) *model.Release {
	e.t.Helper()
	r, _, ok := e.project().Release(id)
	if !ok {
		e.t.Fatalf("no release %q", id)
	}
	return r
}

func (e *env) revision() uint64 {
	ev, _ := e.project().Environment("production")
	return ev.Revision
}

// export is the project's document as JSON: what export shows.
func (e *env) export() string {
	data, err := json.Marshal(e.project().Document())
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data)
}

// create adds a release built from JSON.
func (e *env) create(js string) {
	e.t.Helper()
	var r model.Release
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		e.t.Fatal(err)
	}
	e.update(alice, func(tx *domain.Tx) error { return release.Create(tx, "shop", &r) })
}

func req(id string) release.Request { return release.Request{Project: "shop", ID: id} }

// actions lists a release's timeline actions.
func actions(r *model.Release) []string {
	var out []string
	for _, ev := range r.Timeline {
		out = append(out, ev.Action)
	}
	return out
}

func isPrecondition(err error) bool { return errors.Is(err, domain.ErrFailedPrecondition) }
