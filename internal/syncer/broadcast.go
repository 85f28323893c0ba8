package syncer

import "sync"

// broadcast tells any number of waiters that something changed: Wait
// returns a channel that the next Notify closes. A Notify with no waiter
// costs a lock and allocates nothing, so it may sit on a path every
// stream takes (acknowledgements); a waiter costs nothing while nothing
// changes. The zero value is ready to use.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{} // nil while no one waits
}

// Wait returns a channel closed at the next Notify.
func (b *broadcast) Wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// Notify closes the channel of the current waiters, if any.
func (b *broadcast) Notify() {
	b.mu.Lock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
	b.mu.Unlock()
}
