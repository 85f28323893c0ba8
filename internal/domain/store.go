// Package domain keeps Switchyard's projects, environments, segments, flags,
// components, API keys and audit log in one bbolt file, and serves them from
// an immutable in-memory State.
//
// Reads (Store.State) are lock-free: they load the State published by the
// last commit. Writes (Store.Update) are serialized: a function changes a
// working copy through a Tx, the store validates every touched project's
// document with model.ValidateStructure (a segment's keys are checked
// when they enter its lists, not on every write), writes the changed records, one audit event
// per operation and the new environment revisions in one bbolt transaction,
// and then publishes the new State atomically.
package domain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/switchyard/switchyard/internal/model"
)

// Errors the store returns, wrapped with the name of the resource concerned.
// Match them with errors.Is.
var (
	// ErrNotFound means the resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a resource with that name exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict means the etag given does not match the resource's
	// current etag: someone else changed it.
	ErrConflict = errors.New("etag mismatch")
	// ErrInvalid means an argument is malformed, or the change would leave
	// a project's document invalid; then the model.Validate error
	// (model.Errors) is wrapped too and reachable with errors.As.
	ErrInvalid = errors.New("invalid")
	// ErrLocked means another process holds the database file.
	ErrLocked = errors.New("database file is locked by another process")
	// ErrClosed means the store is closed, or a Tx is used after the
	// function given to Update returned.
	ErrClosed = errors.New("closed")
)

// DefaultLockTimeout is how long Open waits for another process to release
// the database file.
const DefaultLockTimeout = 2 * time.Second

// Options configures Open. The zero value is ready to use.
type Options struct {
	// LockTimeout bounds the wait for the database file's lock; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// OnCommit, if set, is called after every commit that changed something,
	// once the new State is published. It runs synchronously, in commit
	// order, while the writer lock is held: it must not call Update.
	OnCommit func(*State, *Commit)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// SecretKeys encrypt the secrets the store must recover (webhook
	// signing secrets; see ErrSecretKey). Without them, writing a webhook
	// fails, and so does opening a database with encrypted secrets.
	SecretKeys *SecretKeys
}

// Actor is who makes a change, as recorded in the audit log.
type Actor struct {
	KeyID string // the API key used, if any
	Name  string // the key's name or another description ("bootstrap")
	Role  Role
	Peer  string // the client's address
	// Principal is the person or service the key belongs to (APIKey.Principal).
	Principal string
}

// Commit reports what one Update wrote.
type Commit struct {
	// State is the State published by this commit.
	State *State
	// Revision is the revision given to every environment the commit
	// changed; 0 if it changed none.
	Revision uint64
	// Revisions maps each changed environment to its new revision.
	Revisions map[EnvRef]uint64
	// Events are the audit events appended, in order.
	Events []AuditEvent
	// Deliveries are the webhook deliveries of Events the commit queued
	// (PENDING), in order.
	Deliveries []DeliveryRef
}

// Store is the bbolt-backed store. Its methods are safe for concurrent use.
type Store struct {
	db       *bolt.DB
	opts     Options
	validate func(*model.Document) error
	state    atomic.Pointer[State]

	writer chan struct{} // a token held by the one running Update or Close
	seq    uint64        // last sequence number used; guarded by writer
	closed bool          // guarded by writer

	hooks commitHooks // called after Options.OnCommit
	// txObserver is told of each write transaction.
	txObserver atomic.Pointer[func(context.Context, time.Time, time.Duration, error)]
}

// Open opens (creating it if needed) the database at path and loads it into
// memory. If another process holds the file, Open fails after
// Options.LockTimeout with an error matching ErrLocked.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        timeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %q: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	s := &Store{db: db, opts: opts, validate: model.ValidateStructure, writer: make(chan struct{}, 1)}
	var st *State
	err = db.Update(func(tx *bolt.Tx) error {
		if err := unsafeInit(tx); err != nil {
			return err
		}
		if st, s.seq, err = unsafeLoad(tx); err != nil {
			return err
		}
		return unsafeOpenWebhookSecrets(tx, st, opts.SecretKeys)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %q: %w", path, err)
	}
	s.state.Store(st)
	return s, nil
}

// Close closes the database. It waits for a running Update; later Updates
// fail with ErrClosed. State keeps returning the last published State.
// Closing twice is not an error.
func (s *Store) Close() error {
	s.writer <- struct{}{}
	defer func() { <-s.writer }()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// State returns the State published by the last commit. It does not block.
func (s *Store) State() *State { return s.state.Load() }

// Update runs fn on a Tx over the current State and commits what it did.
//
// Writers are serialized. If fn returns an error, Update returns it and
// nothing is written. Otherwise every project fn changed must still pass
// model.Validate: if one does not, Update returns an error matching
// ErrInvalid (the model.Validate error reachable with errors.As) and nothing
// is written. Then the changed records, one audit event per operation and
// the new revisions of the affected environments are written in one bbolt
// transaction, the new State is published, Options.OnCommit is called, and
// the Commit is returned. If fn changed nothing, nothing is written and the
// Commit carries the current State only. A change to an item an active
// release holds is refused (HeldError) unless fn overrides the release
// (Tx.OverrideRelease; see held.go).
func (s *Store) Update(ctx context.Context, actor Actor, fn func(tx *Tx) error) (*Commit, error) {
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("update: %w", ctx.Err())
	}
	defer func() { <-s.writer }()
	if s.closed {
		return nil, fmt.Errorf("update: store %w", ErrClosed)
	}

	base := s.state.Load()
	tx := newTx(base, actor, s.opts.Now().UTC().Round(0), s.seq, s.validate)
	err := fn(tx)
	if err == nil && tx.err == nil {
		err = tx.checkHeld()
	}
	tx.done = true
	if err != nil {
		return nil, err
	}
	if tx.err != nil {
		return nil, tx.err
	}
	plan, err := tx.finish()
	if err != nil {
		return nil, err
	}
	if plan == nil {
		return &Commit{State: base}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	plan.secrets = s.opts.SecretKeys
	start := time.Now()
	err = s.db.Update(func(btx *bolt.Tx) error { return unsafeWrite(btx, plan) })
	if observe := s.txObserver.Load(); observe != nil {
		(*observe)(ctx, start, time.Since(start), err)
	}
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	s.seq = plan.seq
	s.state.Store(plan.state)
	c := &Commit{State: plan.state, Revision: plan.revision, Revisions: plan.revisions, Events: plan.events, Deliveries: plan.deliveries}
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(plan.state, c)
	}
	s.hooks.call(plan.state, c)
	return c, nil
}

// plan is what a Tx decided to write: produced by Tx.finish, written by
// unsafeWrite, published by Update.
type plan struct {
	state     *State
	seq       uint64
	revision  uint64
	revisions map[EnvRef]uint64
	drafts    []*draft
	keys      []keyChange
	events    []AuditEvent
	raw       map[any][]byte // encoded values by pointer, from the Tx
	// deliveries are the webhook deliveries unsafeWrite queued.
	deliveries []DeliveryRef
	// secrets seal the webhooks' secrets.
	secrets *SecretKeys
	// diffs summarize, in the audit log, the events whose before or after
	// is too large to keep whole (AuditValueLimit); nil for the others.
	diffs []*AuditDiff
}

// keyChange is one API key written (now != nil) or deleted (old != nil,
// now == nil).
type keyChange struct {
	old, now *APIKey
}

// finish freezes the changed projects, bumps revisions, validates and
// builds the next State. It returns a nil plan when nothing changed.
func (tx *Tx) finish() (*plan, error) {
	var changed []*draft
	for _, key := range slices.Sorted(maps.Keys(tx.drafts)) {
		if d := tx.drafts[key]; d.changed() {
			changed = append(changed, d)
		}
	}
	if len(changed) == 0 && len(tx.keyChanges) == 0 && len(tx.events) == 0 {
		return nil, nil
	}

	// One revision for the whole commit, shared by every environment it
	// changes: environments' revisions grow strictly and are never reused,
	// not even by a deleted and recreated environment.
	var revision uint64
	revisions := map[EnvRef]uint64{}
	for _, d := range changed {
		if d.ps == nil {
			continue
		}
		for _, env := range d.bumped() {
			if revision == 0 {
				revision = tx.next()
			}
			d.writable()
			i := d.ps.envs.idx[env]
			e := d.ps.envs.items[i]
			e.Revision = revision
			d.ps.envs.set(i, e, d.ps.envs.entries[i])
			d.markDirty(kindEnvironment, env)
			revisions[EnvRef{d.key, env}] = revision
		}
	}

	next := &State{projects: maps.Clone(tx.base.projects), keys: tx.base.keys, byHash: tx.base.byHash, keyList: tx.base.keyList}
	tx.stampReleases()
	for _, d := range changed {
		if d.ps == nil {
			delete(next.projects, d.key)
			continue
		}
		if !d.frozen {
			d.ps.freeze()
			d.frozen = true
		}
		if err := tx.validate(d.ps.doc); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", ProjectName(d.key), ErrInvalid, err)
		}
		if err := checkReleases(d.ps); err != nil {
			return nil, err
		}
		if err := checkExperiments(d.ps); err != nil {
			return nil, err
		}
		next.projects[d.key] = d.ps
	}
	next.list = make([]*ProjectState, 0, len(next.projects))
	for _, ps := range next.projects {
		next.list = append(next.list, ps)
	}
	sort.Slice(next.list, func(i, j int) bool { return next.list[i].project.Key < next.list[j].project.Key })

	var keys []keyChange
	if len(tx.keyChanges) > 0 {
		next.keys, next.byHash = tx.keys, tx.byHash
		next.keyList = slices.SortedFunc(maps.Values(tx.keys), func(a, b *APIKey) int { return cmp.Compare(a.ID, b.ID) })
		for _, id := range slices.Sorted(maps.Keys(tx.keyChanges)) {
			old, now := tx.base.keys[id], tx.keys[id]
			if old != now {
				keys = append(keys, keyChange{old: old, now: now})
			}
		}
	}

	events := make([]AuditEvent, len(tx.events))
	for i, pe := range tx.events {
		ev := pe.event
		ev.Time = tx.now
		ev.Actor = tx.actor.KeyID
		ev.ActorName = tx.actor.Name
		ev.Principal = tx.actor.Principal
		ev.Role = tx.actor.Role
		ev.Peer = tx.actor.Peer
		if pe.bumps {
			ev.Revision = revision
		}
		events[i] = ev
	}
	// Summarized here, before the bbolt transaction: a large diff takes
	// time that other writers must not wait for.
	diffs := make([]*AuditDiff, len(events))
	for i, ev := range events {
		diffs[i] = summarized(ev).Diff
	}
	if len(revisions) == 0 {
		revisions = nil
	}
	return &plan{
		state:     next,
		seq:       tx.seq,
		revision:  revision,
		revisions: revisions,
		drafts:    changed,
		keys:      keys,
		events:    events,
		diffs:     diffs,
		raw:       tx.raw,
	}, nil
}
