// Package natstest runs a real NATS JetStream cluster in the test process:
// nodes of nats-server on loopback, each with its own store directory.
// Tests share one cluster per package (started in TestMain) and give each
// test its own stream names.
package natstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readyTimeout bounds how long Start waits for the cluster to elect its
// JetStream meta leader.
const readyTimeout = time.Minute

// Cluster is a running JetStream cluster.
type Cluster struct {
	mu    sync.Mutex
	nodes []*server.Server // nil once stopped
	opts  []*server.Options
}

// Start starts a cluster of n nodes on 127.0.0.1, storing under dir, and
// waits until JetStream is ready on it.
func Start(dir string, n int) (*Cluster, error) {
	routePorts := make([]int, n)
	for i := range routePorts {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		routePorts[i] = p
	}
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	c := &Cluster{}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			NoLog:      os.Getenv("NATSDBG") == "",
			NoSigs:     true,
			Cluster: server.ClusterOpts{
				Name: "switchyard-test",
				Host: "127.0.0.1",
				Port: routePorts[i],
			},
			Routes: server.RoutesFromStr(strings.Join(routes, ",")),
		}
		c.opts = append(c.opts, o)
		c.nodes = append(c.nodes, nil)
	}
	for i := range n {
		if err := c.start(i); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.waitReady(); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(i int) error {
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		return fmt.Errorf("nats node %d: %w", i+1, err)
	}
	if os.Getenv("NATSDBG") != "" {
		s.ConfigureLogger()
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("nats node %d: not ready for connections", i+1)
	}
	c.mu.Lock()
	c.nodes[i] = s
	c.mu.Unlock()
	return nil
}

// waitReady waits until a JetStream API call succeeds.
func (c *Cluster) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	nc, err := nats.Connect(c.URL())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(attempt)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jetstream not ready: %w", errors.Join(err, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// URLs returns the client URLs of the running nodes.
func (c *Cluster) URLs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.nodes {
		if s != nil {
			out = append(out, s.ClientURL())
		}
	}
	return out
}

// URL returns the client URLs of the running nodes, comma-separated, as
// nats.Connect takes them.
func (c *Cluster) URL() string { return strings.Join(c.URLs(), ",") }

// Size returns the number of nodes, running or stopped.
func (c *Cluster) Size() int { return len(c.opts) }

// Stop shuts node i down (its data stays for Restart).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	s := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart starts node i again on its data, at its cluster address, and
// waits until a stream can be placed on every node again.
func (c *Cluster) Restart(i int) error {
	c.Stop(i)
	if err := c.start(i); err != nil {
		return err
	}
	return c.waitPlacement()
}

// waitPlacement waits until a stream replicated on every node can be
// created.
func (c *Cluster) waitPlacement() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	nc, err := nats.Connect(c.URL())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.CreateStream(attempt, jetstream.StreamConfig{Name: "NATSTEST_PROBE", Subjects: []string{"natstest.probe"}, Replicas: len(c.opts), Storage: jetstream.MemoryStorage})
		if err == nil {
			err = js.DeleteStream(attempt, "NATSTEST_PROBE")
		}
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("streams not placeable on %d nodes: %w", len(c.opts), errors.Join(err, ctx.Err()))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for i := range c.nodes {
		c.Stop(i)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
