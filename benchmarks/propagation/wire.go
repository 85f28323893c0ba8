package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/sdk"
)

// counter counts the bytes of the TCP connections it dialed.
type counter struct {
	in, out atomic.Int64
}

// countingConn is a connection that counts what it reads and writes.
type countingConn struct {
	net.Conn
	c *counter
}

// Read reads from the connection and counts the bytes.
func (cc countingConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.c.in.Add(int64(n))
	return n, err
}

// Write writes to the connection and counts the bytes.
func (cc countingConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.c.out.Add(int64(n))
	return n, err
}

// dialer is a dial option whose connections count into c.
func (c *counter) dialer() grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: conn, c: c}, nil
	})
}

func (c *counter) reset() { c.in.Store(0); c.out.Store(0) }

// String says how many bytes went each way.
func (c *counter) String() string {
	return fmt.Sprintf("%s from the server, %s to it", size(c.in.Load()), size(c.out.Load()))
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB (%d bytes)", float64(n)/(1<<10), n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// runWire measures the bytes on the SDK's TCP connection: the first sync
// with a segment of c.segmentKeys keys, a one-flag change, and a resume
// from the cache file.
func runWire(ctx context.Context, c config) error {
	t, err := startServer(ctx)
	if err != nil {
		return err
	}
	defer t.stop()
	keys := make([]string, c.segmentKeys)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	// The segment is too large for one REST or gRPC request (4 MiB), so it
	// goes into the store directly.
	doc := &model.Document{
		Version: model.DocumentVersion, Project: "default", Environments: []string{"production", "staging"},
		Segments: []*model.Segment{{Key: "big", Include: keys}},
		Flags: []*model.Flag{
			{Key: "uses-big", Type: model.TypeBool, Environments: map[string]*model.Targeting{"production": {
				Enabled: true,
				Rules:   []model.Rule{{ID: "big", Segments: []string{"big"}, Serve: model.Serve{Variant: "on"}}},
				Default: &model.Serve{Variant: "off"},
			}}},
			{Key: c.flag, Type: model.TypeBool},
		},
	}
	if _, err := t.store.Update(ctx, domain.Actor{Name: "propagation"}, func(tx *domain.Tx) error {
		_, err := tx.Import(doc, false)
		return err
	}); err != nil {
		return fmt.Errorf("import the segment: %w", err)
	}

	dir, err := os.MkdirTemp("", "switchyard-wire-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cache := filepath.Join(dir, "cache")
	var count counter
	newClient := func() (*sdk.Client, error) {
		cl, err := sdk.New(ctx, sdk.Config{Address: t.grpcAddr, SDKKey: t.sdkKey, CacheFile: cache,
			DialOptions: []grpc.DialOption{count.dialer()}})
		if err != nil {
			return nil, err
		}
		if err := cl.WaitReady(ctx); err != nil {
			cl.Close()
			return nil, err
		}
		return cl, nil
	}

	start := time.Now()
	cl, err := newClient()
	if err != nil {
		return err
	}
	fmt.Printf("segment of %d keys: first sync %s in %.1f s\n", c.segmentKeys, &count, time.Since(start).Seconds())
	if !cl.Bool("uses-big", sdk.NewContext("user-7"), false) {
		cl.Close()
		return fmt.Errorf("uses-big is off for a member of the segment")
	}

	time.Sleep(200 * time.Millisecond) // let the cache file and the ack settle
	count.reset()
	changed := make(chan sdk.Change, 1)
	cl.OnChange(func(ch sdk.Change) { changed <- ch })
	if err := t.toggle(ctx, c.flag, true); err != nil {
		cl.Close()
		return err
	}
	select {
	case ch := <-changed:
		time.Sleep(100 * time.Millisecond) // the ack
		fmt.Printf("one-flag change (flags %v) with the segment present: %s\n", ch.Flags, &count)
	case <-time.After(30 * time.Second):
		cl.Close()
		return fmt.Errorf("the change did not arrive")
	}
	cl.Close()

	count.reset()
	start = time.Now()
	cl, err = newClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	time.Sleep(100 * time.Millisecond)
	fmt.Printf("restart from the cache file (resume, nothing changed): %s in %.2f s\n", &count, time.Since(start).Seconds())
	return nil
}
