package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/certs"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
)

// storeConfig chooses the storage engine of 'serve': the embedded bbolt
// file (--db) or an etcd cluster shared by several replicas.
type storeConfig struct {
	// Engine is "bolt" or "etcd".
	Engine string
	// Etcd configures the etcd engine.
	Etcd etcdConfig
}

// etcdConfig holds the --etcd-* settings.
type etcdConfig struct {
	Endpoints   []string
	Prefix      string
	TLS         certs.ClientFiles
	Username    string
	Password    string
	DialTimeout time.Duration
	// MaxTxnOps and MaxRequestBytes are the cluster's --max-txn-ops and
	// --max-request-bytes (0: etcd's defaults, 128 and 1.5 MiB).
	MaxTxnOps       int
	MaxRequestBytes int
	// CompactEvery and CompactKeep: every CompactEvery, the history older
	// than the last CompactKeep revisions is compacted (0: never).
	CompactEvery time.Duration
	CompactKeep  int64
	// LeaseTTL is the leader's election lease: a leader that dies without
	// resigning keeps leading until it expires (the failover time).
	LeaseTTL time.Duration
}

func defaultStoreConfig() storeConfig {
	return storeConfig{Engine: "bolt", Etcd: etcdConfig{Prefix: etcdstore.DefaultPrefix, DialTimeout: 5 * time.Second,
		CompactEvery: 5 * time.Minute, CompactKeep: 100_000, LeaseTTL: 5 * time.Second}}
}

// registerStoreFlags registers the flags of the storage engine on fs.
func (c *storeConfig) registerStoreFlags(fs *pflag.FlagSet) {
	e := &c.Etcd
	fs.StringVar(&c.Engine, "store", c.Engine, "storage engine: bolt (the --db file) or etcd (a cluster shared by replicas: --etcd-endpoints)")
	fs.StringSliceVar(&e.Endpoints, "etcd-endpoints", e.Endpoints, "etcd client URLs, comma-separated (http://host:2379 or https://…)")
	fs.StringVar(&e.Prefix, "etcd-prefix", e.Prefix, "key prefix of every record in etcd")
	fs.StringVar(&e.TLS.CA, "etcd-ca", "", "PEM CA bundle the etcd servers' certificates chain to (https endpoints; default the system's roots)")
	fs.StringVar(&e.TLS.Cert, "etcd-cert", "", "PEM client certificate for etcd (mutual TLS), with --etcd-key")
	fs.StringVar(&e.TLS.Key, "etcd-key", "", "PEM private key of --etcd-cert")
	fs.StringVar(&e.Username, "etcd-username", "", "etcd user (etcd auth), with --etcd-password")
	fs.StringVar(&e.Password, "etcd-password", "", "password of --etcd-username (prefer SWITCHYARD_ETCD_PASSWORD)")
	fs.DurationVar(&e.DialTimeout, "etcd-dial-timeout", e.DialTimeout, "how long connecting to etcd may take at start")
	fs.IntVar(&e.MaxTxnOps, "etcd-max-txn-ops", 0, "the etcd cluster's --max-txn-ops (0: etcd's default, 128); a write that needs more is refused")
	fs.IntVar(&e.MaxRequestBytes, "etcd-max-request-bytes", 0, "the etcd cluster's --max-request-bytes (0: etcd's default, 1.5 MiB); a larger write is refused")
	fs.DurationVar(&e.CompactEvery, "etcd-compact-every", e.CompactEvery, "how often the etcd history is compacted; 0 never (then run etcd with --auto-compaction-*)")
	fs.Int64Var(&e.CompactKeep, "etcd-compact-keep", e.CompactKeep, "revisions of history kept by a compaction (a replica further behind reloads)")
	fs.DurationVar(&e.LeaseTTL, "etcd-lease-ttl", e.LeaseTTL,
		"the leader's election lease (at least 1s, whole seconds): a leader that dies keeps leading until it expires; a replica cut off from etcd this long stops its singletons")
}

// validateStore checks the storage settings.
func (c serveConfig) validateStore() error {
	switch c.Store.Engine {
	case "bolt":
		return nil
	case "etcd":
	default:
		return fmt.Errorf("--store %q: want bolt or etcd", c.Store.Engine)
	}
	e := c.Store.Etcd
	if len(e.Endpoints) == 0 {
		return errors.New("--store etcd needs --etcd-endpoints")
	}
	for _, ep := range e.Endpoints {
		if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
			return fmt.Errorf("--etcd-endpoints %q: want http:// or https:// URLs", ep)
		}
	}
	if (e.TLS.Cert == "") != (e.TLS.Key == "") {
		return errors.New("--etcd-cert and --etcd-key go together")
	}
	if (e.Username == "") != (e.Password == "") {
		return errors.New("--etcd-username and --etcd-password go together")
	}
	if e.DialTimeout <= 0 {
		return fmt.Errorf("--etcd-dial-timeout %s: must be positive", e.DialTimeout)
	}
	if e.MaxTxnOps < 0 || e.MaxRequestBytes < 0 {
		return errors.New("--etcd-max-txn-ops and --etcd-max-request-bytes must not be negative")
	}
	if e.CompactEvery < 0 || e.CompactKeep < 0 {
		return errors.New("--etcd-compact-every and --etcd-compact-keep must not be negative")
	}
	if e.LeaseTTL < time.Second || e.LeaseTTL%time.Second != 0 {
		return fmt.Errorf("--etcd-lease-ttl %s: want whole seconds, at least 1s", e.LeaseTTL)
	}
	if c.SecretKeyFile == "" {
		return errors.New("--store etcd needs --secret-key-file: every replica must hold the same keys")
	}
	return etcdstore.Options{Endpoints: e.Endpoints, Prefix: e.Prefix, LeaseTTL: e.LeaseTTL}.Validate()
}

// openBackend opens the storage engine of c. On etcd, the records the
// replicas share are in etcd, and the event log, unless it is on NATS,
// stays in the local --db file of each replica (the DB method); the
// leader compacts the etcd history (--etcd-compact-every).
func (c serveConfig) openBackend(ctx context.Context) (domain.Backend, error) {
	if c.Store.Engine != "etcd" {
		return boltstore.Open(c.DB, boltstore.Options{})
	}
	st, err := c.Store.Etcd.open(ctx)
	if err != nil {
		return nil, err
	}
	local, err := bolt.Open(c.DB, 0o600, &bolt.Options{Timeout: boltstore.DefaultLockTimeout})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open local store %q: %w", c.DB, err)
	}
	return &etcdBackend{Store: st, local: local}, nil
}

// etcdBackend is the etcd engine with the replica's local bbolt file.
type etcdBackend struct {
	*etcdstore.Store
	local *bolt.DB
}

// DB returns the local file (boltlog.File: the event log's).
func (b *etcdBackend) DB() *bolt.DB { return b.local }

// Close closes etcd and the local file.
func (b *etcdBackend) Close() error {
	return errors.Join(b.Store.Close(), b.local.Close())
}

// compaction is the etcd history's compaction, run by the leader
// (runtime.Options.Maintenance); nil when turned off.
func (c etcdConfig) compaction(st *etcdstore.Store) func(context.Context) {
	if c.CompactEvery <= 0 {
		return nil
	}
	return func(ctx context.Context) { st.RunCompaction(ctx, c.CompactEvery, c.CompactKeep) }
}

// open connects to the etcd cluster of c.
func (c etcdConfig) open(ctx context.Context) (*etcdstore.Store, error) {
	var tlsConfig *tls.Config
	if c.TLS != (certs.ClientFiles{}) || hasHTTPS(c.Endpoints) {
		var err error
		if tlsConfig, err = certs.Client(c.TLS); err != nil {
			return nil, fmt.Errorf("etcd TLS: %w", err)
		}
	}
	return etcdstore.Open(ctx, etcdstore.Options{
		Endpoints: c.Endpoints, Prefix: c.Prefix, TLS: tlsConfig,
		Username: c.Username, Password: c.Password, DialTimeout: c.DialTimeout,
		MaxTxnOps: c.MaxTxnOps, MaxRequestBytes: c.MaxRequestBytes, LeaseTTL: c.LeaseTTL,
	})
}

func hasHTTPS(endpoints []string) bool {
	for _, ep := range endpoints {
		if strings.HasPrefix(ep, "https://") {
			return true
		}
	}
	return false
}

// etcdElector elects, among the replicas on one etcd prefix, the one that
// runs the singletons (runtime.Elector): an etcd election whose record
// fences the leader's writes (domain.WithConds).
type etcdElector struct {
	store *etcdstore.Store
	// id names this replica in the election record.
	id string
}

// Campaign blocks until this replica leads. The context it returns ends
// when the leadership is lost, or, once ctx ends, when this replica has
// resigned (so the next replica in line leads at once; the singletons
// stop, and serve returns, only after that).
func (e etcdElector) Campaign(ctx context.Context) (context.Context, error) {
	l, err := e.store.Campaign(ctx, "singletons", e.id)
	if err != nil {
		return nil, err
	}
	leading, cancel := context.WithCancel(domain.WithConds(context.WithoutCancel(ctx), l.Cond))
	go func() {
		defer cancel()
		select {
		case <-l.Done():
		case <-ctx.Done():
			resignCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer done()
			l.Resign(resignCtx)
		}
	}()
	return leading, nil
}
