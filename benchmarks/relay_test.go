package benchmarks

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/relaytest"
	"github.com/switchyard/switchyard/server"
	"github.com/switchyard/switchyard/server/servertest"
)

// The relay tier's figures, on loopback, everything in this process:
//
//	go test -run '^$' -bench 'Relay' -benchtime 3x ./benchmarks/
//
// SWITCHYARD_BENCH_RELAY_STREAMS sets the SDK streams of
// BenchmarkRelayPropagation (default 10,000).

// tier is one primary, two relays following it and a third relay
// following the first: region → edge.
type tier struct {
	primary *servertest.Server
	relays  []*relaytest.Relay // region-a, region-b, edge (behind region-a)
}

// startTier starts the tier with a bool flag "probe" on in production, and
// waits until every relay serves the primary's revision and accepts its
// SDK key.
func startTier(b *testing.B) *tier {
	b.Helper()
	primary := servertest.Start(b, servertest.Options{Server: []server.Option{server.WithMaxStreamsPerKey(0)}})
	primary.Admin(b, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "probe", "type": "bool"})
	setProbe(b, primary, true)
	key := func() string {
		return primary.Admin(b, "POST", "/api/v1/keys", map[string]any{
			"name": "relay", "kind": "relay", "project": "default", "environments": []string{"production"},
		})["secret"].(string)
	}
	opts := []server.Option{server.WithMaxStreamsPerKey(0)}
	a := relaytest.Start(b, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: key(), Server: opts})
	bb := relaytest.Start(b, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: key(), Server: opts})
	edge := relaytest.Start(b, relaytest.Options{Upstream: a.GRPCAddr, RelayKey: key(), Server: opts})
	t := &tier{primary: primary, relays: []*relaytest.Relay{a, bb, edge}}
	t.caughtUp(b, 30*time.Second)
	return t
}

// setProbe turns the probe flag on or off in production.
func setProbe(b *testing.B, primary *servertest.Server, on bool) {
	b.Helper()
	primary.Admin(b, "PATCH", "/api/v1/projects/default/flags/probe/environments/production",
		map[string]any{"enabled": on, "default": map[string]any{"variant": "on"}})
}

// caughtUp waits until every relay serves the primary's revision and
// accepts its SDK key, and returns how long that took.
func (t *tier) caughtUp(b *testing.B, limit time.Duration) time.Duration {
	b.Helper()
	start := time.Now()
	want := t.primary.Rulesets.Get("default", "production").Revision
	for _, r := range t.relays {
		for r.Relay.Revision("default", "production") < want || r.Relay.Status() != "ok" || !accepts(r.HTTPURL, t.primary.Creds.SDKKey) {
			if time.Since(start) > limit {
				b.Fatalf("relay %s not at revision %d within %s", r.GRPCAddr, want, limit)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// accepts reports whether the relay at url accepts key.
func accepts(url, key string) bool {
	code, _ := ofrepCall(http.DefaultClient, url, key)
	return code == http.StatusOK
}

// ofrepCall evaluates the probe flag over OFREP and returns the status and
// the body.
func ofrepCall(c *http.Client, url, key string) (int, string) {
	req, err := http.NewRequest("POST", url+"/ofrep/v1/evaluate/flags/probe", strings.NewReader(`{"context":{"targetingKey":"user-1"}}`))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("X-API-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// rawStream is one SDK sync stream without an SDK: it acknowledges every
// ruleset and records when it received the latest.
type rawStream struct {
	revision atomic.Uint64
	at       atomic.Int64 // UnixNano of the latest ruleset's arrival
}

// follow runs the stream until ctx is done; ready is called after the
// first ruleset.
func (s *rawStream) follow(ctx context.Context, conn *grpc.ClientConn, key string, ready func()) error {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	st, err := sdkpb.NewSyncServiceClient(conn).Sync(ctx)
	if err != nil {
		return err
	}
	if err := st.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: &sdkpb.Hello{SdkName: "bench"}}}); err != nil {
		return err
	}
	first := true
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		rs := resp.GetRuleset()
		if rs == nil {
			continue
		}
		s.at.Store(time.Now().UnixNano())
		s.revision.Store(rs.GetRevision())
		if err := st.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Ack{Ack: &sdkpb.Ack{Revision: rs.GetRevision()}}}); err != nil {
			return err
		}
		if first {
			first = false
			ready()
		}
	}
}

// BenchmarkRelayPropagation opens SWITCHYARD_BENCH_RELAY_STREAMS raw SDK
// streams (default 10,000), spread evenly over the three relays (100 gRPC
// connections each), and times one write on the primary until every
// stream has received its revision: p50, p99 and max over all streams and
// iterations, from the start of the REST write (write_p50_ms is the
// write's own answer time). For comparison, "direct" opens them on the primary (300
// connections), with the relays idle.
func BenchmarkRelayPropagation(b *testing.B) {
	b.Run("via-relays", func(b *testing.B) { benchPropagation(b, false) })
	b.Run("direct", func(b *testing.B) { benchPropagation(b, true) })
}

func benchPropagation(b *testing.B, direct bool) {
	streams := 10000
	if v := os.Getenv("SWITCHYARD_BENCH_RELAY_STREAMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("SWITCHYARD_BENCH_RELAY_STREAMS=%q: want a positive number", v)
		}
		streams = n
	}
	t := startTier(b)
	key := t.primary.Creds.SDKKey
	const connsPerRelay = 100
	var conns []*grpc.ClientConn
	addrs := []string{t.relays[0].GRPCAddr, t.relays[1].GRPCAddr, t.relays[2].GRPCAddr}
	if direct {
		addrs = []string{t.primary.GRPCAddr, t.primary.GRPCAddr, t.primary.GRPCAddr}
	}
	for _, addr := range addrs {
		for range connsPerRelay {
			c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			conns = append(conns, c)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	raw := make([]rawStream, streams)
	var ready, done sync.WaitGroup
	ready.Add(streams)
	sem := make(chan struct{}, 256) // open in waves: the listen backlog is finite
	for i := range raw {
		done.Add(1)
		go func() {
			defer done.Done()
			sem <- struct{}{}
			once := sync.OnceFunc(func() { <-sem; ready.Done() })
			err := raw[i].follow(ctx, conns[i%len(conns)], key, once)
			if ctx.Err() == nil {
				b.Errorf("stream %d: %v", i, err)
				once()
			}
		}()
	}
	ready.Wait()
	defer done.Wait()
	defer cancel()

	var lat, writes []time.Duration
	on := false
	for b.Loop() {
		t0 := time.Now()
		setProbe(b, t.primary, on)
		writes = append(writes, time.Since(t0))
		on = !on
		want := t.primary.Rulesets.Get("default", "production").Revision
		for i := range raw {
			for raw[i].revision.Load() < want {
				if time.Since(t0) > 30*time.Second {
					b.Fatalf("stream %d did not get revision %d within 30 s", i, want)
				}
				time.Sleep(2 * time.Millisecond)
			}
			lat = append(lat, time.Duration(raw[i].at.Load()-t0.UnixNano()))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(streams), "streams")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50_ms")
	b.ReportMetric(ms(lat[(len(lat)-1)*99/100]), "p99_ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max_ms")
	slices.Sort(writes)
	b.ReportMetric(ms(writes[len(writes)/2]), "write_p50_ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkRelayOFREP measures OFREP single evaluations per second at the
// primary and at a relay of the same machine, with the same client.
func BenchmarkRelayOFREP(b *testing.B) {
	t := startTier(b)
	key := t.primary.Creds.SDKKey
	targets := []struct{ name, url string }{{"primary", t.primary.HTTPURL}, {"relay", t.relays[0].HTTPURL}}
	for _, tg := range targets {
		b.Run(tg.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer client.CloseIdleConnections()
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if code, body := ofrepCall(client, tg.url, key); code != http.StatusOK {
						b.Errorf("OFREP at the %s = %d %s", tg.name, code, body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkRelayFailover stops the primary, asks every relay 1,000 OFREP
// evaluations and counts the answers equal to those before (correct_pct),
// then starts the primary again, makes a write and times until every relay
// serves it (catchup_ms, from the primary's start).
func BenchmarkRelayFailover(b *testing.B) {
	t := startTier(b)
	key := t.primary.Creds.SDKKey
	_, want := ofrepCall(http.DefaultClient, t.relays[0].HTTPURL, key)
	var asked, correct int
	var catchup []time.Duration
	on := false
	for b.Loop() {
		t.primary.Stop()
		for _, r := range t.relays {
			for range 1000 {
				asked++
				if code, body := ofrepCall(http.DefaultClient, r.HTTPURL, key); code == http.StatusOK && body == want {
					correct++
				}
			}
		}
		start := time.Now()
		t.primary = t.primary.Restart(b)
		setProbe(b, t.primary, on)
		setProbe(b, t.primary, !on)
		t.caughtUp(b, 30*time.Second)
		catchup = append(catchup, time.Since(start))
		_, want = ofrepCall(http.DefaultClient, t.relays[0].HTTPURL, key)
	}
	slices.Sort(catchup)
	b.ReportMetric(100*float64(correct)/float64(asked), "correct_pct")
	b.ReportMetric(ms(catchup[len(catchup)-1]), "max_catchup_ms")
	b.ReportMetric(ms(catchup[len(catchup)/2]), "p50_catchup_ms")
}
