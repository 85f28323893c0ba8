package events

import "sync"

// entry is one queued event, exposure or track.
type entry struct {
	track    bool
	at       int64  // Unix nanoseconds
	unit     string // both kinds
	key      string // exposure: the flag; track: the event key
	variant  string
	rule     string
	exp      string
	revision uint64
	value    float64
	hasValue bool
}

// queue is a bounded ring of events. When it is full a push overwrites
// the oldest event: the caller never waits and memory never grows.
type queue struct {
	mu     sync.Mutex
	buf    []entry
	head   int // index of the oldest event
	n      int // events queued
	closed bool
}

func newQueue(size int) *queue {
	return &queue{buf: make([]entry, size)}
}

// push appends e, dropping the oldest event if the queue is full. It
// reports the queue's length afterwards and whether it dropped an event:
// the oldest, or e itself when the queue is closed.
func (q *queue) push(e *entry) (n int, dropped, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return q.n, true, true
	}
	if q.n == len(q.buf) {
		q.buf[q.head] = entry{}
		q.head = (q.head + 1) % len(q.buf)
		q.n--
		dropped = true
	}
	q.buf[(q.head+q.n)%len(q.buf)] = *e
	q.n++
	return q.n, dropped, false
}

// pop moves up to max of the oldest events to dst and returns it.
func (q *queue) pop(dst []entry, max int) []entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	for ; max > 0 && q.n > 0; max-- {
		dst = append(dst, q.buf[q.head])
		q.buf[q.head] = entry{} // let the strings go
		q.head = (q.head + 1) % len(q.buf)
		q.n--
	}
	return dst
}

// len returns the number of events queued.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// close makes later pushes drop their event.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
}
