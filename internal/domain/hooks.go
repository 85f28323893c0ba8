package domain

import (
	"context"
	"slices"
	"sync"
	"time"
)

// commitHooks are the functions Subscribe added, called after every commit
// that changed something.
type commitHooks struct {
	mu    sync.Mutex
	hooks []*commitHook // replaced, never changed in place
}

type commitHook struct{ fn func(*State, *Commit) }

// Subscribe adds fn to the functions called after every commit that
// changed something, after Options.OnCommit (so the State fn gets is
// published and, in a server, compiled). Like OnCommit, fn runs
// synchronously, in commit order, while the writer lock is held: it must
// return quickly — hand the commit to a queue — and must not call Update.
// The returned function removes fn.
func (s *Store) Subscribe(fn func(*State, *Commit)) (remove func()) {
	h := &s.hooks
	hook := &commitHook{fn: fn}
	h.mu.Lock()
	h.hooks = append(slices.Clip(h.hooks), hook)
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.hooks = slices.DeleteFunc(slices.Clone(h.hooks), func(x *commitHook) bool { return x == hook })
	}
}

// call calls every subscribed function in the order they were added.
func (h *commitHooks) call(st *State, c *Commit) {
	h.mu.Lock()
	hooks := h.hooks
	h.mu.Unlock()
	for _, hook := range hooks {
		hook.fn(st, c)
	}
}

// ObserveTransactions makes Update call fn after every Change it applies
// to the engine (from encoding to Backend.Apply), failed ones included, with Update's context, the
// start, the duration and the error; it replaces the previous fn, and nil
// stops it. fn runs while the writer lock is held, before
// Options.OnCommit, and must return quickly.
func (s *Store) ObserveTransactions(fn func(ctx context.Context, start time.Time, d time.Duration, err error)) {
	if fn == nil {
		s.txObserver.Store(nil)
		return
	}
	s.txObserver.Store(&fn)
}
