package jetstream_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/eventlog/eventlogtest"
	"github.com/switchyard/switchyard/internal/eventlog/jetstream"
	"github.com/switchyard/switchyard/internal/eventlog/jetstream/natstest"
)

// cluster is the package's 3-node JetStream cluster.
var cluster *natstest.Cluster

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "switchyard-nats-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cluster, err = natstest.Start(dir, 3)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.Shutdown()
	return m.Run()
}

var streams atomic.Int64

// uniqueConfig names a stream of its own for one test, replicated on three
// nodes.
func uniqueConfig() jetstream.Config {
	n := streams.Add(1)
	return jetstream.Config{
		Stream:   fmt.Sprintf("EVENTS_%d", n),
		Subject:  fmt.Sprintf("test%d.events", n),
		Replicas: 3,
	}
}

// connect connects to the cluster, closing the connection when the test
// ends.
func connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(cluster.URL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatalf("nats.Connect() = %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// open opens a Log with cfg on a connection of its own.
func open(t testing.TB, cfg jetstream.Config, opts eventlog.Options) *jetstream.Log {
	t.Helper()
	l, err := jetstream.New(context.Background(), connect(t), cfg, opts)
	if err != nil {
		t.Fatalf("jetstream.New() = %v", err)
	}
	return l
}

func TestContract(t *testing.T) {
	eventlogtest.Run(t, func(t *testing.T, opts eventlog.Options) (eventlog.Log, func(t *testing.T) eventlog.Log) {
		cfg := uniqueConfig()
		reopen := func(t *testing.T) eventlog.Log { return open(t, cfg, opts) }
		return open(t, cfg, opts), reopen
	})
}
