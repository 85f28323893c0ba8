package etcdstore

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/switchyard/switchyard/internal/domain"
)

// LeaderElem is the first path element of election records: a campaign
// for name keeps its candidates at leader/<name>/<lease id>. The domain
// keeps no records of its own there.
const LeaderElem = "leader"

// Leadership is a won election: the holder is the only leader of its name
// until Done is closed.
type Leadership struct {
	// Cond fences the leader's writes: a Change carrying it applies only
	// while this leadership holds (the leader's record still exists with
	// its value), so a deposed leader's write fails with ErrCondition.
	Cond domain.Cond

	session  *concurrency.Session
	election *concurrency.Election
	done     chan struct{}
}

// Campaign blocks until this process leads the election called name (a
// path element), or ctx is done. Leadership rests on a lease of
// Options.LeaseTTL kept alive by the client: it ends when Resign is
// called, or when the lease expires (the process died or lost the
// cluster), and is then taken by the next candidate in line. value
// identifies the candidate (a host name, a replica id); it is the leader
// record's value.
//
// Among etcd's election candidates the leader is the one whose record is
// oldest, and records are only ever deleted: so "my record still exists"
// is "I still lead", which is what Leadership.Cond checks.
func (s *Store) Campaign(ctx context.Context, name, value string) (*Leadership, error) {
	ttl := int(s.opts.LeaseTTL.Seconds())
	session, err := concurrency.NewSession(s.cli, concurrency.WithTTL(ttl), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("campaign %s: %w", name, mapErr(err))
	}
	election := concurrency.NewElection(session, s.key(domain.Path{LeaderElem, name}))
	if err := election.Campaign(ctx, value); err != nil {
		session.Close()
		return nil, fmt.Errorf("campaign %s: %w", name, mapErr(err))
	}
	l := &Leadership{
		Cond:     domain.Cond{Path: s.path([]byte(election.Key())), Value: []byte(value)},
		session:  session,
		election: election,
		done:     make(chan struct{}),
	}
	go l.watch(s.cli, election.Rev())
	return l, nil
}

// watch closes l.done when the session ends or the leader record is
// deleted (its lease revoked elsewhere).
func (l *Leadership) watch(cli *clientv3.Client, rev int64) {
	defer close(l.done)
	key := l.election.Key()
	for {
		wch := cli.Watch(l.session.Ctx(), key, clientv3.WithRev(rev+1))
		for wresp := range wch {
			if wresp.Err() != nil || wresp.CompactRevision != 0 {
				break
			}
			for _, ev := range wresp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					return
				}
			}
		}
		if l.session.Ctx().Err() != nil {
			return
		}
		// The watch broke: look at the record itself, and watch on.
		resp, err := cli.Get(l.session.Ctx(), key)
		if err == nil && len(resp.Kvs) == 0 {
			return
		}
		if err == nil {
			rev = resp.Header.Revision
		}
		select {
		case <-l.session.Done():
			return
		default:
		}
	}
}

// Done is closed when the leadership is lost (or resigned). A leader stops
// its singleton work then; its fenced writes already fail.
func (l *Leadership) Done() <-chan struct{} { return l.done }

// Resign gives the leadership up (the next candidate leads at once) and
// ends its session.
func (l *Leadership) Resign(ctx context.Context) error {
	err := l.election.Resign(ctx)
	err = errors.Join(err, l.session.Close())
	<-l.done
	return err
}
