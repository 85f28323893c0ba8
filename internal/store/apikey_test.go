package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

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
