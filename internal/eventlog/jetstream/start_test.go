package jetstream_test

import (
	"context"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/jetstream"
)

// TestNewTogether: replicas started together create the one stream (and
// its checkpoint store) at the same moment, each on its own connection to
// another node; every one of them opens the log.
func TestNewTogether(t *testing.T) {
	cfg := uniqueConfig()
	const replicas = 3
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		nc := connect(t)
		wg.Go(func() {
			_, errs[i] = jetstream.New(context.Background(), nc, cfg, eventlog.Options{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: New = %v, want nil", i, err)
		}
	}
}
