package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{store.PrefixAdmin, store.PrefixSDK, store.PrefixClient} {
		secret, hash, err := store.NewSecret(prefix)
		if err != nil {
			t.Fatalf("NewSecret(%q) = %v", prefix, err)
		}
		// 24 random bytes are 32 base64url characters: 192 bits.
		if !strings.HasPrefix(secret, prefix) || len(secret) != len(prefix)+32 || seen[secret] {
			t.Errorf("NewSecret(%q) = %q, want the prefix and 32 new characters", prefix, secret)
		}
		seen[secret] = true
		if hash != store.HashSecret(secret) || len(hash) != 64 {
			t.Errorf("NewSecret(%q) hash = %q, want HashSecret(secret)", prefix, hash)
		}
	}
	if got, want := store.HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashSecret(abc) = %q, want %q", got, want)
	}
}

func TestAPIKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := storetest.Open(t, path, store.Options{})
	seed(t, s)
	secret, hash, err := store.NewSecret(store.PrefixSDK)
	if err != nil {
		t.Fatal(err)
	}
	var created store.APIKey
	c := update(t, s, func(tx *store.Tx) error {
		var err error
		created, err = tx.CreateAPIKey(store.APIKey{Name: "backend", Kind: store.KindSDK, Project: "shop", Environment: "production", Hash: hash})
		return err
	})
	if created.ID == "" || !created.CreateTime.Equal(c.Events[0].Time) || created.CreatedBy != testActor.Name {
		t.Errorf("CreateAPIKey() = %+v, want an ID, the commit time and the actor", created)
	}
	got, ok := s.State().KeyByHash(store.HashSecret(secret))
	if !ok || !reflect.DeepEqual(*got, created) {
		t.Errorf("KeyByHash() = %+v, %v, want %+v", got, ok, created)
	}
	if ev := c.Events[0]; ev.Action != "apikey.create" || ev.Resource != store.APIKeyName(created.ID) || strings.Contains(string(ev.After), hash) {
		t.Errorf("event = %+v, want apikey.create without the hash", ev)
	}

	tests := []struct {
		name string
		key  store.APIKey
		want error
	}{
		{"bad hash", store.APIKey{Kind: store.KindAdmin, Role: store.RoleAdmin, Hash: "secret"}, store.ErrInvalid},
		{"upper-case hash", store.APIKey{Kind: store.KindAdmin, Role: store.RoleAdmin, Hash: strings.ToUpper(store.HashSecret("u"))}, store.ErrInvalid},
		{"admin without role", store.APIKey{Kind: store.KindAdmin, Hash: store.HashSecret("a")}, store.ErrInvalid},
		{"admin with project", store.APIKey{Kind: store.KindAdmin, Role: store.RoleEditor, Project: "shop", Hash: store.HashSecret("a")}, store.ErrInvalid},
		{"sdk with role", store.APIKey{Kind: store.KindSDK, Role: store.RoleEditor, Project: "shop", Environment: "production", Hash: store.HashSecret("a")}, store.ErrInvalid},
		{"unknown kind", store.APIKey{Kind: "root", Hash: store.HashSecret("a")}, store.ErrInvalid},
		{"client in missing environment", store.APIKey{Kind: store.KindClient, Project: "shop", Environment: "qa", Hash: store.HashSecret("a")}, store.ErrNotFound},
		{"client in missing project", store.APIKey{Kind: store.KindClient, Project: "none", Environment: "qa", Hash: store.HashSecret("a")}, store.ErrNotFound},
		{"duplicate hash", store.APIKey{Kind: store.KindAdmin, Role: store.RoleAdmin, Hash: hash}, store.ErrAlreadyExists},
		{"duplicate id", store.APIKey{ID: created.ID, Kind: store.KindAdmin, Role: store.RoleAdmin, Hash: store.HashSecret("a")}, store.ErrAlreadyExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Update(context.Background(), testActor, func(tx *store.Tx) error {
				_, err := tx.CreateAPIKey(tc.key)
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("CreateAPIKey(%+v) = %v, want %v", tc.key, err, tc.want)
			}
		})
	}

	s.Close()
	s = storetest.Open(t, path, store.Options{})
	if got, ok := s.State().KeyByHash(hash); !ok || !reflect.DeepEqual(*got, created) {
		t.Errorf("after reopen KeyByHash() = %+v, %v, want %+v", got, ok, created)
	}
	update(t, s, func(tx *store.Tx) error { return tx.DeleteAPIKey(created.ID) })
	if _, ok := s.State().KeyByHash(hash); ok {
		t.Error("KeyByHash() finds a deleted key")
	}
	s.Close()
	s = storetest.Open(t, path, store.Options{})
	if n := len(s.State().APIKeys()); n != 0 {
		t.Errorf("after reopen %d keys, want 0", n)
	}
}

func TestAPIKeyPrincipals(t *testing.T) {
	s := storetest.Open(t, filepath.Join(t.TempDir(), "switchyard.db"), store.Options{})
	seed(t, s)
	create := func(actor store.Actor, k store.APIKey) (store.APIKey, *store.Commit, error) {
		var got store.APIKey
		k.Hash = store.HashSecret(k.ID)
		c, err := s.Update(context.Background(), actor, func(tx *store.Tx) error {
			var err error
			got, err = tx.CreateAPIKey(k)
			return err
		})
		return got, c, err
	}
	as := func(k store.APIKey) store.Actor {
		return store.Actor{KeyID: k.ID, Name: k.Name, Principal: k.Principal, Role: k.Role}
	}
	// Without a creating key: the principal named, else the key's name.
	root, _, err := create(store.Actor{Name: "bootstrap"}, store.APIKey{ID: "root", Kind: store.KindAdmin, Role: store.RoleAdmin, Principal: "admin"})
	if err != nil || root.Principal != "admin" || root.PrincipalKind != store.PrincipalPerson || root.CreatedByKey != "" || len(root.Lineage) != 0 {
		t.Fatalf("CreateAPIKey(root) = %+v, %v; want principal admin, a person, no creator", root, err)
	}
	if k, _, _ := create(store.Actor{Name: "bootstrap"}, store.APIKey{ID: "svc", Name: "ci", Kind: store.KindSDK, Project: "shop", Environment: "production"}); k.Principal != "ci" || k.PrincipalKind != store.PrincipalService {
		t.Errorf("a key without creator or principal = %+v, want principal ci (its name), a service", k)
	}

	// Created by a key: the creator's principal, unless an admin names one.
	own, c, err := create(as(root), store.APIKey{ID: "own", Kind: store.KindAdmin, Role: store.RoleReleaseManager})
	if err != nil || own.Principal != "admin" || own.PrincipalKind != store.PrincipalPerson || own.CreatedByKey != "root" ||
		!reflect.DeepEqual(own.Lineage, []store.KeyRef{{Key: "root", Principal: "admin"}}) {
		t.Errorf("key created by root = %+v, %v; want admin's, created by root", own, err)
	}
	if strings.Contains(string(c.Events[0].After), "principal_named_by") {
		t.Errorf("audit of a key for the creator itself = %s, want no principal_named_by", c.Events[0].After)
	}
	alice, c, err := create(as(root), store.APIKey{ID: "alice", Kind: store.KindAdmin, Role: store.RoleAdmin, Principal: "alice"})
	if err != nil || alice.Principal != "alice" || alice.PrincipalKind != store.PrincipalPerson {
		t.Fatalf("key named for alice = %+v, %v", alice, err)
	}
	if after := string(c.Events[0].After); !strings.Contains(after, `"principal":"alice"`) || !strings.Contains(after, `"principal_named_by":"admin"`) ||
		!strings.Contains(after, `"created_by_key":"root"`) {
		t.Errorf("audit of a key named for another principal = %s, want principal, principal_named_by and created_by_key", after)
	}
	bob, _, err := create(as(alice), store.APIKey{ID: "bob", Kind: store.KindAdmin, Role: store.RoleReleaseManager, Principal: "bob"})
	if err != nil || !bob.DescendsFrom("admin", "") || !bob.DescendsFrom("", "alice") || bob.DescendsFrom("carol", "own") {
		t.Errorf("bob = %+v, %v; want a chain bob ← alice ← root (admin)", bob, err)
	}

	tests := []struct {
		name  string
		actor store.Actor
		key   store.APIKey
		want  error
	}{
		{"non-admin names another principal", as(bob), store.APIKey{ID: "x1", Kind: store.KindAdmin, Role: store.RoleViewer, Principal: "carol"}, store.ErrFailedPrecondition},
		{"unknown principal kind", as(root), store.APIKey{ID: "x2", Kind: store.KindAdmin, Role: store.RoleViewer, PrincipalKind: "robot"}, store.ErrInvalid},
		{"principal with spaces around", as(root), store.APIKey{ID: "x3", Kind: store.KindAdmin, Role: store.RoleViewer, Principal: " eve"}, store.ErrInvalid},
		{"principal with a control character", as(root), store.APIKey{ID: "x4", Kind: store.KindAdmin, Role: store.RoleViewer, Principal: "e\x00ve"}, store.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := create(tc.actor, tc.key); !errors.Is(err, tc.want) {
				t.Errorf("CreateAPIKey(%+v) = %v, want %v", tc.key, err, tc.want)
			}
		})
	}
	// A non-admin's key for themselves is fine.
	if k, _, err := create(as(bob), store.APIKey{ID: "bob-2", Kind: store.KindAdmin, Role: store.RoleViewer, Principal: "bob"}); err != nil || k.Principal != "bob" {
		t.Errorf("bob's key for bob = %+v, %v", k, err)
	}
}

func TestAPIKeyWithoutPrincipalGetsOneOnRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := storetest.Open(t, path, store.Options{})
	seed(t, s)
	update(t, s, func(tx *store.Tx) error {
		_, err := tx.CreateAPIKey(store.APIKey{ID: "old", Name: "ops", Kind: store.KindAdmin, Role: store.RoleAdmin, Hash: store.HashSecret("o")})
		if err != nil {
			return err
		}
		_, err = tx.CreateAPIKey(store.APIKey{ID: "old-sdk", Kind: store.KindSDK, Project: "shop", Environment: "production", Hash: store.HashSecret("s")})
		return err
	})
	s.Close()
	// Strip the principal fields, as a database written before them holds
	// keys.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("apikeys"))
		for _, id := range []string{"old", "old-sdk"} {
			var m map[string]any
			if err := json.Unmarshal(b.Get([]byte(id)), &m); err != nil {
				return err
			}
			for _, f := range []string{"principal", "principal_kind", "created_by_key", "lineage"} {
				delete(m, f)
			}
			data, _ := json.Marshal(m)
			if err := b.Put([]byte(id), data); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	s = storetest.Open(t, path, store.Options{})
	for id, want := range map[string]store.APIKey{
		"old":     {Principal: "ops", PrincipalKind: store.PrincipalPerson},
		"old-sdk": {Principal: "key-old-sdk", PrincipalKind: store.PrincipalService},
	} {
		k, ok := s.State().APIKey(id)
		if !ok || k.Principal != want.Principal || k.PrincipalKind != want.PrincipalKind {
			t.Errorf("key %s after reopen = %+v, want principal %q (%s)", id, k, want.Principal, want.PrincipalKind)
		}
	}
}
