// Package domain keeps Switchyard's projects, environments, segments, flags,
// components, API keys and audit log in a storage engine (a Backend:
// persist.go), and serves them from an immutable in-memory State.
//
// Reads (Store.State) are lock-free: they load the State published by the
// last commit. Writes (Store.Update) are serialized: a function changes a
// working copy through a Tx, the store validates every touched project's
// document with model.ValidateStructure (a segment's keys are checked
// when they enter its lists, not on every write), turns the changed records, one audit event
// per operation and the new environment revisions into one Change applied
// atomically, on the condition that nobody else committed since, and then
// publishes the new State atomically. Several processes may share one
// engine: each follows the others' Changes (Backend.Watch) into its State.
package domain

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

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
	// ErrLocked means another process holds the database file (bbolt).
	ErrLocked = errors.New("database file is locked by another process")
	// ErrClosed means the store is closed, or a Tx is used after the
	// function given to Update returned.
	ErrClosed = errors.New("closed")
)

// Options configures Open. The zero value is ready to use.
type Options struct {
	// OnCommit, if set, is called after every commit that changed
	// something, this process's and those another process wrote to the
	// shared engine, once the new State is published. It runs
	// synchronously, in commit order, while the writer lock is held: it
	// must not call Update.
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

// Store is the domain over a Backend. Its methods are safe for concurrent
// use.
type Store struct {
	backend  Backend
	opts     Options
	validate func(*model.Document) error
	state    atomic.Pointer[State]

	writer chan struct{} // a token held by the one running Update, the follower or Close
	head   head          // the sequence numbers of state; guarded by writer
	// fresh is, by project ("" for the API keys), the engine revision a
	// refresh read it at, when that is beyond the Change the follower
	// applied: Changes up to it are in the state already. Guarded by
	// writer.
	fresh  map[string]uint64
	closed bool // guarded by writer

	applied  atomic.Uint64 // the engine revision state reflects
	advMu    sync.Mutex
	advanced chan struct{} // closed when applied grows; guarded by advMu
	stop     context.CancelFunc
	followed chan struct{} // closed when the follower returned

	hooks commitHooks // called after Options.OnCommit
	// txObserver is told of each Change Update applies.
	txObserver atomic.Pointer[func(context.Context, time.Time, time.Duration, error)]
}

// maxUpdateTries bounds the runs of an Update function that other
// processes keep overtaking (ErrCondition).
const maxUpdateTries = 8

// Open loads the domain from backend (Backend.Load) and follows the
// Changes other processes apply to it (Backend.Watch) until Close. On an
// empty backend it writes the schema record (if another process opening it
// at the same time wrote it first, Open loads again). The Store owns backend: Close
// closes it. ctx bounds the loading only.
func Open(ctx context.Context, backend Backend, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{
		backend:  backend,
		opts:     opts,
		validate: model.ValidateStructure,
		writer:   make(chan struct{}, 1),
		advanced: make(chan struct{}),
		followed: make(chan struct{}),
	}
	var (
		l   *loader
		st  *State
		rev uint64
		err error
	)
	for try := 1; ; try++ {
		l, st, rev, err = s.open(ctx)
		if !errors.Is(err, ErrCondition) || try == maxUpdateTries {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.state.Store(st)
	s.head = l.head
	s.applied.Store(rev)
	fctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.follow(fctx, rev)
	return s, nil
}

// open loads the State and writes what the records lack (the schema
// record of an empty engine, webhook secrets to seal again). It fails with
// ErrCondition when another process wrote in between (replicas started
// together on an empty engine): then the caller opens again.
func (s *Store) open(ctx context.Context) (*loader, *State, uint64, error) {
	l, rev, err := s.load(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	st, err := s.decode(l, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	var fix ops
	for _, ps := range st.list {
		if err := openWebhookSecrets(l.projects[ps.project.Key], ps, s.opts.SecretKeys, &fix); err != nil {
			return nil, nil, 0, err
		}
	}
	switch {
	case l.schema == nil:
		fix.put(pathSchema, []byte(schemaVersion))
	case string(l.schema) != schemaVersion:
		return nil, nil, 0, fmt.Errorf("schema version %q, this build reads %q", l.schema, schemaVersion)
	}
	if len(fix) > 0 {
		c := Change{Conds: append(l.head.conds(), Cond{Path: pathSchema, Value: l.schema}), Ops: fix}
		if rev, err = s.backend.Apply(ctx, c); err != nil {
			return nil, nil, 0, err
		}
	}
	return l, st, rev, nil
}

// load reads the domain's records, and returns them with the revision to
// follow from: meta first, then projects and keys, then meta again, until
// no commit came in between.
func (s *Store) load(ctx context.Context) (*loader, uint64, error) {
	for try := 1; ; try++ {
		l := newLoader()
		rev, err := s.backend.Load(ctx, Path{prefixMeta}, l.add)
		if err != nil {
			return nil, 0, err
		}
		for _, prefix := range []Path{{prefixProjects}, {prefixKeys}} {
			if _, err := s.backend.Load(ctx, prefix, l.add); err != nil {
				return nil, 0, err
			}
		}
		again := newLoader()
		if _, err := s.backend.Load(ctx, Path{prefixMeta}, again.add); err != nil {
			return nil, 0, err
		}
		if again.head == l.head {
			return l, rev, nil
		}
		if try == maxUpdateTries {
			return nil, 0, fmt.Errorf("load: other processes kept committing: %w", ErrCondition)
		}
	}
}

// decode builds a State from l: every project of l, and those of base l
// does not name (nil base: none). The API keys are l's when it has read
// them (keys), else base's.
func (s *Store) decode(l *loader, base *State) (*State, error) {
	projects, err := l.decodeProjects()
	if err != nil {
		return nil, err
	}
	st := emptyState()
	if base != nil {
		st.projects = maps.Clone(base.projects)
		st.keys, st.byHash, st.keyList = base.keys, base.byHash, base.keyList
		for key := range l.projects {
			delete(st.projects, key)
		}
	}
	maps.Copy(st.projects, projects)
	st.list = slices.SortedFunc(maps.Values(st.projects), func(a, b *ProjectState) int { return cmp.Compare(a.project.Key, b.project.Key) })
	if base == nil || l.keys != nil {
		if err := l.decodeKeys(st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Close stops following, waits for a running Update, and closes the
// backend; later Updates fail with ErrClosed. State keeps returning the
// last published State. Closing twice is not an error.
func (s *Store) Close() error {
	s.writer <- struct{}{}
	if s.closed {
		<-s.writer
		return nil
	}
	s.closed = true
	s.stop()
	<-s.writer
	<-s.followed
	if err := s.backend.Close(); err != nil {
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
// is written. Then the changed records, one audit event per operation, the
// webhook deliveries they queue and the new sequence numbers are applied
// as one Change, on the condition that the sequence records still hold
// what this State was loaded with (and those of WithConds); the new State
// is published, Options.OnCommit is called, and the Commit is returned. If
// another process committed first, Update catches up with it and runs fn
// again on the new State (a few times at most; fn must not keep anything
// from a run that did not commit). If fn changed nothing, nothing is
// written and the Commit carries the current State only. A change to an
// item an active release holds is refused (HeldError) unless fn overrides
// the release (Tx.OverrideRelease; see held.go).
func (s *Store) Update(ctx context.Context, actor Actor, fn func(tx *Tx) error) (*Commit, error) {
	// kept is what a try staged and did not switch to (overtaken): the
	// next try switches to it if it stages the same.
	var kept *staging
	defer func() {
		if kept != nil {
			s.unstage(ctx, kept)
		}
	}()
	for try := 1; ; try++ {
		c, err := s.update(ctx, actor, fn, &kept)
		if !errors.Is(err, ErrCondition) || try == maxUpdateTries {
			return c, err
		}
		if err := s.CatchUp(ctx); err != nil {
			return nil, fmt.Errorf("update: %w", err)
		}
	}
}

func (s *Store) update(ctx context.Context, actor Actor, fn func(tx *Tx) error, kept **staging) (*Commit, error) {
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
	tx := newTx(base, actor, s.opts.Now().UTC().Round(0), s.head.seq, s.validate)
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
	change, next, err := s.change(ctx, plan, nil)
	var rev uint64
	if err == nil {
		rev, err = s.apply(ctx, change)
		if errors.Is(err, ErrTooLarge) {
			rev, next, err = s.applyStaged(ctx, plan, err, kept)
		}
	}
	if observe := s.txObserver.Load(); observe != nil {
		(*observe)(ctx, start, time.Since(start), err)
	}
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	s.head = next
	s.state.Store(plan.state)
	s.setApplied(rev)
	c := &Commit{State: plan.state, Revision: plan.revision, Revisions: plan.revisions, Events: plan.events, Deliveries: plan.deliveries}
	s.publish(plan.state, c)
	return c, nil
}

// change encodes a plan as one Change and returns it with the sequence
// numbers it writes. With a staging, the chunks of the long lists the plan
// writes go to st instead, in fresh generations (see bucketSegmentKeys).
func (s *Store) change(ctx context.Context, p *plan, st *staging) (Change, head, error) {
	p.deliveries = nil
	next := head{seq: p.seq, audit: s.head.audit + uint64(len(p.events))}
	if next == s.head {
		// Nothing numbered (only API keys changed): the sequence moves
		// anyway, so that the Change conflicts with any other.
		next.seq++
	}
	c := Change{Conds: s.head.conds()}
	o := (*ops)(&c.Ops)
	if err := o.encodeProjects(p, st); err != nil {
		return Change{}, head{}, err
	}
	if err := o.encodeKeys(p.keys); err != nil {
		return Change{}, head{}, err
	}
	if err := o.encodeAudit(p, s.head); err != nil {
		return Change{}, head{}, err
	}
	if err := s.encodeDeliveries(ctx, &c, p); err != nil {
		return Change{}, head{}, err
	}
	o = (*ops)(&c.Ops)
	o.put(pathSeq, hexValue(next.seq))
	if next.audit != s.head.audit {
		o.put(pathAuditSeq, hexValue(next.audit))
	}
	return c, next, nil
}

// apply applies c with the conditions ctx carries (WithConds).
func (s *Store) apply(ctx context.Context, c Change) (uint64, error) {
	if conds, ok := ctx.Value(condsKey{}).([]Cond); ok {
		c.Conds = append(slices.Clip(c.Conds), conds...)
	}
	return s.backend.Apply(ctx, c)
}

type condsKey struct{}

// WithConds returns a ctx whose writes (Update, and every other write of
// the Store given that ctx) carry conds as further preconditions: a write
// whose conditions do not all hold writes nothing and fails with an error
// matching ErrCondition. A leader fences its writes with its leader key
// this way.
func WithConds(ctx context.Context, conds ...Cond) context.Context {
	prev, _ := ctx.Value(condsKey{}).([]Cond)
	return context.WithValue(ctx, condsKey{}, append(slices.Clip(prev), conds...))
}

// publish calls the commit functions; the writer lock is held.
func (s *Store) publish(st *State, c *Commit) {
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(st, c)
	}
	s.hooks.call(st, c)
}

// setApplied records that state reflects the engine at rev.
func (s *Store) setApplied(rev uint64) {
	s.advMu.Lock()
	defer s.advMu.Unlock()
	if rev <= s.applied.Load() {
		return
	}
	s.applied.Store(rev)
	close(s.advanced)
	s.advanced = make(chan struct{})
}

// CatchUp waits until the State reflects every Change the engine held
// when it was called, those other processes applied included (read what
// another replica acknowledged).
func (s *Store) CatchUp(ctx context.Context) error {
	rev, err := s.backend.Apply(ctx, Change{})
	if err != nil {
		return err
	}
	for {
		s.advMu.Lock()
		ch := s.advanced
		s.advMu.Unlock()
		if s.applied.Load() >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.followed:
			return fmt.Errorf("store %w", ErrClosed)
		}
	}
}

// follow applies, until ctx ends, the Changes of the engine after rev that
// this process did not write itself.
func (s *Store) follow(ctx context.Context, rev uint64) {
	defer close(s.followed)
	for {
		err := s.backend.Watch(ctx, rev, func(a Applied) error { return s.applyForeign(ctx, a) })
		switch {
		case ctx.Err() != nil, errors.Is(err, ErrClosed):
			return
		case errors.Is(err, ErrCompacted):
			err = s.resync(ctx)
		}
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		rev = s.applied.Load()
	}
}

// lock takes the writer lock unless ctx ends first.
func (s *Store) lock(ctx context.Context) bool {
	select {
	case s.writer <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// applyForeign brings the State up to a: it patches the projects and keys
// a wrote (follow.go), publishes the State and calls the commit functions. A Change of
// this process (already applied) and one writing no domain record only
// advance the revision.
func (s *Store) applyForeign(ctx context.Context, a Applied) error {
	if a.Revision <= s.applied.Load() {
		return nil
	}
	if !s.lock(ctx) {
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	if a.Revision <= s.applied.Load() {
		return nil
	}
	projects := map[string]bool{}
	keys := false
	h := s.head
	var events []AuditEvent
	for _, op := range a.Ops {
		p := op.Path
		switch {
		case len(p) >= 3 && p[0] == prefixProjects && (p[2] == bucketSegmentKeys || p[2] == bucketSegmentChunks):
			// Chunks alone change nothing a reader sees: the segment's
			// record, written in the same Change, names them.
		case len(p) >= 2 && p[0] == prefixProjects:
			projects[p[1]] = true
		case len(p) >= 1 && p[0] == prefixKeys:
			keys = true
		case len(p) == 2 && p[0] == prefixMeta && p[1] == recSeq:
			h.seq, _ = decodeSeq(op.Value)
		case len(p) == 2 && p[0] == prefixMeta && p[1] == recAudit:
			h.audit, _ = decodeSeq(op.Value)
		case len(p) == 2 && p[0] == prefixAudit && op.Value != nil:
			var ev AuditEvent
			if json.Unmarshal(op.Value, &ev) == nil {
				events = append(events, ev)
			}
		}
	}
	touched := len(projects) > 0 || keys
	ops := a.Ops
	if len(s.fresh) > 0 {
		ops, keys = s.notFresh(a.Revision, ops, projects, keys)
	}
	if touched {
		if err := s.patch(ctx, ops, projects, keys, events); err != nil {
			return err
		}
	}
	s.head = h
	s.setApplied(a.Revision)
	return nil
}

// resync reloads everything, after the engine could not replay the
// Changes since the State's revision.
func (s *Store) resync(ctx context.Context) error {
	if !s.lock(ctx) {
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	l, rev, err := s.load(ctx)
	if err != nil {
		return err
	}
	projects := map[string]bool{}
	for key := range l.projects {
		projects[key] = true
	}
	for _, ps := range s.state.Load().list {
		projects[ps.project.Key] = true
	}
	if err := s.refresh(ctx, projects, true, nil); err != nil {
		return err
	}
	s.head = l.head
	s.setApplied(rev)
	return nil
}

// refresh reloads the named projects (and the API keys), publishes the
// State and calls the commit functions with a Commit of what changed:
// the environments whose revision moved, and events. The writer lock is
// held.
func (s *Store) refresh(ctx context.Context, projects map[string]bool, keys bool, events []AuditEvent) error {
	l := newLoader()
	read := map[string]uint64{} // the revision each was read at
	for key := range projects {
		rev, err := s.backend.Load(ctx, projectPath(key), l.add)
		if err != nil {
			return err
		}
		read[key] = rev
		if l.projects[key] == nil {
			l.projects[key] = &projectRecords{key: key} // deleted
		}
	}
	if keys {
		l.keys = []Record{}
		rev, err := s.backend.Load(ctx, Path{prefixKeys}, l.add)
		if err != nil {
			return err
		}
		read[""] = rev
	}
	base := s.state.Load()
	st, err := s.decode(l, base)
	if err != nil {
		return err
	}
	for key := range projects {
		if ps, ok := st.projects[key]; ok {
			if err := openWebhookSecrets(l.projects[key], ps, s.opts.SecretKeys, nil); err != nil {
				return err
			}
		}
	}
	c := commitOf(base, st, projects, events)
	s.state.Store(st)
	s.publish(st, c)
	// The follower replays the Changes between the one it applies and
	// those read: they must not take what was read back to older values.
	if s.fresh == nil {
		s.fresh = map[string]uint64{}
	}
	maps.Copy(s.fresh, read)
	return nil
}

// notFresh returns the ops of a Change at revision rev without those of
// the projects (and API keys) a refresh read at rev or later, which it
// also drops from projects; what is fresh up to a revision before rev is
// forgotten. The writer lock is held.
func (s *Store) notFresh(rev uint64, ops []Op, projects map[string]bool, keys bool) ([]Op, bool) {
	skip := map[string]bool{}
	for key, at := range s.fresh {
		if at < rev {
			delete(s.fresh, key)
		} else {
			skip[key] = true
		}
	}
	if len(skip) == 0 {
		return ops, keys
	}
	for key := range skip {
		delete(projects, key)
	}
	keys = keys && !skip[""]
	return slices.DeleteFunc(slices.Clone(ops), func(op Op) bool {
		p := op.Path
		switch {
		case len(p) >= 2 && p[0] == prefixProjects:
			return skip[p[1]]
		case len(p) >= 1 && p[0] == prefixKeys:
			return skip[""]
		}
		return false
	}), keys
}

// plan is what a Tx decided to write: produced by Tx.finish, encoded by
// Store.change, published by Update.
type plan struct {
	state     *State
	seq       uint64
	revision  uint64
	revisions map[EnvRef]uint64
	drafts    []*draft
	keys      []keyChange
	events    []AuditEvent
	raw       map[any][]byte // encoded values by pointer, from the Tx
	// deliveries are the webhook deliveries Store.change queued.
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
	// Summarized here, before the Change is applied: a large diff takes
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
