// Package etcdstore is the replicated storage engine of the domain: a
// domain.Backend on an etcd cluster. A record at path a/b/c is the etcd key
// <prefix>/a/b/c; every Change is one etcd transaction; the engine revision
// is etcd's cluster revision, so replicas watching the prefix see every
// Change in the order the cluster applied them. It passes the contract
// suite in internal/store/storetest against a 3-member cluster.
package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/switchyard/switchyard/internal/domain"
)

// Options configure Open. Endpoints is required; the rest have defaults.
type Options struct {
	// Endpoints are the cluster's client URLs (http://host:2379, or https).
	Endpoints []string
	// Prefix is the key prefix of every record: it starts with '/' and does
	// not end with one. Default "/switchyard".
	Prefix string
	// TLS, when set, is used to dial the endpoints (with client
	// certificates if it carries any).
	TLS *tls.Config
	// Username and Password authenticate with etcd's auth, when set.
	Username, Password string
	// DialTimeout bounds connecting and the first request. Default 5s.
	DialTimeout time.Duration
	// MaxTxnOps and MaxRequestBytes are the cluster's --max-txn-ops and
	// --max-request-bytes (defaults 128 and 1.5 MiB, etcd's): Apply
	// refuses a Change that cannot fit one transaction with ErrTooLarge
	// before sending it. One operation of each transaction is the store's
	// revision marker (see revision).
	MaxTxnOps       int
	MaxRequestBytes int
	// LeaseTTL is the time-to-live of a Campaign's session: how long a
	// leader that stopped without resigning keeps leading. Default 10s.
	LeaseTTL time.Duration
}

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "/switchyard"

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MaxTxnOps <= 0 {
		o.MaxTxnOps = 128
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 3 << 19 // 1.5 MiB
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 10 * time.Second
	}
	return o
}

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	if len(o.Endpoints) == 0 {
		return errors.New("etcd: no endpoints")
	}
	if o.Prefix != "" && (!strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/")) {
		return fmt.Errorf("etcd prefix %q: want a leading '/' and no trailing '/'", o.Prefix)
	}
	if o.LeaseTTL != 0 && o.LeaseTTL < time.Second {
		return fmt.Errorf("etcd lease TTL %v: want at least 1s", o.LeaseTTL)
	}
	return nil
}

// ErrTooLarge means a Change does not fit one etcd transaction (more
// operations than --max-txn-ops, or more bytes than --max-request-bytes).
// Nothing was written. It matches domain.ErrTooLarge: the domain stages
// long key lists in Changes of their own and switches to them with a small
// one; what is still too large is refused with 400 (domain.ErrInvalid).
var ErrTooLarge = fmt.Errorf("over the etcd transaction limits: %w", domain.ErrTooLarge)

// Store is a domain.Backend on etcd. Its methods are safe for concurrent
// use.
type Store struct {
	cli  *clientv3.Client
	opts Options
	dir  string // opts.Prefix + "/": the start of every key
}

var _ domain.Backend = (*Store)(nil)

// Open connects to the cluster and checks it answers (a linearizable read
// within DialTimeout). If it does not and TLS is set, the error says why a
// TLS connection was refused, when one was (probeTLS). Close releases the
// connection.
func Open(ctx context.Context, o Options) (*Store, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   o.Endpoints,
		DialTimeout: o.DialTimeout,
		TLS:         o.TLS,
		Username:    o.Username,
		Password:    o.Password,
		Context:     context.WithoutCancel(ctx),
		Logger:      zap.NewNop(),
		// The client's own cap on a request (2 MiB by default) follows the
		// cluster's, with room for the gRPC framing.
		MaxCallSendMsgSize: o.MaxRequestBytes + 1<<16,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", o.Endpoints, err)
	}
	pctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	var why chan error // why TLS connections fail, if they do
	if o.TLS != nil {
		why = make(chan error, 1)
		go func() { why <- probeTLS(pctx, o.Endpoints, o.TLS) }()
	}
	if _, err := cli.Get(pctx, o.Prefix+"/", clientv3.WithCountOnly()); err != nil {
		cli.Close()
		if why != nil && pctx.Err() != nil {
			if perr := <-why; perr != nil {
				err = fmt.Errorf("%w (%w)", err, perr)
			}
		}
		return nil, fmt.Errorf("connect to etcd %v: %w", o.Endpoints, err)
	}
	return &Store{cli: cli, opts: o, dir: o.Prefix + "/"}, nil
}

// Close closes the connection; calls after Close fail.
func (s *Store) Close() error { return s.cli.Close() }

// MaxOps is the most Ops a Change may hold to fit one transaction
// (--max-txn-ops less the store's revision marker).
func (s *Store) MaxOps() int { return s.opts.MaxTxnOps - 1 }

// Client returns the store's etcd client (for status checks and tests).
func (s *Store) Client() *clientv3.Client { return s.cli }

func (s *Store) key(p domain.Path) string { return s.dir + p.String() }

// under returns the start of the keys under p ("" → every key).
func (s *Store) under(p domain.Path) string {
	if len(p) == 0 {
		return s.dir
	}
	return s.key(p) + "/"
}

func (s *Store) path(key []byte) domain.Path {
	return domain.Path(strings.Split(string(key[len(s.dir):]), "/"))
}

// value returns a record's value, never nil (nil means no record).
func value(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// pageSize is the number of records a Load or Range reads per request.
const pageSize = 256

// Load reads the records under prefix page by page, every page at the
// revision of the first, so the records come from one snapshot. If that
// revision is compacted before the last page, it returns an error
// matching domain.ErrCompacted (the caller loads again).
func (s *Store) Load(ctx context.Context, prefix domain.Path, fn func(domain.Record) error) (uint64, error) {
	from := s.under(prefix)
	end := clientv3.GetPrefixRangeEnd(from)
	var rev int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, from, opts...)
		if err != nil {
			return 0, fmt.Errorf("load %q: %w", from, mapErr(err))
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if err := fn(domain.Record{Path: s.path(kv.Key), Value: value(kv.Value)}); err != nil {
				return 0, err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			r, err := s.revision(ctx, rev)
			if err != nil {
				return 0, fmt.Errorf("load %q: %w", from, err)
			}
			return r, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// revision returns the store's revision as of the cluster revision at (0:
// now): the revision of the last Change Apply wrote under the prefix. etcd's
// revision counts the writes of the whole cluster, other prefixes' too; a
// reader that waits for "the current revision" must be given one its
// Watch will deliver. So every Change also writes the marker key, the
// prefix itself (outside every path), and its ModRevision is the store's
// revision. Without a marker (nothing written yet) it is the cluster's.
func (s *Store) revision(ctx context.Context, at int64) (uint64, error) {
	var opts []clientv3.OpOption
	if at != 0 {
		opts = append(opts, clientv3.WithRev(at))
	}
	resp, err := s.cli.Get(ctx, s.opts.Prefix, opts...)
	if err != nil {
		return 0, mapErr(err)
	}
	if len(resp.Kvs) == 0 {
		if at != 0 {
			return uint64(at), nil
		}
		return uint64(resp.Header.Revision), nil
	}
	return uint64(resp.Kvs[0].ModRevision), nil
}

// Get reads the record at path (a linearizable read: it sees every Change
// applied before it began, on any member).
func (s *Store) Get(ctx context.Context, path domain.Path) ([]byte, error) {
	resp, err := s.cli.Get(ctx, s.key(path))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", path, mapErr(err))
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return value(resp.Kvs[0].Value), nil
}

// GetMany reads the records at paths with transactions of gets, at most
// MaxTxnOps each: the first gives the revision the others read at, and
// those are sent at once. So n paths cost 1 + ceil(n/MaxTxnOps - 1)
// requests, in two round trips.
func (s *Store) GetMany(ctx context.Context, paths []domain.Path) ([][]byte, error) {
	out := make([][]byte, len(paths))
	if len(paths) == 0 {
		return out, nil
	}
	read := func(lo int, rev int64) (int64, error) {
		hi := min(lo+s.opts.MaxTxnOps, len(paths))
		gets := make([]clientv3.Op, 0, hi-lo)
		for _, p := range paths[lo:hi] {
			var opts []clientv3.OpOption
			if rev != 0 {
				opts = append(opts, clientv3.WithRev(rev))
			}
			gets = append(gets, clientv3.OpGet(s.key(p), opts...))
		}
		resp, err := s.cli.Txn(ctx).Then(gets...).Commit()
		if err != nil {
			return 0, fmt.Errorf("get %d records: %w", hi-lo, mapErr(err))
		}
		for i, r := range resp.Responses {
			if kvs := r.GetResponseRange().GetKvs(); len(kvs) > 0 {
				out[lo+i] = value(kvs[0].Value)
			}
		}
		return resp.Header.Revision, nil
	}
	rev, err := read(0, 0)
	if err != nil {
		return nil, err
	}
	errs := make(chan error, len(paths)/s.opts.MaxTxnOps+1)
	n := 0
	for lo := s.opts.MaxTxnOps; lo < len(paths); lo += s.opts.MaxTxnOps {
		n++
		go func() {
			_, err := read(lo, rev)
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	return out, nil
}

// Range reads the records directly under prefix page by page at one
// revision. A key deeper than prefix's children (prefix/x/y) is skipped
// with the whole subtree of prefix/x in one step: the next page starts
// past it.
func (s *Store) Range(ctx context.Context, prefix domain.Path, from string, limit int, reverse bool, fn func(domain.Record) error) error {
	dir := s.under(prefix)
	lo, hi := dir+from, clientv3.GetPrefixRangeEnd(dir)
	if reverse {
		lo = dir
		if from != "" {
			hi = dir + from + "\x00"
		}
	}
	var rev int64
	n := 0
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(hi), clientv3.WithLimit(pageSize)}
		if reverse {
			opts = append(opts, clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
		}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, lo, opts...)
		if err != nil {
			return fmt.Errorf("range %q: %w", dir, mapErr(err))
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		skipped := false
		for _, kv := range resp.Kvs {
			child := string(kv.Key[len(dir):])
			if i := strings.IndexByte(child, '/'); i >= 0 {
				// Deeper: step over the subtree of dir+child[:i].
				if reverse {
					hi = dir + child[:i+1]
				} else {
					lo = dir + child[:i] + "0" // '0' follows '/'
				}
				skipped = true
				break
			}
			if err := fn(domain.Record{Path: s.path(kv.Key), Value: value(kv.Value)}); err != nil {
				return err
			}
			if n++; limit > 0 && n == limit {
				return nil
			}
		}
		if skipped {
			continue
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		last := string(resp.Kvs[len(resp.Kvs)-1].Key)
		if reverse {
			hi = last
		} else {
			lo = last + "\x00"
		}
	}
}

// maxAttempts bounds Apply's retries when a tree it expanded into single
// deletes changed meanwhile (see plan).
const maxAttempts = 10

// Apply writes c in one etcd transaction: If every Cond holds (a Value
// compare, or CreateRevision = 0 for an absent record), Then the puts and
// deletes, a Tree delete as a prefix delete. It returns the transaction's
// revision.
//
// etcd refuses a transaction that writes a key twice or puts a key inside
// a range it deletes; Apply first reduces c to the final write of each
// key, in order (a later op overrides an earlier one on the same key, a
// Tree delete drops the earlier writes under it). When a put still falls
// under an earlier Tree delete (a tree replaced by new content), the Tree
// is expanded into single deletes of the keys it holds at a revision R,
// guarded by "nothing under the tree was written after R" in an outer
// transaction around c's own; a guard that fails is retried, a Cond that
// fails is ErrCondition.
func (s *Store) Apply(ctx context.Context, c domain.Change) (uint64, error) {
	if len(c.Ops) == 0 {
		rev, err := s.revision(ctx, 0)
		if err != nil {
			return 0, fmt.Errorf("apply: %w", err)
		}
		return rev, nil
	}
	cmps := make([]clientv3.Cmp, 0, len(c.Conds))
	size := 0
	for _, cd := range c.Conds {
		k := s.key(cd.Path)
		if cd.Value == nil {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
		} else {
			cmps = append(cmps, clientv3.Compare(clientv3.Value(k), "=", string(cd.Value)))
		}
		size += len(k) + len(cd.Value) + opOverhead
	}
	ops := reduce(c.Ops)
	for attempt := 1; ; attempt++ {
		guards, then, err := s.plan(ctx, ops)
		if err != nil {
			return 0, err
		}
		then = append(then, clientv3.OpPut(s.opts.Prefix, ""))
		if err := s.fits(len(cmps), len(then), size+opsSize(then)); err != nil {
			return 0, err
		}
		if len(guards) == 0 {
			resp, err := s.cli.Txn(ctx).If(cmps...).Then(then...).Commit()
			if err != nil {
				return 0, fmt.Errorf("apply: %w", mapErr(err))
			}
			if !resp.Succeeded {
				return 0, domain.ErrCondition
			}
			return uint64(resp.Header.Revision), nil
		}
		resp, err := s.cli.Txn(ctx).If(guards...).Then(clientv3.OpTxn(cmps, then, nil)).Commit()
		if err != nil {
			return 0, fmt.Errorf("apply: %w", mapErr(err))
		}
		if resp.Succeeded {
			if !resp.Responses[0].GetResponseTxn().Succeeded {
				return 0, domain.ErrCondition
			}
			return uint64(resp.Header.Revision), nil
		}
		if attempt == maxAttempts {
			return 0, fmt.Errorf("apply: a tree it replaces kept changing (%d attempts): %w", attempt, domain.ErrCondition)
		}
	}
}

// reduce returns the ops of a Change with only the last write of each key
// kept, in order; a Tree delete drops the earlier writes under it. It
// walks the ops backwards once (a Change of a thousand chunks is reduced
// in linear time): an op is dropped when a later one writes its key, or
// deletes a tree holding it.
func reduce(ops []domain.Op) []domain.Op {
	written := make(map[string]bool, len(ops)) // keys a later op writes (not Tree)
	trees := map[string]bool{}                 // trees a later op deletes
	keep := make([]bool, len(ops))
	n := 0
	for i := len(ops) - 1; i >= 0; i-- {
		op := ops[i]
		k := op.Path.String()
		covered := !op.Tree && written[k]
		for j := 0; !covered && j < len(k); j++ {
			if k[j] == '/' {
				covered = trees[k[:j]]
			}
		}
		if covered || trees[k] {
			continue
		}
		keep[i] = true
		n++
		if op.Tree {
			trees[k] = true
		} else {
			written[k] = true
		}
	}
	out := make([]domain.Op, 0, n)
	for i, op := range ops {
		if keep[i] {
			out = append(out, op)
		}
	}
	return out
}

// plan turns reduced ops into etcd ops. A Tree delete with a later put
// under it becomes single deletes of the keys under it now (at revision
// R), with a guard that none of them was written after R.
func (s *Store) plan(ctx context.Context, ops []domain.Op) (guards []clientv3.Cmp, then []clientv3.Op, err error) {
	for i, op := range ops {
		k := s.key(op.Path)
		switch {
		case op.Value != nil:
			then = append(then, clientv3.OpPut(k, string(op.Value)))
		case !op.Tree:
			then = append(then, clientv3.OpDelete(k))
		case !putAt(ops[i+1:], op.Path) && !putUnder(ops[i+1:], op.Path):
			then = append(then, clientv3.OpDelete(k), clientv3.OpDelete(k+"/", clientv3.WithPrefix()))
		case !putUnder(ops[i+1:], op.Path):
			then = append(then, clientv3.OpDelete(k+"/", clientv3.WithPrefix()))
		default:
			resp, err := s.cli.Get(ctx, k+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
			if err != nil {
				return nil, nil, fmt.Errorf("apply: read tree %s: %w", op.Path, mapErr(err))
			}
			rev := resp.Header.Revision
			guards = append(guards,
				clientv3.Compare(clientv3.ModRevision(k+"/"), "<", rev+1).WithPrefix(),
				clientv3.Compare(clientv3.ModRevision(k), "<", rev+1))
			if !putAt(ops[i+1:], op.Path) {
				then = append(then, clientv3.OpDelete(k))
			}
			for _, kv := range resp.Kvs {
				if !putAt(ops[i+1:], s.path(kv.Key)) {
					then = append(then, clientv3.OpDelete(string(kv.Key)))
				}
			}
		}
	}
	return guards, then, nil
}

// putUnder reports whether ops put a record under tree.
func putUnder(ops []domain.Op, tree domain.Path) bool {
	pfx := tree.String() + "/"
	return slices.ContainsFunc(ops, func(o domain.Op) bool {
		return o.Value != nil && strings.HasPrefix(o.Path.String(), pfx)
	})
}

// putAt reports whether ops write (put or delete) the record at p
// itself.
func putAt(ops []domain.Op, p domain.Path) bool {
	return slices.ContainsFunc(ops, func(o domain.Op) bool { return !o.Tree && slices.Equal(o.Path, p) })
}

// opOverhead is a generous bound of the protobuf framing of one compare or
// request op of a transaction, beside its key and value.
const opOverhead = 32

func opsSize(ops []clientv3.Op) int {
	n := 0
	for _, op := range ops {
		n += len(op.KeyBytes()) + len(op.ValueBytes()) + len(op.RangeBytes()) + opOverhead
	}
	return n
}

// fits checks a transaction against the cluster's limits.
func (s *Store) fits(conds, ops, size int) error {
	if conds > s.opts.MaxTxnOps || ops > s.opts.MaxTxnOps {
		return fmt.Errorf("%d conditions, %d writes (limit %d each): %w", conds, ops, s.opts.MaxTxnOps, ErrTooLarge)
	}
	if size > s.opts.MaxRequestBytes {
		return fmt.Errorf("%d bytes (limit %d): %w", size, s.opts.MaxRequestBytes, ErrTooLarge)
	}
	return nil
}

// Watch follows the prefix from revision+1. etcd sends the events of one
// transaction together; each group of events of one revision is one
// domain.Applied (a Tree delete arrives as the deletes of its records).
// A watch broken by a lost leader or connection resumes from the last
// revision delivered.
func (s *Store) Watch(ctx context.Context, revision uint64, fn func(domain.Applied) error) error {
	next := int64(revision) + 1
	for {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		err := s.follow(s.cli.Watch(wctx, s.dir, clientv3.WithPrefix(), clientv3.WithRev(next)), &next, fn)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return err
		case s.cli.Ctx().Err() != nil:
			return fmt.Errorf("watch: %w", s.cli.Ctx().Err())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// follow delivers a watch's events until the channel closes (nil: resume)
// or an error that ends the Watch.
func (s *Store) follow(wch clientv3.WatchChan, next *int64, fn func(domain.Applied) error) error {
	for wresp := range wch {
		if wresp.CompactRevision != 0 {
			return fmt.Errorf("watch from revision %d (compacted up to %d): %w", *next, wresp.CompactRevision, domain.ErrCompacted)
		}
		if err := wresp.Err(); err != nil {
			if errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrGRPCNoLeader) {
				return nil
			}
			return fmt.Errorf("watch: %w", mapErr(err))
		}
		evs := wresp.Events
		for len(evs) > 0 {
			rev := evs[0].Kv.ModRevision
			n := 1
			for n < len(evs) && evs[n].Kv.ModRevision == rev {
				n++
			}
			a := domain.Applied{Revision: uint64(rev), Ops: make([]domain.Op, n)}
			for i, ev := range evs[:n] {
				a.Ops[i].Path = s.path(ev.Kv.Key)
				if ev.Type == mvccpb.PUT {
					a.Ops[i].Value = value(ev.Kv.Value)
				}
			}
			if err := fn(a); err != nil {
				return err
			}
			*next = rev + 1
			evs = evs[n:]
		}
	}
	return nil
}

// mapErr maps etcd's errors onto the domain's: a compacted revision is
// domain.ErrCompacted, a transaction over the cluster's limits ErrTooLarge.
func mapErr(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %w", domain.ErrCompacted, err)
	case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}
