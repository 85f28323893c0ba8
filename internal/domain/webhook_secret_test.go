package domain_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, domain.SecretKeySize)
	rand.Read(k)
	return k
}

func keys(t *testing.T, ks ...[]byte) *domain.SecretKeys {
	t.Helper()
	sk, err := domain.NewSecretKeys(ks...)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// webhookDB creates a database with webhook ops, its secret sealed with
// k, and returns its path, closed.
func webhookDB(t *testing.T, k []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.OnBolt(t, path, domain.Options{SecretKeys: keys(t, k)})
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateWebhook("shop", hook("ops")) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawWebhook returns the record of webhook ops as the file holds it.
func rawWebhook(t *testing.T, path string) map[string]any {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rec map[string]any
	db.View(func(tx *bolt.Tx) error {
		return json.Unmarshal(tx.Bucket([]byte("projects")).Bucket([]byte("shop")).Bucket([]byte("webhooks")).Get([]byte("ops")), &rec)
	})
	return rec["value"].(map[string]any)
}

func TestWebhookSecretIsEncryptedAtRest(t *testing.T) {
	k := newKey(t)
	path := webhookDB(t, k)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(hookSecret)) {
		t.Error("the database file holds the webhook secret in plain text")
	}
	if v := rawWebhook(t, path); v["secret"] != nil || !strings.HasPrefix(v["sealed_secret"].(string), "v1."+keys(t, k).IDs()[0]+".") {
		t.Errorf("stored webhook %v, want its secret sealed with the key's id", v)
	}

	s := domaintest.OnBolt(t, path, domain.Options{SecretKeys: keys(t, k)})
	if w, _, ok := project(t, s.State(), "shop").Webhook("ops"); !ok || w.Secret != hookSecret {
		t.Errorf("reopened with the key: %+v, want the secret back", w)
	}
}

func TestWebhookSecretNeedsItsKey(t *testing.T) {
	k := newKey(t)
	path := webhookDB(t, k)
	cases := []struct {
		name string
		keys *domain.SecretKeys
		want string
	}{
		{"another key", keys(t, newKey(t)), "is encrypted with key " + keys(t, k).IDs()[0] + ", which is not among the keys given"},
		{"no key", nil, "its secret is encrypted, and no key was given"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := domaintest.OpenFile(path, domain.Options{SecretKeys: tc.keys})
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, domain.ErrSecretKey) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "projects/shop/webhooks/ops") {
				t.Errorf("Open = %v, want ErrSecretKey: %s", err, tc.want)
			}
		})
	}
}

func TestWebhookSecretsAreResealedOnOpen(t *testing.T) {
	old, next := newKey(t), newKey(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"plain text of an older database", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("projects")).Bucket([]byte("shop")).Bucket([]byte("webhooks"))
				var rec map[string]any
				if err := json.Unmarshal(b.Get([]byte("ops")), &rec); err != nil {
					return err
				}
				v := rec["value"].(map[string]any)
				delete(v, "sealed_secret")
				v["secret"] = hookSecret
				raw, _ := json.Marshal(rec)
				return b.Put([]byte("ops"), raw)
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"sealed with an older key", func(*testing.T, string) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := webhookDB(t, old)
			tc.setup(t, path)
			s := domaintest.OnBolt(t, path, domain.Options{SecretKeys: keys(t, next, old)})
			if w, _, _ := project(t, s.State(), "shop").Webhook("ops"); w.Secret != hookSecret {
				t.Errorf("opened: secret %q, want %q", w.Secret, hookSecret)
			}
			s.Close()
			if v := rawWebhook(t, path); v["secret"] != nil || !strings.HasPrefix(v["sealed_secret"].(string), "v1."+keys(t, next).IDs()[0]+".") {
				t.Errorf("stored webhook %v, want its secret sealed with the first key", v)
			}
			s = domaintest.OnBolt(t, path, domain.Options{SecretKeys: keys(t, next)})
			if w, _, _ := project(t, s.State(), "shop").Webhook("ops"); w.Secret != hookSecret {
				t.Errorf("reopened with the new key only: secret %q, want %q", w.Secret, hookSecret)
			}
		})
	}
}

func TestSecretKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db.key")
	if err := domain.CreateSecretKeyFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file %v (%v), want mode 0600", fi.Mode(), err)
	}
	sk, err := domain.ReadSecretKeyFile(path)
	if err != nil || len(sk.IDs()) != 1 {
		t.Fatalf("ReadSecretKeyFile = %v, %v; want one key", sk, err)
	}
	if err := domain.CreateSecretKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateSecretKeyFile over a key = %v, want ErrExist", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("not base64!\n"), 0o600)
	if _, err := domain.ReadSecretKeyFile(bad); !errors.Is(err, domain.ErrSecretKey) || !strings.Contains(err.Error(), "bad.key:1") {
		t.Errorf("ReadSecretKeyFile(bad) = %v, want ErrSecretKey at line 1", err)
	}
	if _, err := domain.ReadSecretKeyFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, domain.ErrSecretKey) {
		t.Errorf("ReadSecretKeyFile(missing) = %v, want ErrNotExist", err)
	}
}
