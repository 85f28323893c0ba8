package sdk

import (
	"slices"
	"sync"
)

// callbacks is a list of functions registered by OnChange, OnStatusChange
// or OnRelease. The zero value is ready to use.
type callbacks[F any] struct {
	mu     sync.Mutex
	nextID int
	list   []callback[F]
}

// callback is one registered function.
type callback[F any] struct {
	id int
	fn F
}

// add registers fn and returns the function that removes it.
func (cs *callbacks[F]) add(fn F) (remove func()) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	id := cs.nextID
	cs.nextID++
	cs.list = append(cs.list, callback[F]{id: id, fn: fn})
	return func() {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		cs.list = slices.DeleteFunc(cs.list, func(c callback[F]) bool { return c.id == id })
	}
}

// all returns the functions registered now, in the order they were added.
func (cs *callbacks[F]) all() []F {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	fns := make([]F, len(cs.list))
	for i, c := range cs.list {
		fns[i] = c.fn
	}
	return fns
}

// each calls call with every registered function, in the order they were
// added, without holding the lock (a function may add or remove others).
func (cs *callbacks[F]) each(call func(F)) {
	for _, fn := range cs.all() {
		call(fn)
	}
}
