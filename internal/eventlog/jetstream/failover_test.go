package jetstream_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/eventlogtest"
	"github.com/switchyard/switchyard/internal/eventlog/jetstream"
	"github.com/switchyard/switchyard/internal/eventlog/jetstream/natstest"
)

// retryBound bounds how long a retried append may take to succeed: a
// bound for a hang, long enough for a leader election.
const retryBound = time.Minute

var fixed = eventlog.Options{Now: func() time.Time { return eventlogtest.EventTime }}

// appendRetry appends b, retrying with the same batch ID until the log
// acknowledges it, as a relay forwarding its spool does.
func appendRetry(t *testing.T, l eventlog.Log, b *eventlog.Batch) {
	t.Helper()
	deadline := time.Now().Add(retryBound)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := l.Append(ctx, b, nil)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Append(%s) still failing after %v: %v", b.ID, retryBound, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// streamLeader returns the index of the node leading cfg's stream.
func streamLeader(t *testing.T, nc *nats.Conn, cfg jetstream.Config) int {
	t.Helper()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil || info.Cluster == nil {
		t.Fatalf("stream info = %+v, %v", info, err)
	}
	var i int
	if _, err := fmt.Sscanf(info.Cluster.Leader, "n%d", &i); err != nil {
		t.Fatalf("stream leader %q: %v", info.Cluster.Leader, err)
	}
	return i - 1
}

func TestAppendsGoOnWhileANodeStops(t *testing.T) {
	// A cluster of its own: the package's stays whole for the other tests.
	own, err := natstest.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(own.Shutdown)
	cfg := uniqueConfig()
	nc, err := nats.Connect(own.URL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	l, err := jetstream.New(context.Background(), nc, cfg, fixed)
	if err != nil {
		t.Fatal(err)
	}
	eventlogtest.Start(t, l)
	leader := streamLeader(t, nc, cfg)

	const writers, perWriter = 4, 50
	var (
		mu    sync.Mutex
		acked []uint64
		once  sync.Once
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				b := eventlogtest.BatchOf(eventlogtest.Exposure("a", "on", fmt.Sprintf("u%d-%d", w, i), eventlogtest.EventTime))
				b.ID = fmt.Sprintf("w%d-%d", w, i)
				appendRetry(t, l, b)
				mu.Lock()
				acked = append(acked, b.Seq)
				n := len(acked)
				mu.Unlock()
				if n == writers*perWriter/4 {
					once.Do(func() { own.Stop(leader) }) // the stream's leader, mid-stream
				}
			}
		})
	}
	wg.Wait()

	var read []eventlog.Batch
	for after := uint64(0); ; {
		got, err := l.Batches(context.Background(), after, 50)
		if err != nil {
			t.Fatalf("Batches(%d) = %v", after, err)
		}
		if len(got) == 0 {
			break
		}
		read = append(read, got...)
		after = got[len(got)-1].Seq
	}
	var seqs []uint64
	units := map[string]bool{}
	for _, b := range read {
		seqs = append(seqs, b.Seq)
		units[b.Events[0].Unit] = true
	}
	slices.Sort(acked)
	if !slices.Equal(seqs, acked) || len(units) != writers*perWriter {
		t.Errorf("read %d batches of %d units, want the %d acknowledged, each once", len(seqs), len(units), len(acked))
	}
	u, err := l.FlagUsage(context.Background(), eventlog.UsageQuery{Project: "shop", Environment: "production", From: eventlogtest.EventTime, To: eventlogtest.EventTime})
	if err != nil || len(u.Flags) != 1 || u.Flags[0].Variants[0].Total != writers*perWriter {
		t.Errorf("FlagUsage() = %+v, %v, want %d exposures counted once", u, err, writers*perWriter)
	}
}

// checkpoint is what a reader makes of the batches, kept with the Seq of
// the last one it consumed, as the experiment consumer keeps its state.
type checkpoint struct {
	cursor uint64
	events int
	seen   map[uint64]int
}

// consume reads one round of batches after cp's cursor and returns the
// checkpoint it would commit.
func consume(t *testing.T, l eventlog.Log, cp checkpoint) checkpoint {
	t.Helper()
	got, err := l.Batches(context.Background(), cp.cursor, 4)
	if err != nil {
		t.Fatalf("Batches(%d) = %v", cp.cursor, err)
	}
	next := checkpoint{cursor: cp.cursor, events: cp.events, seen: map[uint64]int{}}
	for k, v := range cp.seen {
		next.seen[k] = v
	}
	for _, b := range got {
		next.events += len(b.Events)
		next.seen[b.Seq]++
		next.cursor = b.Seq
	}
	return next
}

func TestANewReaderResumesFromTheCheckpoint(t *testing.T) {
	cfg := uniqueConfig()
	writer := open(t, cfg, fixed)
	eventlogtest.Start(t, writer)
	sent := 0
	send := func(n int) {
		for i := range n {
			events := make([]eventlog.Event, 1+i%3)
			for j := range events {
				events[j] = eventlogtest.Exposure("a", "on", fmt.Sprintf("u%d-%d-%d", sent, i, j), eventlogtest.EventTime)
			}
			appendRetry(t, writer, eventlogtest.BatchOf(events...))
			sent += len(events)
		}
	}
	send(20)

	// The first reader commits two rounds, reads a third and dies before
	// it commits it.
	nc := connect(t)
	first, err := jetstream.New(context.Background(), nc, cfg, fixed)
	if err != nil {
		t.Fatal(err)
	}
	cp := checkpoint{seen: map[uint64]int{}}
	cp = consume(t, first, cp)
	cp = consume(t, first, cp)
	_ = consume(t, first, cp) // read, never committed
	nc.Close()

	send(10)
	second := open(t, cfg, fixed) // a new leader, on a connection of its own
	for {
		next := consume(t, second, cp)
		if next.cursor == cp.cursor {
			break
		}
		cp = next
	}
	if cp.events != sent {
		t.Errorf("the readers counted %d events, want %d", cp.events, sent)
	}
	for seq, n := range cp.seen {
		if n != 1 {
			t.Errorf("batch %d counted %d times, want once", seq, n)
		}
	}
	if len(cp.seen) != 30 {
		t.Errorf("counted %d batches, want 30", len(cp.seen))
	}
}
