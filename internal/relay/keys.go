package relay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// keyring is the keys a relay accepts: every key of every key set its
// upstream sent. It is immutable; a new key set makes a new one.
type keyring struct {
	byHash map[string]*domain.APIKey
	byID   map[string]*domain.APIKey
}

// newKeyring builds the keyring of the key sets.
func newKeyring(sets []*sdkpb.KeySet) *keyring {
	k := &keyring{byHash: map[string]*domain.APIKey{}, byID: map[string]*domain.APIKey{}}
	for _, ks := range sets {
		for _, h := range ks.GetKeys() {
			if k.byID[h.GetId()] != nil {
				continue // a relay key, in the set of each of its environments
			}
			key := &domain.APIKey{
				ID: h.GetId(), Name: h.GetName(), Kind: domain.KeyKind(h.GetKind()), Hash: h.GetHash(),
				Project: h.GetProject(), Principal: h.GetPrincipal(),
			}
			switch key.Kind {
			case domain.KindSDK, domain.KindClient:
				if len(h.GetEnvironments()) != 1 {
					continue
				}
				key.Environment = h.GetEnvironments()[0]
			case domain.KindRelay:
				key.Environments = slices.Clone(h.GetEnvironments())
			default:
				continue // a relay never admits admin tokens
			}
			k.byHash[key.Hash] = key
			k.byID[key.ID] = key
		}
	}
	return k
}

// KeyByHash returns the key whose secret hashes to hash.
func (k *keyring) KeyByHash(hash string) (*domain.APIKey, bool) {
	key, ok := k.byHash[hash]
	return key, ok
}

// APIKey returns the key with the id.
func (k *keyring) APIKey(id string) (*domain.APIKey, bool) {
	key, ok := k.byID[id]
	return key, ok
}

// setKeys takes in a key set: the keyring, the persisted state and the
// downstream relay streams get it, streams of keys no longer in the
// current keyring end, and environments the relay key gained are
// followed. The followers of several environments call it concurrently.
func (r *Relay) setKeys(ks *sdkpb.KeySet) {
	r.mu.Lock()
	i := slices.IndexFunc(r.state.KeySets, func(s *sdkpb.KeySet) bool {
		return s.GetProject() == ks.GetProject() && s.GetEnvironment() == ks.GetEnvironment()
	})
	if i >= 0 {
		r.state.KeySets[i] = ks
	} else {
		r.state.KeySets = append(r.state.KeySets, ks)
	}
	kr := newKeyring(r.state.KeySets)
	r.keys.Store(kr)
	var gained []string
	if own, ok := kr.KeyByHash(r.keyHash()); ok && own.Project == r.state.Project {
		for _, env := range own.Environments {
			if !slices.Contains(r.state.Environments, env) {
				r.state.Environments = append(r.state.Environments, env)
				gained = append(gained, env)
			}
		}
	}
	r.saveLocked()
	r.checkReadyLocked()
	ctx, conn := r.runCtx, r.conn
	r.mu.Unlock()

	r.hub.PublishKeys(ks)
	// The current keyring, not kr: another environment's key set may have
	// replaced kr since the lock was released, and kr, older, would end
	// the streams of keys only that set has.
	cur := r.keys.Load()
	r.hub.Revoke(func(id string) bool {
		_, ok := cur.APIKey(id)
		return ok
	})
	for _, env := range gained {
		if ctx != nil {
			r.startFollower(ctx, conn, env)
		}
	}
}

// state is what a relay keeps in its data directory besides the rulesets:
// its environments and their key sets.
type state struct {
	Project      string
	Environments []string
	KeySets      []*sdkpb.KeySet
}

// stateFile is the JSON of the state file. Key is a fingerprint of the
// relay key: a file written with another key is not used.
type stateFile struct {
	Key          string            `json:"key"`
	Project      string            `json:"project"`
	Environments []string          `json:"environments"`
	KeySets      []json.RawMessage `json:"key_sets"`
}

// keyFingerprint identifies the relay key without revealing it.
func keyFingerprint(key string) string {
	sum := sha256.Sum256([]byte("switchyard relay state\x00" + key))
	return hex.EncodeToString(sum[:])
}

// statePath is the state file.
func (r *Relay) statePath() string { return filepath.Join(r.cfg.DataDir, "relay.json") }

// loadState reads the state file; a missing file is an empty state.
func loadState(path, key string) (state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, err
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return state{}, fmt.Errorf("read %s: %w", path, err)
	}
	if f.Key != keyFingerprint(key) {
		return state{}, fmt.Errorf("read %s: written with another relay key", path)
	}
	st := state{Project: f.Project, Environments: f.Environments}
	for _, raw := range f.KeySets {
		ks := &sdkpb.KeySet{}
		if err := protojson.Unmarshal(raw, ks); err != nil {
			return state{}, fmt.Errorf("read %s: %w", path, err)
		}
		st.KeySets = append(st.KeySets, ks)
	}
	return st, nil
}

// saveLocked writes the state file atomically; the caller holds r.mu. A
// failure is logged: the relay serves on, and writes again at the next
// change.
func (r *Relay) saveLocked() {
	f := stateFile{Key: keyFingerprint(r.cfg.RelayKey), Project: r.state.Project, Environments: r.state.Environments}
	for _, ks := range r.state.KeySets {
		raw, err := protojson.Marshal(ks)
		if err != nil {
			r.log.Error("relay state not written", "err", err)
			return
		}
		f.KeySets = append(f.KeySets, raw)
	}
	data, err := json.Marshal(f)
	if err == nil {
		err = writeFileAtomic(r.statePath(), data)
	}
	if err != nil {
		r.log.Error("relay state not written", "file", r.statePath(), "err", err)
	}
}

// writeFileAtomic writes data to path so that a reader (or a restart after
// a crash) sees the old file or the new one, never a part: a temporary
// file in the same directory, synced, renamed over path, and the directory
// synced. The file is 0600.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
