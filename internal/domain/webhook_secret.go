package domain

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/internal/model"
)

// Webhook signing secrets must be recovered to sign with, so they are not
// hashed like API keys: the store encrypts them with a server key
// (AES-256-GCM, a random nonce per secret, the webhook's resource name as
// additional data) and records which key, so that keys can be rotated. A
// webhook's record holds
//
//	value.sealed_secret = "v1." key id "." base64url(nonce ‖ ciphertext)
//
// instead of value.secret. Open decrypts them, and encrypts with the first
// key the secrets of older databases (plain text) and those sealed with
// another key of the SecretKeys (rotation).

// ErrSecretKey means the store cannot decrypt a stored secret with the
// keys it was given: a missing, wrong or damaged key.
var ErrSecretKey = errors.New("secret key")

// SecretKeySize is the size of a secret key: 32 bytes (AES-256).
const SecretKeySize = 32

// SecretKeys are the keys the store encrypts recoverable secrets with: the
// first encrypts, every one decrypts.
type SecretKeys struct {
	keys []secretKey
}

type secretKey struct {
	id   string
	aead cipher.AEAD
}

// NewSecretKeys returns the keys, each SecretKeySize bytes, the first one
// the key new secrets are encrypted with.
func NewSecretKeys(keys ...[]byte) (*SecretKeys, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrSecretKey)
	}
	sk := &SecretKeys{}
	for i, k := range keys {
		if len(k) != SecretKeySize {
			return nil, fmt.Errorf("%w %d: %d bytes, want %d", ErrSecretKey, i+1, len(k), SecretKeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("%w %d: %w", ErrSecretKey, i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w %d: %w", ErrSecretKey, i+1, err)
		}
		sum := sha256.Sum256(k)
		sk.keys = append(sk.keys, secretKey{id: hex.EncodeToString(sum[:4]), aead: aead})
	}
	return sk, nil
}

// IDs returns the ids of the keys, the encrypting one first.
func (sk *SecretKeys) IDs() []string {
	ids := make([]string, len(sk.keys))
	for i, k := range sk.keys {
		ids[i] = k.id
	}
	return ids
}

// ReadSecretKeyFile reads a key file: one key per line, base64
// (standard encoding) of SecretKeySize random bytes, the first line the
// key new secrets are encrypted with; the others (older keys, kept while
// rotating) only decrypt. Empty lines and lines starting with # are
// skipped. Errors match ErrSecretKey (and fs.ErrNotExist for a missing
// file).
func ReadSecretKeyFile(path string) (*SecretKeys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w file: %w", ErrSecretKey, err)
	}
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(k) != SecretKeySize {
			return nil, fmt.Errorf("%w file %s:%d: want the base64 of %d bytes", ErrSecretKey, path, n, SecretKeySize)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w file %s: no key", ErrSecretKey, path)
	}
	sk, err := NewSecretKeys(keys...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sk, nil
}

// CreateSecretKeyFile writes a new key file with one random key, mode
// 0600. It fails (matching fs.ErrExist) when the file exists.
func CreateSecretKeyFile(path string) error {
	k := make([]byte, SecretKeySize)
	rand.Read(k)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %w file: %w", ErrSecretKey, err)
	}
	_, err = fmt.Fprintf(f, "# Switchyard secret key (AES-256): the first key encrypts, the others decrypt.\n%s\n", base64.StdEncoding.EncodeToString(k))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %w file: %w", ErrSecretKey, err)
	}
	return nil
}

// seal encrypts a secret of the named resource with the first key.
func (sk *SecretKeys) seal(resource, secret string) string {
	k := sk.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	rand.Read(nonce)
	sealed := k.aead.Seal(nonce, nonce, []byte(secret), []byte(resource))
	return "v1." + k.id + "." + base64.RawURLEncoding.EncodeToString(sealed)
}

// open decrypts a sealed secret of the named resource; primary reports
// whether it was sealed with the first key.
func (sk *SecretKeys) open(resource, sealed string) (secret string, primary bool, err error) {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return "", false, fmt.Errorf("%s: %w: the sealed secret is malformed", resource, ErrSecretKey)
	}
	i := slices.IndexFunc(sk.keys, func(k secretKey) bool { return k.id == parts[1] })
	if i < 0 {
		return "", false, fmt.Errorf("%s: %w: its secret is encrypted with key %s, which is not among the keys given (%s)",
			resource, ErrSecretKey, parts[1], strings.Join(sk.IDs(), ", "))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	k := sk.keys[i]
	if err != nil || len(raw) < k.aead.NonceSize() {
		return "", false, fmt.Errorf("%s: %w: the sealed secret is malformed", resource, ErrSecretKey)
	}
	plain, err := k.aead.Open(nil, raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():], []byte(resource))
	if err != nil {
		return "", false, fmt.Errorf("%s: %w: key %s does not decrypt its secret", resource, ErrSecretKey, k.id)
	}
	return string(plain), i == 0, nil
}

// storedWebhook is a webhook as its record holds it: the secret sealed.
type storedWebhook struct {
	model.Webhook
	SealedSecret string `json:"sealed_secret,omitempty"`
}

// encodeWebhooks writes the records of the dirty webhooks of c (their
// secrets sealed with sk) and deletes those no longer in c.
func (o *ops) encodeWebhooks(dir Path, project string, c *coll[*model.Webhook], dirty map[string]bool, sk *SecretKeys) error {
	for _, key := range slices.Sorted(maps.Keys(dirty)) {
		w, e, ok := c.get(key)
		if !ok {
			o.del(dir.Child(key))
			continue
		}
		if err := o.encodeWebhook(dir, project, w, e, sk); err != nil {
			return err
		}
	}
	return nil
}

// encodeWebhook writes one webhook's record, its secret sealed with sk.
func (o *ops) encodeWebhook(dir Path, project string, w *model.Webhook, e entry, sk *SecretKeys) error {
	name := WebhookName(project, w.ID)
	if sk == nil {
		return fmt.Errorf("%s: %w: the store has no key to encrypt its secret with", name, ErrSecretKey)
	}
	sw := storedWebhook{Webhook: *w}
	sw.Secret = ""
	sw.SealedSecret = sk.seal(name, w.Secret)
	value, err := json.Marshal(sw)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return o.putJSON(dir.Child(w.ID), itemRecord[json.RawMessage]{Order: e.order, Meta: e.meta, Targeting: e.envs, Value: value})
}

// openWebhookSecrets gives the webhooks of a project just decoded from pr
// their secrets: it decrypts the sealed ones with sk. With reseal, it also
// returns the writes that seal anew those stored in plain text by older
// versions and those sealed with a key other than sk's first. Without sk,
// secrets stay as stored, and a sealed one is an error. Errors match
// ErrSecretKey.
func openWebhookSecrets(pr *projectRecords, ps *ProjectState, sk *SecretKeys, reseal *ops) error {
	project := ps.project.Key
	dir := projectPath(project).Child(collWebhooks)
	for _, rec := range pr.colls[collWebhooks] {
		w := ps.webhooks.items[ps.webhooks.idx[rec.Path[len(rec.Path)-1]]]
		name := WebhookName(project, w.ID)
		var r itemRecord[storedWebhook]
		if err := json.Unmarshal(rec.Value, &r); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		again := false
		switch {
		case r.Value.SealedSecret == "":
			again = sk != nil // an older database's secret, in plain text
		case sk == nil:
			return fmt.Errorf("%s: %w: its secret is encrypted, and no key was given", name, ErrSecretKey)
		default:
			secret, primary, err := sk.open(name, r.Value.SealedSecret)
			if err != nil {
				return err
			}
			w.Secret, again = secret, !primary
		}
		if again && reseal != nil {
			if err := reseal.encodeWebhook(dir, project, w, ps.webhooks.entries[ps.webhooks.idx[w.ID]], sk); err != nil {
				return err
			}
		}
	}
	return nil
}
