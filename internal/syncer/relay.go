package syncer

import (
	"cmp"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// A relay serves the sync protocol from what it receives upstream instead
// of a store: its hub is made with a nil Source, and the relay hands it
// each revision (Publish), each key set (PublishKeys) and the keys still
// valid (Revoke). A store-backed hub computes the key sets itself.

// NewRevision builds a revision from its sections in manifest order, each
// with its payload. The sections are shared by every stream and must not
// be modified.
func NewRevision(project, env string, number uint64, sections []*sdkpb.Section) *Revision {
	return newRevision(project, env, number, sections)
}

// Publish makes rev its environment's current revision, unless that has a
// newer one, and wakes the environment's streams.
func (h *Hub) Publish(rev *Revision) {
	e := h.publishedEnv(envKey{rev.Project, rev.Environment})
	if e == nil {
		return
	}
	for {
		cur := e.current.Load()
		if cur != nil && cur.Number >= rev.Number {
			return
		}
		if e.current.CompareAndSwap(cur, rev) {
			if cur == nil {
				e.roster.Notify() // Report has something to say now
			}
			break
		}
	}
	h.wakeAll(e)
}

// PublishKeys makes ks the key set relay streams of its environment are
// sent, and wakes them when it differs from the current one.
func (h *Hub) PublishKeys(ks *sdkpb.KeySet) {
	e := h.publishedEnv(envKey{ks.GetProject(), ks.GetEnvironment()})
	if e == nil {
		return
	}
	if h.setKeys(e, ks) {
		h.wakeAll(e)
	}
}

// Revoke ends the streams whose key valid does not accept, with an error
// matching auth.ErrUnauthenticated.
func (h *Hub) Revoke(valid func(keyID string) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.envs {
		for s := range e.streams {
			if !valid(s.Info.KeyID) {
				s.end(fmt.Errorf("%w: the API key was revoked", auth.ErrUnauthenticated))
			}
		}
	}
}

// Revision returns the environment's current revision, or nil when the
// hub has none.
func (h *Hub) Revision(project, env string) *Revision {
	h.mu.Lock()
	e := h.envs[envKey{project, env}]
	h.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.current.Load()
}

// Keys returns the KeySet message of the stream's environment, or nil when
// there is none yet. The message is shared and must not be modified.
func (s *Stream) Keys() *sdkpb.SyncResponse { return s.env.keys.Load() }

// publishedEnv returns the environment's hub, making it when there is
// none; nil once the hub is closed.
func (h *Hub) publishedEnv(key envKey) *envHub {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	e := h.envs[key]
	if e == nil {
		e = &envHub{key: key, streams: map[*Stream]struct{}{}}
		h.envs[key] = e
	}
	return e
}

// wakeAll marks the mailbox of every stream of e.
func (h *Hub) wakeAll(e *envHub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range e.streams {
		st.notify()
	}
}

// setKeys stores ks as e's key set and reports whether it changed.
func (h *Hub) setKeys(e *envHub, ks *sdkpb.KeySet) bool {
	if cur := e.keys.Load(); cur != nil && proto.Equal(cur.GetKeys(), ks) {
		return false
	}
	e.keys.Store(&sdkpb.SyncResponse{Message: &sdkpb.SyncResponse_Keys{Keys: ks}})
	return true
}

// refreshKeys brings e's key set up to the source's current state, waking
// its streams when it changed. Refreshes are serialized and each reads the
// state under the lock, so a refresh never replaces a key set with an
// older one; the set is rebuilt only when the state's key list is not the
// one it was built from (a State and its key list are immutable, and a
// commit that changes no key shares the list).
func (h *Hub) refreshKeys(e *envHub) {
	h.keysMu.Lock()
	keys := h.src.State().APIKeys()
	if e.keysOf != nil && sameList(e.keysOf, keys) {
		h.keysMu.Unlock()
		return
	}
	e.keysOf = keys
	changed := h.setKeys(e, keySetOf(keys, e.key.project, e.key.env))
	h.keysMu.Unlock()
	if changed {
		h.wakeAll(e)
	}
}

// sameList reports whether a and b are the same slice: the same length
// over the same array.
func sameList(a, b []*domain.APIKey) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// revision returns the environment's current revision number: from the
// state, or on a relay's hub the last one published. It fails with an
// error matching domain.ErrNotFound when there is none.
func (h *Hub) revision(key envKey) (uint64, error) {
	if h.src != nil {
		return envRevision(h.src.State(), key)
	}
	if rev := h.Revision(key.project, key.env); rev != nil {
		return rev.Number, nil
	}
	return 0, notFound(key.project, key.env)
}

// keySetOf returns the keys of a state's key list that may use
// environment env of project at a relay — its sdk and client keys and the
// relay keys covering it — sorted by id, hashes only.
func keySetOf(keys []*domain.APIKey, project, env string) *sdkpb.KeySet {
	ks := &sdkpb.KeySet{Project: project, Environment: env}
	for _, k := range keys {
		if k.Kind == domain.KindAdmin || !k.Covers(project, env) {
			continue
		}
		envs := k.Environments
		if k.Kind != domain.KindRelay {
			envs = []string{k.Environment}
		}
		ks.Keys = append(ks.Keys, &sdkpb.KeyHash{
			Id: k.ID, Name: k.Name, Kind: string(k.Kind), Hash: k.Hash,
			Project: k.Project, Environments: envs, Principal: k.Principal,
		})
	}
	slices.SortFunc(ks.Keys, func(a, b *sdkpb.KeyHash) int { return cmp.Compare(a.GetId(), b.GetId()) })
	return ks
}

// Announce queues a release notice on the streams of its environment; it
// goes out after the ruleset of its revision.
func (h *Hub) Announce(project, env string, n *sdkpb.ReleaseNotice) {
	msg := &sdkpb.SyncResponse{Message: &sdkpb.SyncResponse_Release{Release: n}}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.envs[envKey{project, env}]; e != nil {
		for st := range e.streams {
			st.addNotice(msg)
		}
	}
}
