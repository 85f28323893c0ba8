// Command propagation measures how fast a change reaches SDK streams and
// what they cost. On loopback only, it
//
//   - starts a server in-process (or uses a running one, -grpc/-http) and,
//     with -target relay, a relay following it that the streams connect
//     to (writes still go to the primary),
//   - opens -streams SDK clients (default 10,000) in a child process, so
//     that this process's heap is the server's alone,
//   - reports the server's memory per idle stream (live heap after GC, and
//     goroutine stacks, divided by the number of streams) and its RSS per
//     idle stream (the growth of VmRSS; -pid for a running server or relay),
//   - makes one REST write and reports p50, p99 and max of the time until
//     each stream has applied it,
//   - and, with an in-process server, the bytes on the wire for a one-flag
//     change while a segment of -segment-keys (default 1,000,000) keys is
//     present, counted on the SDK's TCP connection.
//
// Usage:
//
//	go run ./benchmarks/propagation [-streams 10000] [-conns 0] [-segment-keys 1000000] [-target relay]
//	go run ./benchmarks/propagation -grpc 127.0.0.1:9090 -http http://127.0.0.1:8080 -admin $ADMIN -sdk-key $KEY [-pid $PID]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	role        string
	streams     int
	conns       int
	segmentKeys int
	grpcAddr    string
	httpURL     string
	adminToken  string
	sdkKey      string
	flag        string
	skip        string
	timeout     time.Duration
	pid         string
	profile     string
	target      string
}

func main() {
	var c config
	flag.StringVar(&c.role, "role", "", "internal: 'clients' runs the SDK clients of a parent process")
	flag.IntVar(&c.streams, "streams", 10000, "SDK streams to open")
	flag.IntVar(&c.conns, "conns", 0, "gRPC connections the streams share (0: one per stream, as separate services would)")
	flag.IntVar(&c.segmentKeys, "segment-keys", 1_000_000, "keys of the segment present during the bytes-on-the-wire measurement")
	flag.StringVar(&c.grpcAddr, "grpc", "", "gRPC address of a running server (loopback); empty: start one in-process")
	flag.StringVar(&c.httpURL, "http", "", "HTTP URL of a running server (loopback)")
	flag.StringVar(&c.adminToken, "admin", os.Getenv("SWITCHYARD_ADMIN_TOKEN"), "admin token of a running server")
	flag.StringVar(&c.sdkKey, "sdk-key", os.Getenv("SWITCHYARD_SDK_KEY"), "SDK key (production of project default) of a running server")
	flag.StringVar(&c.flag, "flag", "propagation-probe", "flag of project default the write toggles (created if missing)")
	flag.StringVar(&c.skip, "skip", "", "comma-separated measurements to skip: propagation, wire")
	flag.StringVar(&c.pid, "pid", "", "process id of the running server (or relay) given by -grpc, whose RSS per idle stream is reported (Linux /proc)")
	flag.StringVar(&c.target, "target", "primary", "in-process server the streams connect to: primary, or relay (a relay following the primary; writes still go to the primary)")
	flag.StringVar(&c.profile, "profile", "", "directory to write the in-process server's heap and goroutine profiles to, taken with the streams idle (records every allocation: slow)")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	if c.profile != "" && c.role == "" {
		runtime.MemProfileRate = 1 // every allocation, for an exact heap profile
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "propagation:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if err := c.validate(); err != nil {
		return err
	}
	if c.role == "clients" {
		return runClients(ctx, c)
	}
	if !c.skipped("propagation") {
		if err := runPropagation(ctx, c); err != nil {
			return err
		}
	}
	if !c.skipped("wire") {
		if c.grpcAddr != "" {
			fmt.Println("bytes on the wire: skipped (needs the in-process server)")
		} else if err := runWire(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// validate refuses anything but loopback targets.
func (c config) validate() error {
	if c.streams < 1 {
		return errors.New("-streams must be at least 1")
	}
	if c.target != "primary" && c.target != "relay" {
		return fmt.Errorf("-target %q: want primary or relay", c.target)
	}
	if c.grpcAddr == "" {
		return nil
	}
	if c.target != "primary" {
		return errors.New("-target relay needs the in-process server; for a running relay give its -grpc and -pid")
	}
	host, _, err := net.SplitHostPort(c.grpcAddr)
	if err != nil || !loopbackHost(host) {
		return fmt.Errorf("-grpc %q: only loopback addresses", c.grpcAddr)
	}
	u, err := url.Parse(c.httpURL)
	if err != nil || !loopbackHost(u.Hostname()) {
		return fmt.Errorf("-http %q: only loopback addresses", c.httpURL)
	}
	if c.adminToken == "" || c.sdkKey == "" {
		return errors.New("-admin and -sdk-key are required with -grpc")
	}
	return nil
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c config) skipped(name string) bool {
	return slices.Contains(strings.Split(c.skip, ","), name)
}
