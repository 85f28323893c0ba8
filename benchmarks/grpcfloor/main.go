// Command grpcfloor measures what an idle server stream costs in grpc-go
// itself, without Switchyard: a bare grpc.Server serving only the standard
// health service, and -streams clients in a child process, each on its own
// connection by default, each holding a health Watch stream open (its
// handler parks in a select, as the sync handler does). It reports the
// server's heap, goroutine stacks, RSS and goroutines per idle stream: the
// floor under benchmarks/propagation's figure, whatever Switchyard's own
// handler does. On loopback only.
//
// Server options to try on the floor are flags: -header-table-size,
// -read-buffer, -write-buffer, -workers,
// -keepalive-time, -window; each defaults to grpc-go's default. -servehttp
// serves through net/http's HTTP/2 server (grpc.Server.ServeHTTP) instead.
//
// Usage:
//
//	go run ./benchmarks/grpcfloor [-streams 5000] [-conns 0] [-header-table-size 0] ... (no flag for the shared write buffer: grpc-go v1.85 shares it by default)
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
)

func main() {
	role := flag.String("role", "", "internal: 'clients' runs the clients of a parent process")
	addr := flag.String("addr", "", "internal: the parent's server address")
	streams := flag.Int("streams", 5000, "idle streams to open")
	conns := flag.Int("conns", 0, "connections the streams share (0: one per stream)")
	var so serverOpts
	flag.IntVar(&so.headerTable, "header-table-size", -1, "grpc.HeaderTableSize: the HPACK table the clients may fill per connection (-1: grpc-go's default, 4096)")
	flag.IntVar(&so.readBuffer, "read-buffer", -1, "grpc.ReadBufferSize (-1: grpc-go's default, 32 KiB)")
	flag.IntVar(&so.writeBuffer, "write-buffer", -1, "grpc.WriteBufferSize (-1: grpc-go's default, 32 KiB)")
	flag.IntVar(&so.workers, "workers", 0, "grpc.NumStreamWorkers (0: a goroutine per stream)")
	flag.DurationVar(&so.keepalive, "keepalive-time", 0, "keepalive.ServerParameters.Time (0: grpc-go's default, 2 h)")
	flag.BoolVar(&so.serveHTTP, "servehttp", false, "serve through net/http's HTTP/2 server and grpc.Server.ServeHTTP instead of grpc-go's own transport")
	flag.IntVar(&so.window, "window", 0, "grpc.StaticStreamWindowSize and StaticConnWindowSize (0: grpc-go's default, dynamic from 64 KiB)")
	flag.Parse()
	var err error
	if *role == "clients" {
		err = runClients(*addr, *streams, *conns)
	} else {
		err = run(*streams, *conns, so)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpcfloor:", err)
		os.Exit(1)
	}
}

// serverOpts are the server options tried on the floor; a negative or
// zero value leaves grpc-go's default.
type serverOpts struct {
	headerTable, readBuffer, writeBuffer, workers, window int
	serveHTTP                                             bool
	keepalive                                             time.Duration
}

// options returns the grpc.ServerOptions of o and a description of them.
func (o serverOpts) options() ([]grpc.ServerOption, string) {
	var opts []grpc.ServerOption
	var desc []string
	if o.headerTable >= 0 {
		opts = append(opts, grpc.HeaderTableSize(uint32(o.headerTable)))
		desc = append(desc, fmt.Sprintf("HeaderTableSize(%d)", o.headerTable))
	}
	if o.readBuffer >= 0 {
		opts = append(opts, grpc.ReadBufferSize(o.readBuffer))
		desc = append(desc, fmt.Sprintf("ReadBufferSize(%d)", o.readBuffer))
	}
	if o.writeBuffer >= 0 {
		opts = append(opts, grpc.WriteBufferSize(o.writeBuffer))
		desc = append(desc, fmt.Sprintf("WriteBufferSize(%d)", o.writeBuffer))
	}
	if o.workers > 0 {
		opts = append(opts, grpc.NumStreamWorkers(uint32(o.workers)))
		desc = append(desc, fmt.Sprintf("NumStreamWorkers(%d)", o.workers))
	}
	if o.keepalive > 0 {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{Time: o.keepalive}))
		desc = append(desc, fmt.Sprintf("KeepaliveParams{Time: %s}", o.keepalive))
	}
	if o.window > 0 {
		opts = append(opts, grpc.StaticStreamWindowSize(int32(o.window)), grpc.StaticConnWindowSize(int32(o.window)))
		desc = append(desc, fmt.Sprintf("StaticStream/ConnWindowSize(%d)", o.window))
	}
	if len(desc) == 0 {
		return nil, "default options"
	}
	return opts, strings.Join(desc, ", ")
}

// run serves, has the child open the streams and reports the cost.
func run(streams, conns int, so serverOpts) error {
	if streams < 1 {
		return errors.New("-streams must be at least 1")
	}
	opts, desc := so.options()
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if so.serveHTTP {
		// grpc-go's other server transport: net/http's HTTP/2 server
		// (unencrypted, prior knowledge, as grpc-go clients speak it)
		// calling grpc.Server.ServeHTTP.
		var protocols http.Protocols
		protocols.SetUnencryptedHTTP2(true)
		hs := &http.Server{Handler: srv, Protocols: &protocols}
		go hs.Serve(lis)
		defer hs.Close()
		desc += ", served by net/http (ServeHTTP)"
	} else {
		go srv.Serve(lis)
		defer srv.Stop()
	}

	before := measure()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(exe, "-role=clients", "-addr", lis.Addr().String(),
		"-streams", strconv.Itoa(streams), "-conns", strconv.Itoa(conns))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer child.Wait()
	defer stdin.Close()
	if lines := bufio.NewScanner(stdout); !lines.Scan() || lines.Text() != "ready" {
		return errors.New("the clients process ended early")
	}
	after := measure()
	n := float64(streams)
	kib := func(a, b uint64) float64 { return (float64(a) - float64(b)) / n / 1024 }
	fmt.Printf("grpc-go %s, %d idle health Watch streams (%s), %s:\n", grpcVersion(), streams, label(streams, conns), desc)
	fmt.Printf("server memory per idle stream: %.1f KiB heap + %.1f KiB goroutine stacks = %.1f KiB (%.2f goroutines per stream)\n",
		kib(after.heap, before.heap), kib(after.stacks, before.stacks),
		kib(after.heap+after.stacks, before.heap+before.stacks), float64(after.goroutines-before.goroutines)/n)
	if after.rss > 0 && before.rss > 0 {
		fmt.Printf("server RSS per idle stream: %.1f KiB\n", kib(after.rss, before.rss))
	}
	return nil
}

// runClients is the child: it opens the streams, waits for the first
// answer on each, says "ready" and holds them until stdin closes.
func runClients(addr string, streams, conns int) error {
	if conns <= 0 || conns > streams {
		conns = streams
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cc := make([]*grpc.ClientConn, conns)
	for i := range cc {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer c.Close()
		cc[i] = c
	}
	for i := range streams {
		w, err := healthpb.NewHealthClient(cc[i%conns]).Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if _, err := w.Recv(); err != nil {
			return err
		}
	}
	fmt.Println("ready")
	bufio.NewScanner(os.Stdin).Scan()
	return nil
}

// memory is this process's memory at one moment.
type memory struct {
	heap, stacks, rss uint64
	goroutines        int
}

// measure collects garbage a few times first, so that idle goroutine
// stacks shrink as far as they would in a long-running server.
func measure() memory {
	for range 6 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memory{heap: m.HeapAlloc, stacks: m.StackInuse, rss: rss(), goroutines: runtime.NumGoroutine()}
}

// rss is this process's resident set size from /proc; 0 without it.
func rss() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kib << 10
		}
	}
	return 0
}

func grpcVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "google.golang.org/grpc" {
				return d.Version
			}
		}
	}
	return grpc.Version
}

func label(streams, conns int) string {
	if conns <= 0 || conns >= streams {
		return "one connection each"
	}
	return fmt.Sprintf("over %d shared connections", conns)
}
