package events_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/sdk/internal/events"
	"github.com/switchyard/switchyard/server/servertest"
)

// fakeEvents is an EventService on loopback that records what it gets and
// fails the calls fail says to.
type fakeEvents struct {
	sdkpb.UnimplementedEventServiceServer
	fail func(call int) error // nil: accept everything

	mu      sync.Mutex
	calls   int
	ids     []string // the batch id of every call
	batches []*sdkpb.SendEventsRequest
	got     chan struct{} // signalled at each accepted batch
}

func (f *fakeEvents) SendEvents(_ context.Context, req *sdkpb.SendEventsRequest) (*sdkpb.SendEventsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.ids = append(f.ids, req.GetBatchId())
	if f.fail != nil {
		if err := f.fail(f.calls); err != nil {
			return nil, err
		}
	}
	f.batches = append(f.batches, req)
	select {
	case f.got <- struct{}{}:
	default:
	}
	return &sdkpb.SendEventsResponse{Accepted: int32(len(req.GetEvents()))}, nil
}

// events returns every event received, in order.
func (f *fakeEvents) events() []*sdkpb.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*sdkpb.Event
	for _, b := range f.batches {
		out = append(out, b.GetEvents()...)
	}
	return out
}

func (f *fakeEvents) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// startFake serves f on 127.0.0.1:0 until the test ends and returns a
// client of it.
func startFake(t *testing.T, f *fakeEvents) sdkpb.EventServiceClient {
	t.Helper()
	f.got = make(chan struct{}, 1)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	sdkpb.RegisterEventServiceServer(srv, f)
	go srv.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop() })
	return sdkpb.NewEventServiceClient(conn)
}

// newPipeline starts a pipeline that is closed when the test ends.
func newPipeline(t *testing.T, cfg events.Config) *events.Pipeline {
	t.Helper()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	p, err := events.New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

func flush(t *testing.T, p *events.Pipeline) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
}

func exposure(unit, flag, variant string) events.Exposure {
	return events.Exposure{Flag: flag, Variant: variant, Unit: unit, Rule: "default", Revision: 7}
}

func TestExposuresAreDeduplicatedPerUnitAndFlag(t *testing.T) {
	f := &fakeEvents{}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), SDKName: "go", SDKVersion: "1.2.3", FlushInterval: time.Hour})
	for range 100 {
		p.Expose(exposure("u1", "a", "on"))
		p.Expose(exposure("u2", "a", "on"))
		p.Expose(exposure("u1", "b", "on"))
	}
	p.Expose(exposure("u1", "a", "off")) // the unit moved: a new exposure
	flush(t, p)

	got := f.events()
	var keys []string
	for _, e := range got {
		x := e.GetExposure()
		keys = append(keys, x.GetUnit()+"/"+x.GetFlag()+"/"+x.GetVariant())
	}
	if want := "[u1/a/on u2/a/on u1/b/on u1/a/off]"; fmt.Sprint(keys) != want {
		t.Errorf("exposures sent = %v, want %s", keys, want)
	}
	if x := got[0].GetExposure(); x.GetRule() != "default" || x.GetRevision() != 7 || got[0].GetTime() == nil {
		t.Errorf("first exposure = %v, want rule, revision and time", got[0])
	}
	if b := f.batches[0]; b.GetSdkName() != "go" || b.GetSdkVersion() != "1.2.3" {
		t.Errorf("batch SDK = %q %q, want go 1.2.3", b.GetSdkName(), b.GetSdkVersion())
	}
	if s := p.Stats(); s.Queued != 4 || s.Deduplicated != 297 || s.Sent != 4 {
		t.Errorf("Stats() = %+v, want 4 queued, 297 deduplicated, 4 sent", s)
	}
}

func TestDedupForgetsLeastRecentlyUsed(t *testing.T) {
	f := &fakeEvents{}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), DedupSize: 16, FlushInterval: time.Hour})
	for i := range 1000 {
		p.Expose(exposure(fmt.Sprintf("u%d", i), "a", "on"))
	}
	p.Expose(exposure("u999", "a", "on")) // recent: remembered
	p.Expose(exposure("u0", "a", "on"))   // long evicted: sent again
	flush(t, p)
	if n := len(f.events()); n != 1001 {
		t.Errorf("%d exposures sent, want 1001", n)
	}
}

func TestTrackEventsAreSent(t *testing.T) {
	f := &fakeEvents{}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), FlushInterval: time.Hour})
	p.Track(events.Track{Key: "purchase", Unit: "u1", Value: 12.5, HasValue: true})
	p.Track(events.Track{Key: "signup", Unit: "u1"})
	p.Track(events.Track{Key: "signup", Unit: "u1"}) // not deduplicated
	p.Track(events.Track{Key: "signup"})             // invalid: no unit
	p.Expose(events.Exposure{Flag: "a"})             // invalid: no unit
	flush(t, p)
	got := f.events()
	if len(got) != 3 {
		t.Fatalf("%d events sent, want 3", len(got))
	}
	if tr := got[0].GetTrack(); tr.GetKey() != "purchase" || tr.Value == nil || tr.GetValue() != 12.5 {
		t.Errorf("first track = %v, want purchase with 12.5", tr)
	}
	if tr := got[1].GetTrack(); tr.GetKey() != "signup" || tr.Value != nil {
		t.Errorf("second track = %v, want signup without value", tr)
	}
	if s := p.Stats(); s.Invalid != 2 {
		t.Errorf("Stats().Invalid = %d, want 2", s.Invalid)
	}
}

func TestQueueDropsOldestWhenFull(t *testing.T) {
	f := &fakeEvents{}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), QueueSize: 10, BatchSize: 100, FlushInterval: time.Hour})
	for i := range 25 {
		p.Track(events.Track{Key: fmt.Sprintf("e%d", i), Unit: "u"})
	}
	if s := p.Stats(); s.Dropped != 15 || s.Queued != 25 {
		t.Errorf("Stats() = %+v, want 25 queued and 15 dropped", s)
	}
	flush(t, p)
	got := f.events()
	if len(got) != 10 || got[0].GetTrack().GetKey() != "e15" || got[9].GetTrack().GetKey() != "e24" {
		t.Errorf("sent %d events from %v, want the newest 10 (e15…e24)", len(got), got[0])
	}
}

func TestFullBatchIsSentWithoutFlush(t *testing.T) {
	f := &fakeEvents{}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), BatchSize: 5, FlushInterval: time.Hour})
	for i := range 5 {
		p.Expose(exposure(fmt.Sprintf("u%d", i), "a", "on"))
	}
	select {
	case <-f.got:
	case <-time.After(5 * time.Second):
		t.Fatal("a full batch was not sent")
	}
	if n := len(f.events()); n != 5 {
		t.Errorf("%d events sent, want 5", n)
	}
}

func TestQueuedEventsAreSentOnInterval(t *testing.T) {
	f := &fakeEvents{}
	newPipeline(t, events.Config{Sender: startFake(t, f), FlushInterval: 20 * time.Millisecond}).
		Expose(exposure("u", "a", "on"))
	select {
	case <-f.got:
	case <-time.After(5 * time.Second):
		t.Fatal("queued event not sent within 5 s at a 20 ms interval")
	}
}

func TestSendRetriesUntilAccepted(t *testing.T) {
	f := &fakeEvents{fail: func(call int) error {
		if call <= 2 {
			return status.Error(codes.Unavailable, "down")
		}
		return nil
	}}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), FlushInterval: time.Hour})
	p.Expose(exposure("u", "a", "on"))
	flush(t, p)
	if n, calls := len(f.events()), f.callCount(); n != 1 || calls != 3 {
		t.Errorf("%d events after %d calls, want 1 after 3", n, calls)
	}
	if s := p.Stats(); s.Sent != 1 || s.Failed != 0 {
		t.Errorf("Stats() = %+v, want 1 sent", s)
	}
}

func TestARetriedBatchKeepsItsBatchID(t *testing.T) {
	f := &fakeEvents{fail: func(call int) error {
		if call == 1 {
			return status.Error(codes.Unavailable, "down")
		}
		return nil
	}}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), FlushInterval: time.Hour})
	p.Expose(exposure("u", "a", "on"))
	flush(t, p)
	p.Expose(exposure("v", "a", "on"))
	flush(t, p)
	f.mu.Lock()
	ids := slices.Clone(f.ids)
	f.mu.Unlock()
	if len(ids) != 3 || ids[0] == "" || ids[1] != ids[0] || ids[2] == "" || ids[2] == ids[0] {
		t.Errorf("batch ids of the calls = %q, want the first batch's id twice (a retry), then another", ids)
	}
}

func TestPermanentErrorIsNotRetried(t *testing.T) {
	f := &fakeEvents{fail: func(int) error { return status.Error(codes.PermissionDenied, "bad key") }}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), FlushInterval: time.Hour})
	p.Expose(exposure("u", "a", "on"))
	err := p.Flush(context.Background())
	if status.Code(errors.Unwrap(err)) != codes.PermissionDenied && status.Code(err) != codes.PermissionDenied {
		t.Errorf("Flush() = %v, want the PermissionDenied", err)
	}
	if calls := f.callCount(); calls != 1 {
		t.Errorf("%d calls, want 1 (no retry of a permanent error)", calls)
	}
	if s := p.Stats(); s.Failed != 1 {
		t.Errorf("Stats().Failed = %d, want 1", s.Failed)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	f := &fakeEvents{fail: func(int) error { return status.Error(codes.Unavailable, "down") }}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), FlushInterval: time.Hour, MaxAttempts: 3})
	p.Expose(exposure("u", "a", "on"))
	if err := p.Flush(context.Background()); status.Code(errors.Unwrap(err)) != codes.Unavailable {
		t.Errorf("Flush() = %v, want Unavailable after the last attempt", err)
	}
	if calls, s := f.callCount(), p.Stats(); calls != 3 || s.Failed != 1 {
		t.Errorf("%d calls, Stats() = %+v, want 3 calls and 1 failed", calls, s)
	}
}

func TestCloseFlushesAndStops(t *testing.T) {
	f := &fakeEvents{}
	p, err := events.New(events.Config{Sender: startFake(t, f), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1200 { // more than two batches
		p.Track(events.Track{Key: "k", Unit: fmt.Sprintf("u%d", i)})
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if n := len(f.events()); n != 1200 {
		t.Errorf("%d events sent by Close, want 1200", n)
	}
	p.Track(events.Track{Key: "k", Unit: "late"})
	if s := p.Stats(); s.Dropped != 1 {
		t.Errorf("Stats().Dropped = %d after an event given after Close, want 1", s.Dropped)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if err := p.Flush(context.Background()); !errors.Is(err, events.ErrClosed) {
		t.Errorf("Flush() after Close = %v, want ErrClosed", err)
	}
}

func TestCloseGivesUpAtDeadline(t *testing.T) {
	f := &fakeEvents{fail: func(int) error { return status.Error(codes.Unavailable, "down") }}
	p, err := events.New(events.Config{Sender: startFake(t, f), FlushInterval: time.Hour, MinBackoff: time.Second, MaxBackoff: time.Second, MaxAttempts: 100})
	if err != nil {
		t.Fatal(err)
	}
	p.Expose(exposure("u", "a", "on"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close() = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close() took %v with a 100 ms deadline", d)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := &fakeEvents{}
	p := newPipeline(t, events.Config{Sender: startFake(t, f), BatchSize: 50, FlushInterval: 5 * time.Millisecond})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				p.Expose(exposure(fmt.Sprintf("u%d", i%50), fmt.Sprintf("f%d", g), "on"))
				p.Track(events.Track{Key: "k", Unit: "u"})
				if i%100 == 0 {
					p.Flush(context.Background())
				}
			}
		})
	}
	wg.Wait()
	flush(t, p)
	if s := p.Stats(); s.Sent != 8*50+8*500 || s.Dropped != 0 {
		t.Errorf("Stats() = %+v, want %d sent and none dropped", s, 8*50+8*500)
	}
}

func TestExposeDoesNotAllocateWhenSeen(t *testing.T) {
	p := newPipeline(t, events.Config{Sender: startFake(t, &fakeEvents{}), FlushInterval: time.Hour})
	e := exposure("user-1", "new-checkout", "on")
	p.Expose(e)
	if n := testing.AllocsPerRun(1000, func() { p.Expose(e) }); n != 0 {
		t.Errorf("Expose of a recorded exposure allocates %v times, want 0", n)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := events.New(events.Config{}); err == nil {
		t.Error("New(Config{}) = nil error, want Sender required")
	}
}

// keySender authenticates every call with an SDK key.
type keySender struct {
	sdkpb.EventServiceClient
	key string
}

func (s keySender) SendEvents(ctx context.Context, in *sdkpb.SendEventsRequest, opts ...grpc.CallOption) (*sdkpb.SendEventsResponse, error) {
	return s.EventServiceClient.SendEvents(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.key), in, opts...)
}

func TestPipelineAgainstServer(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", `{"key":"new-checkout","type":"bool"}`)
	p := newPipeline(t, events.Config{
		Sender:  keySender{sdkpb.NewEventServiceClient(srv.Conn), srv.Creds.SDKKey},
		SDKName: "switchyard-go", FlushInterval: time.Hour,
	})
	for i := range 300 {
		p.Expose(exposure(fmt.Sprintf("u%d", i%100), "new-checkout", "on"))
	}
	p.Expose(exposure("u1", "unknown-flag", "on"))
	p.Track(events.Track{Key: "purchase", Unit: "u1", Value: 3, HasValue: true})
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if s := p.Stats(); s.Sent != 101 || s.Rejected != 1 || s.Deduplicated != 200 {
		t.Errorf("Stats() = %+v, want 101 sent, 1 rejected, 200 deduplicated", s)
	}
	u := srv.Admin(t, "GET", "/api/v1/projects/default/environments/production/usage?flag=new-checkout", nil)
	if got := u["flags"].([]any)[0].(map[string]any)["count"]; got != "100" {
		t.Errorf("usage count = %v, want 100", got)
	}
}
