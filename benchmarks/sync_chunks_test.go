package benchmarks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/section"
	"github.com/switchyard/switchyard/internal/wirezip"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// The chunked-sync benchmarks load a segment of bigList keys (user-0000000
// …) that the flag big-feature targets, and report their figures as
// metrics:
//
//	go test -run '^$' -bench BenchmarkChunkSync -benchtime 1x ./benchmarks/

// wireIn counts the bytes a client's connections read.
type wireIn struct{ n atomic.Int64 }

func (w *wireIn) dialer() grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return countedConn{Conn: c, n: &w.n}, nil
	})
}

type countedConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// bigSegmentServer starts an in-process server with the bigList segment.
func bigSegmentServer(b *testing.B) *servertest.Server {
	srv := startWithSegment(b)
	putKeys(b, srv, keyBody("user-", bigList))
	return srv
}

// addKey adds one key to segment big through REST.
func addKey(b *testing.B, httpURL, token, key string) {
	b.Helper()
	req, _ := http.NewRequest("POST", httpURL+"/api/v1/projects/default/segments/big/keys/include", strings.NewReader(key))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("POST keys = %d", resp.StatusCode)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkChunkSyncFirst measures one real SDK's first sync of the
// segment: bytes on the wire (gzip) and the SDK's heap holding it (the
// process heap with the client, less without it; the server's shared
// message is built by a first client before measuring).
func BenchmarkChunkSyncFirst(b *testing.B) {
	srv := bigSegmentServer(b)
	connect := func(w *wireIn) *sdk.Client {
		c, err := sdk.New(context.Background(), sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, DialOptions: []grpc.DialOption{w.dialer()}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
		return c
	}
	warm := connect(new(wireIn))
	warm.Close()
	var wire, heap float64
	for b.Loop() {
		before := heapInUse()
		var w wireIn
		c := connect(&w)
		after := heapInUse()
		if !c.Bool("big-feature", sdk.NewContext("user-0000042"), false) {
			b.Fatal("a member is not targeted")
		}
		wire, heap = float64(w.n.Load()), float64(after)-float64(before)
		c.Close()
	}
	b.ReportMetric(wire/(1<<20), "wire-MiB/sync")
	b.ReportMetric(heap/(1<<20), "sdk-heap-MiB")
}

// BenchmarkChunkSyncAddKey measures what one added key costs a connected
// real SDK on the wire, until the SDK serves the key.
func BenchmarkChunkSyncAddKey(b *testing.B) {
	srv := bigSegmentServer(b)
	var w wireIn
	c, err := sdk.New(context.Background(), sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, DialOptions: []grpc.DialOption{w.dialer()}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	var total int64
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("added-%d", i)
		i++
		w.n.Store(0)
		addKey(b, srv.HTTPURL, srv.Creds.AdminToken, key)
		for !c.Bool("big-feature", sdk.NewContext(key), false) {
			time.Sleep(time.Millisecond)
		}
		total += w.n.Load()
	}
	b.ReportMetric(float64(total)/float64(i)/1024, "wire-KiB/sdk")
}

// syncConn dials a gRPC connection to addr compressing as the SDK does.
func syncConn(b *testing.B, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.UseCompressor(wirezip.Name), grpc.MaxCallRecvMsgSize(256<<20))}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

// openSync opens a raw sync stream of the SDK's protocol (3) and says
// hello.
func openSync(ctx context.Context, conn *grpc.ClientConn, key string, hello *sdkpb.Hello, opts ...grpc.CallOption) (sdkpb.SyncService_SyncClient, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	s, err := sdkpb.NewSyncServiceClient(conn).Sync(ctx, opts...)
	if err != nil {
		return nil, err
	}
	hello.ProtocolVersion = section.ProtocolParts
	return s, s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: hello}})
}

// BenchmarkChunkSyncFanOut measures how long one added key takes to reach
// 1,000 sync streams (raw streams over 20 connections, each resuming the
// revision it holds, as SDKs reconnecting do): p50 and p99 over the
// streams of the time from the REST call to the ruleset's arrival.
func BenchmarkChunkSyncFanOut(b *testing.B) {
	const streams, conns = 1000, 20
	srv := bigSegmentServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One full sync gives the hello every stream resumes with; it ends
	// before they open (a key has at most 1,000 streams).
	firstCtx, endFirst := context.WithCancel(ctx)
	first, err := openSync(firstCtx, syncConn(b, srv.GRPCAddr), srv.Creds.SDKKey, &sdkpb.Hello{})
	if err != nil {
		b.Fatal(err)
	}
	resp, err := first.Recv()
	endFirst()
	if err != nil {
		b.Fatal(err)
	}
	rs := resp.GetRuleset()
	held := make([]*sdkpb.SectionRef, len(rs.GetManifest()))
	for i, r := range rs.GetManifest() {
		held[i] = &sdkpb.SectionRef{Hash: r.GetHash()}
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		c := srv.Admin(b, "GET", "/api/v1/projects/default/environments/production/convergence?max_streams=1", nil)
		if connected, _ := c["connected"].(float64); connected == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the first stream did not end")
		}
	}
	pool := make([]*grpc.ClientConn, conns)
	for i := range pool {
		pool[i] = syncConn(b, srv.GRPCAddr)
	}
	arrived := make(chan time.Time, streams)
	var wg sync.WaitGroup
	for i := range streams {
		s, err := openSync(ctx, pool[i%conns], srv.Creds.SDKKey, &sdkpb.Hello{Revision: rs.GetRevision(), Sections: held})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				resp, err := s.Recv()
				if err != nil {
					return
				}
				if r := resp.GetRuleset(); r != nil {
					if n > 0 {
						arrived <- time.Now()
					}
					if s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Ack{Ack: &sdkpb.Ack{Revision: r.GetRevision()}}}) != nil {
						return
					}
				}
			}
		}()
	}
	// Wait for every stream to be in sync before the first change.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if time.Now().After(deadline) {
			b.Fatal("the streams did not all connect and converge within 2 minutes")
		}
		c := srv.Admin(b, "GET", "/api/v1/projects/default/environments/production/convergence?max_streams=1", nil)
		if connected, _ := c["connected"].(float64); connected == streams {
			if converged, _ := c["converged"].(float64); converged >= streams {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	var p50, p99 time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		addKey(b, srv.HTTPURL, srv.Creds.AdminToken, fmt.Sprintf("fanout-%d", i))
		i++
		lat := make([]time.Duration, 0, streams)
		timeout := time.After(time.Minute)
		for len(lat) < streams {
			select {
			case t := <-arrived:
				lat = append(lat, t.Sub(start))
			case <-timeout:
				b.Fatalf("%d of %d streams received the change within a minute", len(lat), streams)
			}
		}
		slices.Sort(lat)
		p50, p99 = lat[len(lat)/2], lat[len(lat)*99/100-1]
	}
	b.ReportMetric(float64(p50)/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
	cancel()
	wg.Wait()
}

// BenchmarkChunkSyncServerMemory measures the switchyard binary's memory
// with the segment loaded (restarted on its database: RSS after one SDK's
// first sync) and its peak RSS while 100 SDKs do their first sync at once
// (raw streams of the SDK's protocol, which receive the ruleset's parts
// and drop them).
func BenchmarkChunkSyncServerMemory(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	const sdks = 100
	dir := b.TempDir()
	bin := filepath.Join(dir, "switchyard")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/switchyard").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "switchyard.db")
	p := startServe(b, bin, db)
	admin := func(method, path, body string) {
		req, _ := http.NewRequest(method, p.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s = %d", method, path, resp.StatusCode)
		}
	}
	admin("POST", "/api/v1/projects/default/segments", `{"key":"big"}`)
	admin("POST", "/api/v1/projects/default/flags", `{"key":"big-feature","type":"bool",
		"environments":{"production":{"enabled":true,"rules":[{"id":"big","segments":["big"],"serve":{"variant":"on"}}],"default":{"variant":"off"}}}}`)
	req, _ := http.NewRequest("PUT", p.url+"/api/v1/projects/default/segments/big/keys/include", strings.NewReader(string(keyBody("user-", bigList))))
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("upload: %v %v", err, resp)
	}
	resp.Body.Close()
	p.stop()

	p = startServe(b, bin, db)
	// startServe stops it when the benchmark ends.
	firstSync := func(conn *grpc.ClientConn) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := openSync(ctx, conn, p.sdkKey, &sdkpb.Hello{})
		if err != nil {
			return err
		}
		for {
			resp, err := s.Recv()
			if err != nil || !resp.GetRuleset().GetContinued() {
				return err
			}
		}
	}
	if err := firstSync(syncConn(b, p.grpcAddr)); err != nil {
		b.Fatal(err)
	}
	time.Sleep(2 * time.Second) // let the collector return what loading freed
	loadedMB, _ := p.memory(b)
	loaded := loadedMB * 1024
	var peak float64
	for b.Loop() {
		p.resetPeak(b)
		var wg sync.WaitGroup
		errs := make(chan error, sdks)
		for range sdks {
			conn := syncConn(b, p.grpcAddr)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- firstSync(conn)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		_, peakMB := p.memory(b)
		peak = peakMB * 1024
	}
	b.ReportMetric(loaded/1024, "loaded-RSS-MiB")
	b.ReportMetric(peak/1024, "peak-RSS-MiB/100-syncs")
}
