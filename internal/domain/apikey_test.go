package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{domain.PrefixAdmin, domain.PrefixSDK, domain.PrefixClient} {
		secret, hash, err := domain.NewSecret(prefix)
		if err != nil {
			t.Fatalf("NewSecret(%q) = %v", prefix, err)
		}
		// 24 random bytes are 32 base64url characters: 192 bits.
		if !strings.HasPrefix(secret, prefix) || len(secret) != len(prefix)+32 || seen[secret] {
			t.Errorf("NewSecret(%q) = %q, want the prefix and 32 new characters", prefix, secret)
		}
		seen[secret] = true
		if hash != domain.HashSecret(secret) || len(hash) != 64 {
			t.Errorf("NewSecret(%q) hash = %q, want HashSecret(secret)", prefix, hash)
		}
	}
	if got, want := domain.HashSecret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashSecret(abc) = %q, want %q", got, want)
	}
}

func TestAPIKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	secret, hash, err := domain.NewSecret(domain.PrefixSDK)
	if err != nil {
		t.Fatal(err)
	}
	var created domain.APIKey
	c := update(t, s, func(tx *domain.Tx) error {
		var err error
		created, err = tx.CreateAPIKey(domain.APIKey{Name: "backend", Kind: domain.KindSDK, Project: "shop", Environment: "production", Hash: hash})
		return err
	})
	if created.ID == "" || !created.CreateTime.Equal(c.Events[0].Time) || created.CreatedBy != testActor.Name {
		t.Errorf("CreateAPIKey() = %+v, want an ID, the commit time and the actor", created)
	}
	got, ok := s.State().KeyByHash(domain.HashSecret(secret))
	if !ok || !reflect.DeepEqual(*got, created) {
		t.Errorf("KeyByHash() = %+v, %v, want %+v", got, ok, created)
	}
	if ev := c.Events[0]; ev.Action != "apikey.create" || ev.Resource != domain.APIKeyName(created.ID) || strings.Contains(string(ev.After), hash) {
		t.Errorf("event = %+v, want apikey.create without the hash", ev)
	}

	tests := []struct {
		name string
		key  domain.APIKey
		want error
	}{
		{"bad hash", domain.APIKey{Kind: domain.KindAdmin, Role: domain.RoleAdmin, Hash: "secret"}, domain.ErrInvalid},
		{"upper-case hash", domain.APIKey{Kind: domain.KindAdmin, Role: domain.RoleAdmin, Hash: strings.ToUpper(domain.HashSecret("u"))}, domain.ErrInvalid},
		{"admin without role", domain.APIKey{Kind: domain.KindAdmin, Hash: domain.HashSecret("a")}, domain.ErrInvalid},
		{"admin with project", domain.APIKey{Kind: domain.KindAdmin, Role: domain.RoleEditor, Project: "shop", Hash: domain.HashSecret("a")}, domain.ErrInvalid},
		{"sdk with role", domain.APIKey{Kind: domain.KindSDK, Role: domain.RoleEditor, Project: "shop", Environment: "production", Hash: domain.HashSecret("a")}, domain.ErrInvalid},
		{"unknown kind", domain.APIKey{Kind: "root", Hash: domain.HashSecret("a")}, domain.ErrInvalid},
		{"client in missing environment", domain.APIKey{Kind: domain.KindClient, Project: "shop", Environment: "qa", Hash: domain.HashSecret("a")}, domain.ErrNotFound},
		{"client in missing project", domain.APIKey{Kind: domain.KindClient, Project: "none", Environment: "qa", Hash: domain.HashSecret("a")}, domain.ErrNotFound},
		{"duplicate hash", domain.APIKey{Kind: domain.KindAdmin, Role: domain.RoleAdmin, Hash: hash}, domain.ErrAlreadyExists},
		{"duplicate id", domain.APIKey{ID: created.ID, Kind: domain.KindAdmin, Role: domain.RoleAdmin, Hash: domain.HashSecret("a")}, domain.ErrAlreadyExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
				_, err := tx.CreateAPIKey(tc.key)
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("CreateAPIKey(%+v) = %v, want %v", tc.key, err, tc.want)
			}
		})
	}

	s.Close()
	s = domaintest.Open(t, path, domain.Options{})
	if got, ok := s.State().KeyByHash(hash); !ok || !reflect.DeepEqual(*got, created) {
		t.Errorf("after reopen KeyByHash() = %+v, %v, want %+v", got, ok, created)
	}
	update(t, s, func(tx *domain.Tx) error { return tx.DeleteAPIKey(created.ID) })
	if _, ok := s.State().KeyByHash(hash); ok {
		t.Error("KeyByHash() finds a deleted key")
	}
	s.Close()
	s = domaintest.Open(t, path, domain.Options{})
	if n := len(s.State().APIKeys()); n != 0 {
		t.Errorf("after reopen %d keys, want 0", n)
	}
}

func TestAPIKeyPrincipals(t *testing.T) {
	s := domaintest.Open(t, filepath.Join(t.TempDir(), "switchyard.db"), domain.Options{})
	seed(t, s)
	create := func(actor domain.Actor, k domain.APIKey) (domain.APIKey, *domain.Commit, error) {
		var got domain.APIKey
		k.Hash = domain.HashSecret(k.ID)
		c, err := s.Update(context.Background(), actor, func(tx *domain.Tx) error {
			var err error
			got, err = tx.CreateAPIKey(k)
			return err
		})
		return got, c, err
	}
	as := func(k domain.APIKey) domain.Actor {
		return domain.Actor{KeyID: k.ID, Name: k.Name, Principal: k.Principal, Role: k.Role}
	}
	// Without a creating key: the principal named, else the key's name.
	root, _, err := create(domain.Actor{Name: "bootstrap"}, domain.APIKey{ID: "root", Kind: domain.KindAdmin, Role: domain.RoleAdmin, Principal: "admin"})
	if err != nil || root.Principal != "admin" || root.PrincipalKind != domain.PrincipalPerson || root.CreatedByKey != "" || len(root.Lineage) != 0 {
		t.Fatalf("CreateAPIKey(root) = %+v, %v; want principal admin, a person, no creator", root, err)
	}
	if k, _, _ := create(domain.Actor{Name: "bootstrap"}, domain.APIKey{ID: "svc", Name: "ci", Kind: domain.KindSDK, Project: "shop", Environment: "production"}); k.Principal != "ci" || k.PrincipalKind != domain.PrincipalService {
		t.Errorf("a key without creator or principal = %+v, want principal ci (its name), a service", k)
	}

	// Created by a key: the creator's principal, unless an admin names one.
	own, c, err := create(as(root), domain.APIKey{ID: "own", Kind: domain.KindAdmin, Role: domain.RoleReleaseManager})
	if err != nil || own.Principal != "admin" || own.PrincipalKind != domain.PrincipalPerson || own.CreatedByKey != "root" ||
		!reflect.DeepEqual(own.Lineage, []domain.KeyRef{{Key: "root", Principal: "admin"}}) {
		t.Errorf("key created by root = %+v, %v; want admin's, created by root", own, err)
	}
	if strings.Contains(string(c.Events[0].After), "principal_named_by") {
		t.Errorf("audit of a key for the creator itself = %s, want no principal_named_by", c.Events[0].After)
	}
	alice, c, err := create(as(root), domain.APIKey{ID: "alice", Kind: domain.KindAdmin, Role: domain.RoleAdmin, Principal: "alice"})
	if err != nil || alice.Principal != "alice" || alice.PrincipalKind != domain.PrincipalPerson {
		t.Fatalf("key named for alice = %+v, %v", alice, err)
	}
	if after := string(c.Events[0].After); !strings.Contains(after, `"principal":"alice"`) || !strings.Contains(after, `"principal_named_by":"admin"`) ||
		!strings.Contains(after, `"created_by_key":"root"`) {
		t.Errorf("audit of a key named for another principal = %s, want principal, principal_named_by and created_by_key", after)
	}
	bob, _, err := create(as(alice), domain.APIKey{ID: "bob", Kind: domain.KindAdmin, Role: domain.RoleReleaseManager, Principal: "bob"})
	if err != nil || !bob.DescendsFrom("admin", "") || !bob.DescendsFrom("", "alice") || bob.DescendsFrom("carol", "own") {
		t.Errorf("bob = %+v, %v; want a chain bob ← alice ← root (admin)", bob, err)
	}

	tests := []struct {
		name  string
		actor domain.Actor
		key   domain.APIKey
		want  error
	}{
		{"non-admin names another principal", as(bob), domain.APIKey{ID: "x1", Kind: domain.KindAdmin, Role: domain.RoleViewer, Principal: "carol"}, domain.ErrFailedPrecondition},
		{"unknown principal kind", as(root), domain.APIKey{ID: "x2", Kind: domain.KindAdmin, Role: domain.RoleViewer, PrincipalKind: "robot"}, domain.ErrInvalid},
		{"principal with spaces around", as(root), domain.APIKey{ID: "x3", Kind: domain.KindAdmin, Role: domain.RoleViewer, Principal: " eve"}, domain.ErrInvalid},
		{"principal with a control character", as(root), domain.APIKey{ID: "x4", Kind: domain.KindAdmin, Role: domain.RoleViewer, Principal: "e\x00ve"}, domain.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := create(tc.actor, tc.key); !errors.Is(err, tc.want) {
				t.Errorf("CreateAPIKey(%+v) = %v, want %v", tc.key, err, tc.want)
			}
		})
	}
	// A non-admin's key for themselves is fine.
	if k, _, err := create(as(bob), domain.APIKey{ID: "bob-2", Kind: domain.KindAdmin, Role: domain.RoleViewer, Principal: "bob"}); err != nil || k.Principal != "bob" {
		t.Errorf("bob's key for bob = %+v, %v", k, err)
	}
}

func TestAPIKeyWithoutPrincipalGetsOneOnRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.OnBolt(t, path, domain.Options{})
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		_, err := tx.CreateAPIKey(domain.APIKey{ID: "old", Name: "ops", Kind: domain.KindAdmin, Role: domain.RoleAdmin, Hash: domain.HashSecret("o")})
		if err != nil {
			return err
		}
		_, err = tx.CreateAPIKey(domain.APIKey{ID: "old-sdk", Kind: domain.KindSDK, Project: "shop", Environment: "production", Hash: domain.HashSecret("s")})
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
	s = domaintest.OnBolt(t, path, domain.Options{})
	for id, want := range map[string]domain.APIKey{
		"old":     {Principal: "ops", PrincipalKind: domain.PrincipalPerson},
		"old-sdk": {Principal: "key-old-sdk", PrincipalKind: domain.PrincipalService},
	} {
		k, ok := s.State().APIKey(id)
		if !ok || k.Principal != want.Principal || k.PrincipalKind != want.PrincipalKind {
			t.Errorf("key %s after reopen = %+v, want principal %q (%s)", id, k, want.Principal, want.PrincipalKind)
		}
	}
}
