package server

import (
	"errors"
	"fmt"
	"sync"
)

// DefaultMaxStreamsPerKey is how many streams (gRPC Sync and OFREP event
// streams together) one key may hold open by default.
const DefaultMaxStreamsPerKey = 1000

// errTooManyStreams means a key holds as many streams as it may.
var errTooManyStreams = errors.New("too many streams")

// streamSlots counts the open streams of each key and refuses a key's
// stream beyond the limit, so that one leaked key cannot exhaust the
// server. A limit of 0 means no limit.
type streamSlots struct {
	limit int
	mu    sync.Mutex
	open  map[string]int // by key ID; absent when 0
}

func newStreamSlots(limit int) *streamSlots {
	return &streamSlots{limit: limit, open: map[string]int{}}
}

// acquire takes a stream slot of the key keyID (named name in messages)
// and returns the function that gives it back; it returns an error
// matching errTooManyStreams when the key holds limit streams already.
func (s *streamSlots) acquire(keyID, name string) (free func(), err error) {
	if s.limit == 0 {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[keyID] >= s.limit {
		return nil, fmt.Errorf("%w: key %q holds %d streams (sync and event streams), the most one key may hold; close one or use another key",
			errTooManyStreams, name, s.limit)
	}
	s.open[keyID]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.open[keyID]--; s.open[keyID] <= 0 {
				delete(s.open, keyID)
			}
		})
	}, nil
}
