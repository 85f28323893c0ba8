package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/switchyard/switchyard/sdk"
)

// runClients is the child process: it opens the streams, reports "ready",
// waits for "go" on stdin, makes the write and reports a result line.
func runClients(ctx context.Context, c config) error {
	t := &target{grpcAddr: c.grpcAddr, httpURL: c.httpURL, adminToken: c.adminToken, sdkKey: c.sdkKey}
	var shared []*grpc.ClientConn
	for range c.conns {
		if c.conns >= c.streams {
			break
		}
		conn, err := grpc.NewClient(c.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(sdk.DefaultMaxMessageBytes)))
		if err != nil {
			return err
		}
		defer conn.Close()
		shared = append(shared, conn)
	}

	start := time.Now()
	clients := make([]*sdk.Client, c.streams)
	applied := make([]atomic.Int64, c.streams) // nanoseconds after the write started; 0: not yet
	var armed atomic.Bool
	var t0 atomic.Int64
	var pending sync.WaitGroup
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(256) // connect in waves: the listen backlog is finite
	for i := range clients {
		g.Go(func() error {
			cfg := sdk.Config{Address: c.grpcAddr, SDKKey: c.sdkKey, Name: "propagation", Version: "1",
				Backoff: sdk.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}}
			if len(shared) > 0 {
				cfg.Conn = shared[i%len(shared)]
			}
			cl, err := sdk.New(gctx, cfg)
			if err != nil {
				return err
			}
			clients[i] = cl
			pending.Add(1)
			cl.OnChange(func(sdk.Change) {
				if armed.Load() && applied[i].CompareAndSwap(0, max(1, time.Now().UnixNano()-t0.Load())) {
					pending.Done()
				}
			})
			return cl.WaitReady(gctx)
		})
	}
	err := g.Wait()
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cl.Close()
			}
		}
	}()
	if err != nil {
		return fmt.Errorf("open streams: %w", err)
	}
	connect := time.Since(start)
	fmt.Println("ready")

	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "go" {
		return fmt.Errorf("expected go on stdin")
	}
	t0.Store(time.Now().UnixNano())
	armed.Store(true)
	if err := t.toggle(ctx, c.flag, true); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}

	var times []time.Duration
	missed := 0
	for i := range applied {
		if ns := applied[i].Load(); ns > 0 {
			times = append(times, time.Duration(ns))
		} else {
			missed++
		}
	}
	slices.Sort(times)
	r := result{
		Streams: c.streams, Connect: connect.Seconds(), Missed: missed,
		P50: ms(percentile(times, 0.50)), P99: ms(percentile(times, 0.99)), Max: ms(percentile(times, 1)),
	}
	line, _ := json.Marshal(r)
	fmt.Printf("result %s\n", line)
	return nil
}
