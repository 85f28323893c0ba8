package spool_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/spool"
	"github.com/switchyard/switchyard/server/servertest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// primary starts a server with the flag new-checkout.
func primary(t *testing.T) *servertest.Server {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", `{"key": "new-checkout", "type": "bool"}`)
	return srv
}

// upstream sends to the server at addr with an admin token, as a relay
// sends with its relay key. The connection outlives server restarts.
type upstream struct {
	client sdkpb.EventServiceClient
	token  string
}

func dial(t *testing.T, addr, token string) *upstream {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &upstream{client: sdkpb.NewEventServiceClient(conn), token: token}
}

func (u *upstream) SendEvents(ctx context.Context, in *sdkpb.SendEventsRequest, opts ...grpc.CallOption) (*sdkpb.SendEventsResponse, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+u.token)
	return u.client.SendEvents(ctx, in, opts...)
}

// openSpool opens the spool file at path, closed at the end of the test.
func openSpool(t *testing.T, path string, opts spool.Options) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// forward runs sp.Forward to up until the returned stop is called (or
// the test ends).
func forward(t *testing.T, sp *spool.Spool, up spool.Sender) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sp.Forward(ctx, quiet, up, spool.ForwardOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Forward() = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// service is a relay's event service over sp for the production
// environment of project default.
func service(sp *spool.Spool) *spool.Service {
	return &spool.Service{Spool: sp, Scope: func(context.Context, string, string) (string, string, error) {
		return "default", "production", nil
	}}
}

// send sends one batch of exposures, one per unit, through svc.
func send(t *testing.T, svc *spool.Service, units ...string) {
	t.Helper()
	req := &sdkpb.SendEventsRequest{SdkName: "switchyard-go"}
	for _, u := range units {
		req.Events = append(req.Events, &sdkpb.Event{Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{Flag: "new-checkout", Variant: "on", Unit: u}}})
	}
	resp, err := svc.SendEvents(context.Background(), req)
	if err != nil || resp.GetAccepted() != int32(len(units)) {
		t.Fatalf("SendEvents() = %v, %v, want %d accepted", resp, err, len(units))
	}
}

// storedUnits returns the units of the exposures the primary stored, in
// order, waiting (10 s at most) until there are want of them.
func storedUnits(t *testing.T, srv *servertest.Server, want int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		batches, err := srv.Events.Batches(context.Background(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var units []string
		for _, b := range batches {
			for _, e := range b.Events {
				units = append(units, e.Unit)
			}
		}
		if len(units) >= want || time.Now().After(deadline) {
			sort.Strings(units)
			return units
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEmpty waits (10 s at most) until the spool holds nothing.
func waitEmpty(t *testing.T, sp *spool.Spool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sp.Stats().Batches > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("spool still holds %+v", sp.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func units(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	sort.Strings(out)
	return out
}

func TestEventsSentWhileTheUpstreamIsDownArriveWhenItReturns(t *testing.T) {
	srv := primary(t)
	srv.Stop()
	sp := openSpool(t, filepath.Join(t.TempDir(), "events.db"), spool.Options{})
	svc := service(sp)
	forward(t, sp, dial(t, srv.GRPCAddr, srv.Creds.AdminToken))
	all := units("u", 9)
	for i := 0; i < len(all); i += 3 {
		send(t, svc, all[i:i+3]...)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !sp.Stats().UpstreamDown {
		if time.Now().After(deadline) {
			t.Fatalf("Stats() = %+v, want the upstream down", sp.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}

	back := srv.Restart(t)
	got := storedUnits(t, back, len(all))
	if fmt.Sprint(got) != fmt.Sprint(all) {
		t.Errorf("the primary stored %v, want %v", got, all)
	}
	waitEmpty(t, sp)
	if st := sp.Stats(); st.ForwardedEvents != uint64(len(all)) || st.UpstreamDown || st.DroppedEvents != 0 {
		t.Errorf("Stats() = %+v, want %d forwarded, the upstream up, none dropped", st, len(all))
	}
	usage := back.Admin(t, "GET", "/api/v1/projects/default/environments/production/usage?flag=new-checkout", nil)
	if f := usage["flags"].([]any)[0].(map[string]any); f["count"] != "9" {
		t.Errorf("usage = %v, want 9 exposures", f)
	}
}

func TestARestartedRelayLosesNoEvents(t *testing.T) {
	srv := primary(t)
	srv.Stop()
	path := filepath.Join(t.TempDir(), "events.db")
	first, err := spool.Open(path, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	up := dial(t, srv.GRPCAddr, srv.Creds.AdminToken)
	stop := forward(t, first, up)
	all := units("u", 6)
	send(t, service(first), all[:3]...)
	send(t, service(first), all[3:]...)
	stop()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	back := srv.Restart(t)
	second := openSpool(t, path, spool.Options{})
	if st := second.Stats(); st.Batches != 2 {
		t.Fatalf("reopened spool Stats() = %+v, want the 2 batches", st)
	}
	forward(t, second, up)
	if got := storedUnits(t, back, len(all)); fmt.Sprint(got) != fmt.Sprint(all) {
		t.Errorf("the primary stored %v, want %v", got, all)
	}
	waitEmpty(t, second)
}

// lostAnswer sends to the upstream and then fails once, as when the
// upstream stored the batch but its answer never reached the relay.
type lostAnswer struct {
	spool.Sender
	mu   sync.Mutex
	lost int
}

func (l *lostAnswer) SendEvents(ctx context.Context, in *sdkpb.SendEventsRequest, opts ...grpc.CallOption) (*sdkpb.SendEventsResponse, error) {
	resp, err := l.Sender.SendEvents(ctx, in, opts...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && l.lost == 0 {
		l.lost++
		return nil, status.Error(codes.Unavailable, "connection reset")
	}
	return resp, err
}

func TestARetriedBatchIsCountedOnce(t *testing.T) {
	srv := primary(t)
	sp := openSpool(t, filepath.Join(t.TempDir(), "events.db"), spool.Options{})
	svc := service(sp)
	// Both batches are spooled before forwarding starts: they go as one
	// group, sent twice.
	send(t, svc, "a", "b")
	send(t, svc, "c")
	lost := &lostAnswer{Sender: dial(t, srv.GRPCAddr, srv.Creds.AdminToken)}
	forward(t, sp, lost)
	waitEmpty(t, sp)
	if got := storedUnits(t, srv, 3); fmt.Sprint(got) != "[a b c]" {
		t.Errorf("the primary stored %v, want [a b c] once", got)
	}
	if batches, err := srv.Events.Batches(context.Background(), 0, 10); err != nil || len(batches) != 1 {
		t.Errorf("the primary stored %d batches, %v, want the group once", len(batches), err)
	}
}

func TestTheBoundDropsTheOldestAndCountsThem(t *testing.T) {
	srv := primary(t)
	sp := openSpool(t, filepath.Join(t.TempDir(), "events.db"), spool.Options{MaxBatches: 3})
	svc := service(sp)
	for _, u := range []string{"u0", "u1", "u2", "u3", "u4"} {
		send(t, svc, u, u+"-again")
	}
	st := sp.Stats()
	if st.Batches != 3 || st.DroppedBatches != 2 || st.DroppedEvents != 4 {
		t.Errorf("Stats() = %+v, want 3 batches kept, 2 batches of 4 events dropped", st)
	}
	forward(t, sp, dial(t, srv.GRPCAddr, srv.Creds.AdminToken))
	want := "[u2 u2-again u3 u3-again u4 u4-again]"
	if got := storedUnits(t, srv, 6); fmt.Sprint(got) != want {
		t.Errorf("the primary stored %v, want the newest %s", got, want)
	}
}

func TestTheByteBoundDropsTheOldest(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "events.db"), spool.Options{MaxBytes: 200})
	svc := service(sp)
	for i := range 10 {
		send(t, svc, fmt.Sprintf("unit-%02d", i))
	}
	if st := sp.Stats(); st.Bytes > 200 || st.Batches == 0 || st.DroppedBatches != uint64(10-st.Batches) {
		t.Errorf("Stats() = %+v, want at most 200 bytes kept and the rest counted as dropped", st)
	}
}

func TestServiceRefusesBadRequests(t *testing.T) {
	sp := openSpool(t, filepath.Join(t.TempDir(), "events.db"), spool.Options{})
	svc := service(sp)
	tests := []struct {
		name string
		req  *sdkpb.SendEventsRequest
	}{
		{"too many events", &sdkpb.SendEventsRequest{Events: make([]*sdkpb.Event, 10_001)}},
		{"sdk name too long", &sdkpb.SendEventsRequest{SdkName: string(make([]byte, 129))}},
		{"bad batch id", &sdkpb.SendEventsRequest{BatchId: "a b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := svc.SendEvents(context.Background(), tc.req); status.Code(err) != codes.InvalidArgument {
				t.Errorf("SendEvents() = %v, want INVALID_ARGUMENT", err)
			}
		})
	}
	if st := sp.Stats(); st.Batches != 0 {
		t.Errorf("Stats() = %+v, want nothing spooled", st)
	}
}
