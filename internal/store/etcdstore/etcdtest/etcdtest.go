// Package etcdtest runs a real etcd cluster on loopback for tests: members
// started in-process with go.etcd.io/etcd/server/v3/embed, data in a
// temporary directory, ports chosen free, stopped by Close. A package's
// TestMain starts one cluster (Main) and its tests share it, each under a
// key prefix of its own (Prefix), so they can run in parallel.
package etcdtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is a running etcd cluster whose members listen on 127.0.0.1.
type Cluster struct {
	dir     string
	members []*Member
}

// Member is one etcd server of a Cluster.
type Member struct {
	Name     string
	Endpoint string // client URL, http://127.0.0.1:port (https with Options.TLS)
	etcd     *embed.Etcd
	stopped  atomic.Bool
}

// Stop stops the member (as if its machine died); the cluster keeps a
// quorum while a majority runs. Stopping twice does nothing.
func (m *Member) Stop() {
	if m.stopped.CompareAndSwap(false, true) {
		m.etcd.Close()
	}
}

// Options configure StartWith.
type Options struct {
	// Fsync makes the members sync their write-ahead log to disk like a
	// production member (benchmarks); tests leave it off.
	Fsync bool
	// MaxTxnOps is the members' --max-txn-ops; 0 is etcd's default (128).
	MaxTxnOps int
	// MaxRequestBytes is the members' --max-request-bytes; 0 is etcd's
	// default (1.5 MiB).
	MaxRequestBytes int
	// TLS, when set, makes the members serve their client URLs over
	// https (the peers still talk plain http on loopback).
	TLS *TLS
	// RootPassword, when set, turns on etcd's auth: the user root, with
	// this password and the root role, is the only user.
	RootPassword string
}

// TLS are the PEM files of a cluster serving its clients over https.
type TLS struct {
	// CertFile and KeyFile are the members' certificate (valid for
	// 127.0.0.1) and its key.
	CertFile, KeyFile string
	// CAFile is the CA the members' certificate chains to and, with
	// ClientCertAuth, the one clients' certificates must chain to.
	CAFile string
	// ClientCertAuth makes the members refuse a client without a
	// certificate of CAFile.
	ClientCertAuth bool
	// ClientCertFile and ClientKeyFile are the client certificate the
	// harness itself connects with (to turn on auth), with ClientCertAuth.
	ClientCertFile, ClientKeyFile string
}

// Start starts a cluster of n members with data under a new temporary
// directory, waits until it has a leader and returns it. A failure to
// bind a port chosen free (taken by another process meanwhile) is retried.
func Start(n int) (*Cluster, error) { return StartWith(n, Options{}) }

// StartWith is Start with options.
func StartWith(n int, o Options) (*Cluster, error) {
	var err error
	for range 3 {
		var c *Cluster
		if c, err = start(n, o); err == nil {
			return c, nil
		}
	}
	return nil, err
}

func start(n int, o Options) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "etcdtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	ports, err := freePorts(2 * n)
	if err != nil {
		c.Close()
		return nil, err
	}
	names := make([]string, n)
	var initial []string
	for i := range n {
		names[i] = fmt.Sprintf("m%d", i)
		initial = append(initial, fmt.Sprintf("%s=http://127.0.0.1:%d", names[i], ports[2*i]))
	}
	cfgs := make([]*embed.Config, n)
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = names[i]
		cfg.Dir = filepath.Join(dir, names[i])
		peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i])}
		client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])}
		if o.TLS != nil {
			client.Scheme = "https"
			cfg.ClientTLSInfo = transport.TLSInfo{CertFile: o.TLS.CertFile, KeyFile: o.TLS.KeyFile,
				TrustedCAFile: o.TLS.CAFile, ClientCertAuth: o.TLS.ClientCertAuth}
		}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = filepath.Base(dir)
		cfg.ClusterState = embed.ClusterStateFlagNew
		// Loopback is fast but the machine may be loaded (tests run with
		// -race beside other builds): etcd's default heartbeat and
		// election timeout, no fsync unless asked (the data dies with the
		// test).
		cfg.TickMs, cfg.ElectionMs = 100, 1000
		cfg.UnsafeNoFsync = !o.Fsync
		// The cheapest password hashing: every connection with auth
		// checks the password, and members in a -race test binary hash
		// slowly.
		cfg.BcryptCost = 4 // bcrypt.MinCost
		if o.MaxTxnOps > 0 {
			cfg.MaxTxnOps = uint(o.MaxTxnOps)
		}
		if o.MaxRequestBytes > 0 {
			cfg.MaxRequestBytes = uint(o.MaxRequestBytes)
		}
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfgs[i] = cfg
	}
	errs := make(chan error, n)
	c.members = make([]*Member, n)
	for i, cfg := range cfgs {
		go func() {
			e, err := embed.StartEtcd(cfg)
			if err == nil {
				c.members[i] = &Member{Name: cfg.Name, Endpoint: cfg.AdvertiseClientUrls[0].String(), etcd: e}
			}
			errs <- err
		}()
	}
	for range n {
		err = errors.Join(err, <-errs)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("start etcd cluster: %w", err)
	}
	timeout := time.After(60 * time.Second)
	for _, m := range c.members {
		select {
		case <-m.etcd.Server.ReadyNotify():
		case err := <-m.etcd.Err():
			c.Close()
			return nil, fmt.Errorf("etcd member %s: %w", m.Name, err)
		case <-timeout:
			c.Close()
			return nil, errors.New("etcd cluster not ready after 60s")
		}
	}
	if o.RootPassword != "" {
		if err := c.enableAuth(o); err != nil {
			c.Close()
			return nil, fmt.Errorf("etcd auth: %w", err)
		}
	}
	return c, nil
}

// enableAuth adds the user root with o.RootPassword and turns auth on.
func (c *Cluster) enableAuth(o Options) error {
	cfg := clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 10 * time.Second, Logger: zap.NewNop()}
	if o.TLS != nil {
		tc, err := transport.TLSInfo{CertFile: o.TLS.ClientCertFile, KeyFile: o.TLS.ClientKeyFile, TrustedCAFile: o.TLS.CAFile}.ClientConfig()
		if err != nil {
			return err
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.UserAdd(ctx, "root", o.RootPassword); err != nil {
		return err
	}
	if _, err := cli.UserGrantRole(ctx, "root", "root"); err != nil {
		return err
	}
	_, err = cli.AuthEnable(ctx)
	return err
}

// freePorts returns n distinct ports free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Endpoints returns the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.Endpoint)
	}
	return eps
}

// Members returns the cluster's members, in start order.
func (c *Cluster) Members() []*Member { return c.members }

// Leader returns the running member that is the cluster's Raft leader, or
// nil while there is none (an election is under way).
func (c *Cluster) Leader() *Member {
	for _, m := range c.members {
		if !m.stopped.Load() && m.etcd.Server.Leader() == m.etcd.Server.MemberID() {
			return m
		}
	}
	return nil
}

// Close stops every member and removes the data.
func (c *Cluster) Close() {
	for _, m := range c.members {
		if m != nil {
			m.Stop()
		}
	}
	os.RemoveAll(c.dir)
}

// Main starts a 3-member cluster, stores it in *c, runs the package's
// tests and stops the cluster; it returns the exit code for os.Exit:
//
//	var cluster *etcdtest.Cluster
//	func TestMain(m *testing.M) { os.Exit(etcdtest.Main(m, &cluster)) }
func Main(m *testing.M, c **Cluster) int {
	flag.Parse()
	began := time.Now()
	cl, err := Start(3)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		return 1
	}
	defer cl.Close()
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "etcdtest: 3-member cluster ready in %v\n", time.Since(began).Round(time.Millisecond))
	}
	*c = cl
	return m.Run()
}

var prefixes atomic.Uint64

// Prefix returns a key prefix no other test of this process uses, named
// after the test: "/t/<n>-<test name>".
func Prefix(t testing.TB) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("/t/%d-%s", prefixes.Add(1), name)
}
