// Package snapshot publishes compiled rulesets. After every committed
// write the store hands it the new state; it compiles the environments the
// commit changed, once, and swaps them in atomically, so evaluations read
// an immutable ruleset without locks and never wait for writers.
package snapshot

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eval"
)

// Env names one environment of one project.
type Env struct {
	Project     string
	Environment string
}

// Set holds the current compiled ruleset of every environment.
type Set struct {
	log      *slog.Logger
	mu       sync.Mutex // serializes Apply; readers never take it
	rulesets atomic.Pointer[map[Env]*eval.Ruleset]
	ready    atomic.Bool
	// changed is closed and replaced whenever a ruleset is swapped in.
	changed atomic.Pointer[chan struct{}]
	// observe is told of every compile; guarded by mu.
	observe func(env Env, start time.Time, d time.Duration, err error)
}

// ObserveCompiles makes Apply call fn after compiling each environment,
// with the start, the duration and the error; nil stops it. fn runs while
// Apply holds its lock and must return quickly.
func (s *Set) ObserveCompiles(fn func(env Env, start time.Time, d time.Duration, err error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observe = fn
}

// NewSet returns an empty set.
func NewSet(log *slog.Logger) *Set {
	s := &Set{log: log}
	empty := map[Env]*eval.Ruleset{}
	s.rulesets.Store(&empty)
	ch := make(chan struct{})
	s.changed.Store(&ch)
	return s
}

// Get returns the environment's current ruleset, or nil when there is no
// such environment. It takes no lock.
func (s *Set) Get(project, environment string) *eval.Ruleset {
	return (*s.rulesets.Load())[Env{project, environment}]
}

// Ready reports whether the set has been loaded from the store.
func (s *Set) Ready() bool { return s.ready.Load() }

// Changed returns a channel that is closed at the next swap.
func (s *Set) Changed() <-chan struct{} { return *s.changed.Load() }

// Apply compiles what commit changed in state (everything when commit is
// nil) and publishes it. It is the store's OnCommit hook.
func (s *Set) Apply(state *domain.State, commit *domain.Commit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.rulesets.Load()
	next := make(map[Env]*eval.Ruleset, len(old))
	for _, p := range state.Projects() {
		// The environments compiled so far share their compiled segments
		// with the next ones: a million-key list is compiled once per
		// project, not once per environment.
		var siblings []*eval.Ruleset
		for _, env := range p.Environments() {
			key := Env{p.Key(), env.Key}
			prev := old[key]
			if prev != nil && commit != nil && !changed(commit, key) {
				next[key] = prev
				siblings = append(siblings, prev) // its unchanged segments are shared too
				continue
			}
			start := time.Now()
			rs, err := eval.CompileWith(p.Document(), env.Key, prev, p.Overlays(env.Key), siblings...)
			if err == nil {
				siblings = append(siblings, rs)
			}
			if s.observe != nil {
				s.observe(key, start, time.Since(start), err)
			}
			if err != nil {
				// The store validated the document, so this is a bug; keep
				// serving the previous ruleset rather than nothing.
				s.log.Error("compile ruleset", "project", key.Project, "environment", key.Environment, "err", err)
				if prev != nil {
					next[key] = prev
				}
				continue
			}
			rs.Revision = env.Revision
			next[key] = rs
		}
	}
	s.rulesets.Store(&next)
	s.ready.Store(true)
	ch := make(chan struct{})
	close(*s.changed.Swap(&ch))
}

// changed reports whether commit changed the environment.
func changed(commit *domain.Commit, key Env) bool {
	_, ok := commit.Revisions[domain.EnvRef{Project: key.Project, Environment: key.Environment}]
	return ok
}

// Publish swaps in rs, compiled elsewhere (a relay compiles what it
// receives upstream), as its environment's ruleset, unless the set holds a
// newer revision of it, and marks the set ready. It is the relay's
// counterpart of Apply.
func (s *Set) Publish(rs *eval.Ruleset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := Env{rs.Project(), rs.Environment()}
	old := *s.rulesets.Load()
	if cur := old[key]; cur != nil && cur.Revision > rs.Revision {
		return
	}
	next := make(map[Env]*eval.Ruleset, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = rs
	s.rulesets.Store(&next)
	s.ready.Store(true)
	ch := make(chan struct{})
	close(*s.changed.Swap(&ch))
}
