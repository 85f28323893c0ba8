// Package eventlogtest is the contract suite every eventlog.Log passes:
// batches read back in order from any position, idempotent batch IDs,
// usage counters, a reader resuming from its checkpoint after a restart,
// bounded retention and concurrent appenders.
package eventlogtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/eventlog"
)

// Open opens a Log over a new, empty space (a bbolt file, a stream) with
// opts, and returns it with reopen, which opens another Log over the same
// space as a restarted process would. The suite runs each Log's Run and
// stops it before it calls reopen. Both clean up after the test.
type Open func(t *testing.T, opts eventlog.Options) (l eventlog.Log, reopen func(t *testing.T) eventlog.Log)

// EventTime is when the suite's events happen; the logs it opens have
// Options.Now return it.
var EventTime = time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)

// Run runs the contract suite against the logs open opens.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open)
	}{
		{"AppendsAndReadsInOrder", testAppendsAndReadsInOrder},
		{"CountsUsageByHour", testCountsUsageByHour},
		{"CountsRejections", testCountsRejections},
		{"CountsEvaluations", testCountsEvaluations},
		{"StoresABatchIDOnce", testStoresABatchIDOnce},
		{"StoresABatchIDOnceUnderConcurrency", testStoresABatchIDOnceUnderConcurrency},
		{"ConcurrentAppenders", testConcurrentAppenders},
		{"ResumesFromACheckpointAfterRestart", testResumesAfterRestart},
		{"BoundsRetainedBytes", testBoundsRetainedBytes},
		{"RefusesAppendsOnceStopped", testRefusesAppendsOnceStopped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// Start runs l.Run until the returned stop is called or the test ends.
func Start(t testing.TB, l eventlog.Log) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run() = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func fixedOptions(o eventlog.Options) eventlog.Options {
	o.Now = func() time.Time { return EventTime }
	return o
}

// Exposure is an exposure of flag's variant to unit at a time.
func Exposure(flag, variant, unit string, at time.Time) eventlog.Event {
	return eventlog.Event{Kind: eventlog.Exposure, Time: at, Unit: unit, Flag: flag, Variant: variant, Rule: "default", Revision: 7}
}

// BatchOf is a batch of shop/production received at EventTime.
func BatchOf(events ...eventlog.Event) *eventlog.Batch {
	return &eventlog.Batch{
		Project: "shop", Environment: "production", Received: EventTime,
		SDKName: "switchyard-go", SDKVersion: "0.1.0", Events: events,
	}
}

func appendOK(t *testing.T, l eventlog.Log, b *eventlog.Batch, rejected map[string]int) {
	t.Helper()
	if err := l.Append(context.Background(), b, rejected); err != nil {
		t.Fatalf("Append() = %v", err)
	}
}

func batches(t *testing.T, l eventlog.Log, after uint64, limit int) []eventlog.Batch {
	t.Helper()
	got, err := l.Batches(context.Background(), after, limit)
	if err != nil {
		t.Fatalf("Batches(%d, %d) = %v", after, limit, err)
	}
	return got
}

// readAll reads every batch after after, limit at a time.
func readAll(t *testing.T, l eventlog.Log, after uint64, limit int) []eventlog.Batch {
	t.Helper()
	var out []eventlog.Batch
	for {
		got := batches(t, l, after, limit)
		if len(got) == 0 {
			return out
		}
		out = append(out, got...)
		after = got[len(got)-1].Seq
	}
}

func usage(t *testing.T, l eventlog.Log, env string, from, to time.Time) *eventlog.Usage {
	t.Helper()
	u, err := l.FlagUsage(context.Background(), eventlog.UsageQuery{Project: "shop", Environment: env, From: from, To: to})
	if err != nil {
		t.Fatalf("FlagUsage() = %v", err)
	}
	return u
}

// total is the all-time exposures of flag a's variant on.
func total(t *testing.T, l eventlog.Log) uint64 {
	t.Helper()
	u := usage(t, l, "production", EventTime, EventTime)
	for _, f := range u.Flags {
		for _, v := range f.Variants {
			if f.Flag == "a" && v.Variant == "on" {
				return v.Total
			}
		}
	}
	return 0
}

func testAppendsAndReadsInOrder(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{}))
	Start(t, l)
	first := BatchOf(
		Exposure("new-checkout", "on", "user-1", EventTime),
		eventlog.Event{Kind: eventlog.Exposure, Time: EventTime, Unit: "user-2", Flag: "new-checkout", Experiment: "checkout-ab"},
	)
	second := BatchOf(
		eventlog.Event{Kind: eventlog.Track, Time: EventTime.Add(time.Second), Unit: "user-1", Key: "purchase", Value: 12.5, HasValue: true},
		eventlog.Event{Kind: eventlog.Track, Time: EventTime.Add(time.Microsecond), Unit: "user-2", Key: "signup"},
	)
	appendOK(t, l, first, nil)
	appendOK(t, l, second, nil)
	if first.Seq == 0 || second.Seq <= first.Seq {
		t.Fatalf("Seq = %d, %d, want increasing from 1", first.Seq, second.Seq)
	}
	if got, want := batches(t, l, 0, 10), []eventlog.Batch{*first, *second}; !reflect.DeepEqual(got, want) {
		t.Errorf("Batches(0, 10) = %+v, want %+v", got, want)
	}
	if got := batches(t, l, first.Seq, 10); len(got) != 1 || got[0].Seq != second.Seq {
		t.Errorf("Batches(%d, 10) = %+v, want the second batch", first.Seq, got)
	}
	if got := batches(t, l, 0, 1); len(got) != 1 || got[0].Seq != first.Seq {
		t.Errorf("Batches(0, 1) = %+v, want the first batch", got)
	}
	if got := batches(t, l, second.Seq, 10); len(got) != 0 {
		t.Errorf("Batches(last, 10) = %+v, want none", got)
	}
	if seq, err := l.LastSeq(context.Background()); err != nil || seq != second.Seq {
		t.Errorf("LastSeq() = %d, %v, want %d", seq, err, second.Seq)
	}
}

func testCountsUsageByHour(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{}))
	Start(t, l)
	h0 := EventTime.Truncate(time.Hour)
	appendOK(t, l, BatchOf(Exposure("a", "on", "u1", h0.Add(time.Minute)), Exposure("a", "on", "u2", h0.Add(2*time.Minute)), Exposure("a", "off", "u3", h0)), nil)
	appendOK(t, l, BatchOf(Exposure("a", "on", "u1", h0.Add(-time.Hour)), Exposure("b", "", "u1", h0.Add(-3*time.Hour))), nil)
	appendOK(t, l, BatchOf(eventlog.Event{Kind: eventlog.Track, Time: h0, Unit: "u1", Key: "buy"}), nil) // not counted
	got := usage(t, l, "production", h0.Add(-2*time.Hour), h0)
	want := &eventlog.Usage{Flags: []eventlog.FlagUsage{
		{Flag: "a", Variants: []eventlog.VariantUsage{
			{Variant: "off", Total: 1, LastSeen: h0, Hours: []eventlog.HourCount{{Hour: h0, Count: 1}}},
			{Variant: "on", Total: 3, LastSeen: h0.Add(2 * time.Minute), Hours: []eventlog.HourCount{{Hour: h0.Add(-time.Hour), Count: 1}, {Hour: h0, Count: 2}}},
		}},
		{Flag: "b", Variants: []eventlog.VariantUsage{{Variant: "", Total: 1, LastSeen: h0.Add(-3 * time.Hour)}}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FlagUsage() = %+v, want %+v", got, want)
	}
	one, err := l.FlagUsage(context.Background(), eventlog.UsageQuery{Project: "shop", Environment: "production", Flag: "b", From: h0.Add(-5 * time.Hour), To: h0})
	if err != nil || len(one.Flags) != 1 || one.Flags[0].Flag != "b" || len(one.Flags[0].Variants[0].Hours) != 1 {
		t.Errorf("FlagUsage(flag b) = %+v, %v, want b with one hour", one, err)
	}
	if other := usage(t, l, "staging", h0, h0); !reflect.DeepEqual(other, &eventlog.Usage{}) {
		t.Errorf("FlagUsage(staging) = %+v, want nothing", other)
	}
	seen, err := l.LastSeen(context.Background(), "shop")
	wantSeen := map[string]map[string]time.Time{"production": {"a": h0.Add(2 * time.Minute), "b": h0.Add(-3 * time.Hour)}}
	if err != nil || !reflect.DeepEqual(seen, wantSeen) {
		t.Errorf("LastSeen(shop) = %v, %v, want %v", seen, err, wantSeen)
	}
	if seen, err := l.LastSeen(context.Background(), "other"); err != nil || len(seen) != 0 {
		t.Errorf("LastSeen(other) = %v, %v, want nothing", seen, err)
	}
}

func testCountsRejections(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{}))
	Start(t, l)
	for range 2 {
		appendOK(t, l, BatchOf(), map[string]int{"FLAG_NOT_FOUND": 2, "UNIT_MISSING": 1})
	}
	got := usage(t, l, "production", EventTime, EventTime)
	want := []eventlog.RejectedCount{{Code: "FLAG_NOT_FOUND", Count: 4, LastSeen: EventTime}, {Code: "UNIT_MISSING", Count: 2, LastSeen: EventTime}}
	if !reflect.DeepEqual(got.Rejected, want) || len(got.Flags) != 0 {
		t.Errorf("FlagUsage() = %+v, want rejections %+v and no flags", got, want)
	}
	if got := batches(t, l, 0, 10); len(got) != 0 {
		t.Errorf("Batches() = %+v, want none stored for rejected events", got)
	}
}

func testCountsEvaluations(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{}))
	Start(t, l)
	at := EventTime
	counts := []eventlog.EvaluationCount{
		{Project: "shop", Environment: "production", Flag: "a", Variant: "on", Count: 5},
		{Project: "shop", Environment: "staging", Flag: "a", Variant: "", Count: 1},
	}
	for range 2 {
		if err := l.AddEvaluations(context.Background(), at, counts); err != nil {
			t.Fatalf("AddEvaluations() = %v", err)
		}
	}
	h := at.Truncate(time.Hour)
	got := usage(t, l, "production", at, at)
	want := &eventlog.Usage{Flags: []eventlog.FlagUsage{{Flag: "a", Variants: []eventlog.VariantUsage{{
		Variant: "on", Evaluations: 10, LastEvaluated: at, EvaluationHours: []eventlog.HourCount{{Hour: h, Count: 10}},
	}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FlagUsage() = %+v, want %+v", got, want)
	}
	seen, err := l.LastSeen(context.Background(), "shop")
	wantSeen := map[string]map[string]time.Time{"production": {"a": at}, "staging": {"a": at}}
	if err != nil || !reflect.DeepEqual(seen, wantSeen) {
		t.Errorf("LastSeen() = %v, %v, want %v", seen, err, wantSeen)
	}
	if got := batches(t, l, 0, 10); len(got) != 0 {
		t.Errorf("Batches() = %+v, want no batch for evaluation counts", got)
	}
}

func testStoresABatchIDOnce(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{}))
	Start(t, l)
	first := BatchOf(Exposure("a", "on", "u1", EventTime), Exposure("a", "on", "u2", EventTime))
	first.ID = "relay-1-7"
	appendOK(t, l, first, map[string]int{"FLAG_NOT_FOUND": 1})
	again := BatchOf(Exposure("a", "on", "u1", EventTime), Exposure("a", "on", "u2", EventTime))
	again.ID = first.ID
	appendOK(t, l, again, map[string]int{"FLAG_NOT_FOUND": 1})
	if first.Duplicate || !again.Duplicate || again.Seq != first.Seq {
		t.Errorf("Duplicate = %v, %v and Seq = %d, %d, want only the second a duplicate of seq %d", first.Duplicate, again.Duplicate, first.Seq, again.Seq, first.Seq)
	}
	if got := total(t, l); got != 2 {
		t.Errorf("exposures = %d, want 2 (the repeated batch not counted)", got)
	}
	if u := usage(t, l, "production", EventTime, EventTime); len(u.Rejected) != 1 || u.Rejected[0].Count != 1 {
		t.Errorf("rejections = %+v, want FLAG_NOT_FOUND counted once", u.Rejected)
	}
	if got := batches(t, l, 0, 10); len(got) != 1 {
		t.Errorf("Batches() = %d batches, want 1", len(got))
	}
	other := BatchOf(Exposure("a", "on", "u3", EventTime))
	other.ID, other.Environment = first.ID, "staging"
	if err := l.Append(context.Background(), other, nil); err != nil || other.Duplicate {
		t.Errorf("Append(same id, other environment) = %v, duplicate %v, want it stored", err, other.Duplicate)
	}
}

func testStoresABatchIDOnceUnderConcurrency(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{}))
	Start(t, l)
	const writers = 16
	sent := make([]*eventlog.Batch, writers)
	var wg sync.WaitGroup
	for i := range sent {
		b := BatchOf(Exposure("a", "on", "u1", EventTime))
		b.ID = "same"
		sent[i] = b
		wg.Go(func() {
			if err := l.Append(context.Background(), b, nil); err != nil {
				t.Errorf("Append() = %v", err)
			}
		})
	}
	wg.Wait()
	stored := 0
	for _, b := range sent {
		if !b.Duplicate {
			stored++
		}
	}
	if stored != 1 {
		t.Errorf("%d of %d appends of one id were stored, want 1", stored, writers)
	}
	if got := total(t, l); got != 1 {
		t.Errorf("exposures = %d, want 1", got)
	}
	if got := batches(t, l, 0, 100); len(got) != 1 {
		t.Errorf("Batches() = %d batches, want 1", len(got))
	}
}

func testConcurrentAppenders(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{}))
	Start(t, l)
	const writers, perWriter = 16, 20
	var wg sync.WaitGroup
	seqs := make(chan uint64, writers*perWriter)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				b := BatchOf(Exposure("a", "on", fmt.Sprintf("u%d-%d", w, i), EventTime))
				if err := l.Append(context.Background(), b, nil); err != nil {
					t.Errorf("Append() = %v", err)
					return
				}
				seqs <- b.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	acked := map[uint64]bool{}
	for s := range seqs {
		acked[s] = true
	}
	if len(acked) != writers*perWriter {
		t.Fatalf("%d distinct Seqs for %d appends", len(acked), writers*perWriter)
	}
	got := readAll(t, l, 0, 7)
	units := map[string]bool{}
	for i, b := range got {
		if i > 0 && b.Seq <= got[i-1].Seq {
			t.Fatalf("Batches: Seq %d after %d, want increasing", b.Seq, got[i-1].Seq)
		}
		if !acked[b.Seq] {
			t.Errorf("Batches: Seq %d was never acknowledged", b.Seq)
		}
		units[b.Events[0].Unit] = true
	}
	if len(got) != writers*perWriter || len(units) != writers*perWriter {
		t.Errorf("read %d batches of %d units, want %d", len(got), len(units), writers*perWriter)
	}
	if n := total(t, l); n != writers*perWriter {
		t.Errorf("exposures = %d, want %d", n, writers*perWriter)
	}
}

func testResumesAfterRestart(t *testing.T, open Open) {
	l, reopen := open(t, fixedOptions(eventlog.Options{}))
	stop := Start(t, l)
	var sent []*eventlog.Batch
	for i := range 5 {
		b := BatchOf(Exposure("a", "on", fmt.Sprintf("u%d", i), EventTime))
		b.ID = fmt.Sprintf("batch-%d", i)
		appendOK(t, l, b, nil)
		sent = append(sent, b)
	}
	read := batches(t, l, 0, 2)
	if len(read) != 2 {
		t.Fatalf("Batches(0, 2) = %d batches, want 2", len(read))
	}
	checkpoint := read[1].Seq
	stop()

	l = reopen(t)
	Start(t, l)
	if got := total(t, l); got != 5 {
		t.Errorf("exposures after a restart = %d, want 5", got)
	}
	retried := BatchOf(Exposure("a", "on", "u4", EventTime))
	retried.ID = sent[4].ID
	appendOK(t, l, retried, nil)
	if !retried.Duplicate || retried.Seq != sent[4].Seq {
		t.Errorf("retried batch after a restart: Duplicate %v, Seq %d, want a duplicate of %d", retried.Duplicate, retried.Seq, sent[4].Seq)
	}
	late := BatchOf(Exposure("a", "on", "u5", EventTime))
	appendOK(t, l, late, nil)
	rest := readAll(t, l, checkpoint, 2)
	var got []uint64
	for _, b := range rest {
		got = append(got, b.Seq)
	}
	want := []uint64{sent[2].Seq, sent[3].Seq, sent[4].Seq, late.Seq}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Batches after the checkpoint %d = %v, want %v", checkpoint, got, want)
	}
	if n := total(t, l); n != 6 {
		t.Errorf("exposures = %d, want 6", n)
	}
}

func testBoundsRetainedBytes(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{BatchMaxBytes: 300}))
	Start(t, l)
	var last *eventlog.Batch
	for i := range 20 {
		last = BatchOf(Exposure("a", "on", fmt.Sprintf("user-%03d", i), EventTime))
		appendOK(t, l, last, nil)
	}
	got := batches(t, l, 0, 100)
	if len(got) == 0 || len(got) >= 20 || got[len(got)-1].Seq != last.Seq {
		t.Errorf("Batches() = %d batches, want the newest few within 300 bytes", len(got))
	}
}

func testRefusesAppendsOnceStopped(t *testing.T, open Open) {
	l, _ := open(t, fixedOptions(eventlog.Options{}))
	stop := Start(t, l)
	stop()
	if err := l.Append(context.Background(), BatchOf(Exposure("a", "on", "u", EventTime)), nil); !errors.Is(err, eventlog.ErrClosed) {
		t.Errorf("Append() after Run returned = %v, want ErrClosed", err)
	}
}
