// Command load drives a running Switchyard server with a fixed number of
// concurrent workers for a fixed time over gRPC Evaluate, gRPC
// EvaluateBatch (all flags), OFREP single and OFREP bulk evaluation, with
// random targeting keys and countries, and prints req/s, p50 and p99.
//
// It only targets loopback addresses:
//
//	go run ./benchmarks/load --key $SDK_KEY --concurrency 32 --duration 10s
//
// The ceiling of the harness — a server that only decodes the request —
// is measured the same way, in a second process:
//
//	go run ./benchmarks/load --serve-ceiling 127.0.0.1:8099 &
//	go run ./benchmarks/load --http http://127.0.0.1:8099 --key x --modes ofrep-single,ofrep-bulk
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

var countries = []string{"DE", "FR", "US", "GB", "ES", "IT"}

type config struct {
	httpURL     string
	grpcAddr    string
	key         string
	flag        string
	concurrency int
	duration    time.Duration
	modes       string
}

func main() {
	var c config
	flag.StringVar(&c.httpURL, "http", "http://127.0.0.1:8080", "server HTTP URL (loopback only)")
	flag.StringVar(&c.grpcAddr, "grpc", "127.0.0.1:9090", "server gRPC address (loopback only)")
	flag.StringVar(&c.key, "key", os.Getenv("SWITCHYARD_SDK_KEY"), "SDK key (or SWITCHYARD_SDK_KEY)")
	flag.StringVar(&c.flag, "flag", "new-checkout", "flag for single evaluations")
	flag.IntVar(&c.concurrency, "concurrency", 32, "concurrent workers")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "duration of each mode")
	flag.StringVar(&c.modes, "modes", "ofrep-single,ofrep-bulk,grpc-evaluate,grpc-batch", "comma-separated modes")
	ceiling := flag.String("serve-ceiling", "", "instead of driving, serve on this loopback address a do-nothing OFREP look-alike that only decodes the request: the ceiling of the harness")
	flag.Parse()
	if *ceiling != "" {
		if err := serveCeiling(*ceiling); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// loopback refuses targets beyond this machine.
func loopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address", hostport)
}

func run(ctx context.Context, c config, w io.Writer) error {
	if c.key == "" {
		return errors.New("no SDK key: pass --key or set SWITCHYARD_SDK_KEY")
	}
	u, err := url.Parse(c.httpURL)
	if err != nil {
		return err
	}
	if err := loopback(u.Host); err != nil {
		return err
	}
	if err := loopback(c.grpcAddr); err != nil {
		return err
	}
	conn, err := grpc.NewClient(c.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	eval := sdkpb.NewEvaluationServiceClient(conn)
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.concurrency * 2, MaxConnsPerHost: c.concurrency * 2}}

	fmt.Fprintf(w, "concurrency %d, %s per mode\n%-14s %10s %10s %10s %8s\n", c.concurrency, c.duration, "mode", "req/s", "p50", "p99", "errors")
	for _, mode := range strings.Split(c.modes, ",") {
		var call func(ctx context.Context, rng *rand.Rand) error
		switch mode {
		case "ofrep-single":
			call = func(ctx context.Context, rng *rand.Rand) error {
				return postOFREP(ctx, httpc, c.httpURL+"/ofrep/v1/evaluate/flags/"+c.flag, c.key, rng)
			}
		case "ofrep-bulk":
			call = func(ctx context.Context, rng *rand.Rand) error {
				return postOFREP(ctx, httpc, c.httpURL+"/ofrep/v1/evaluate/flags", c.key, rng)
			}
		case "grpc-evaluate":
			call = func(ctx context.Context, rng *rand.Rand) error {
				_, err := eval.Evaluate(authed(ctx, c.key), &sdkpb.EvaluateRequest{Flag: c.flag, Context: grpcContext(rng)})
				return err
			}
		case "grpc-batch":
			call = func(ctx context.Context, rng *rand.Rand) error {
				_, err := eval.EvaluateBatch(authed(ctx, c.key), &sdkpb.EvaluateBatchRequest{Context: grpcContext(rng)})
				return err
			}
		default:
			return fmt.Errorf("unknown mode %q", mode)
		}
		r := drive(ctx, c.concurrency, c.duration, call)
		fmt.Fprintf(w, "%-14s %10.0f %10s %10s %8d\n", mode, r.rate, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors)
		if r.firstErr != nil {
			fmt.Fprintf(w, "  first error: %v\n", r.firstErr)
		}
	}
	return nil
}

func authed(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

func grpcContext(rng *rand.Rand) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"targetingKey": structpb.NewStringValue(fmt.Sprintf("user-%d", rng.IntN(1_000_000))),
		"country":      structpb.NewStringValue(countries[rng.IntN(len(countries))]),
	}}
}

func postOFREP(ctx context.Context, c *http.Client, url, key string, rng *rand.Rand) error {
	body := fmt.Appendf(nil, `{"context":{"targetingKey":"user-%d","country":%q}}`, rng.IntN(1_000_000), countries[rng.IntN(len(countries))])
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return err
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	errors   int
	firstErr error
}

// drive runs call from n workers for d and summarises the latencies.
func drive(ctx context.Context, n int, d time.Duration, call func(context.Context, *rand.Rand) error) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu       sync.Mutex
		all      []time.Duration
		errs     int
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			lat := make([]time.Duration, 0, 1<<16)
			var e int
			var first error
			for ctx.Err() == nil {
				t := time.Now()
				err := call(ctx, rng)
				if ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
					break
				}
				if err != nil {
					e++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all = append(all, lat...)
			errs += e
			if firstErr == nil {
				firstErr = first
			}
			mu.Unlock()
		}(uint64(i))
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	r := result{rate: float64(len(all)) / elapsed.Seconds(), errors: errs, firstErr: firstErr}
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[len(all)*99/100]
	}
	return r
}
