package syncer

import (
	"sync"
	"sync/atomic"
	"time"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// Info describes a connected SDK.
type Info struct {
	SDKName    string
	SDKVersion string
	Peer       string
	KeyID      string
	// Relay is the name of the relay whose stream this is (its key's
	// name), "" for an SDK. A relay's stream is not counted in convergence;
	// the streams it reports are (SetReport).
	Relay string
}

// maxInfoLen bounds what a stream keeps of the strings an SDK sends.
const maxInfoLen = 64

// clip shortens s to maxInfoLen bytes and copies it, so that a stream does
// not pin the message it came in.
func clip(s string) string {
	if len(s) > maxInfoLen {
		s = s[:maxInfoLen]
	}
	return string([]byte(s))
}

// Stream is one connected SDK. Its mailbox holds no revision of its own:
// a publish marks it (a non-blocking send on a one-slot channel) and the
// stream reads the environment's latest revision when it is ready to send,
// so a slow stream skips to the newest revision and never holds up the
// publisher or other streams.
type Stream struct {
	// ID identifies the stream in convergence reports.
	ID string
	// Info is what the SDK said about itself and where it connects from.
	Info Info
	// Since is when the stream joined.
	Since time.Time
	// MaxAge is how long the stream may live, jitter included; after it the
	// hub ends the stream with ErrMaxAge and the SDK reconnects.
	MaxAge time.Duration

	env   *envHub
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
	err   error // why the hub ended the stream; set before done is closed
	acked atomic.Uint64
	sent  atomic.Pointer[Revision]

	noticeMu sync.Mutex
	notices  []*sdkpb.SyncResponse // release notices not sent yet, oldest first

	report atomic.Pointer[relayReport] // a relay's last report
}

// Wake is marked when the environment has a newer revision than the one
// last sent.
func (s *Stream) Wake() <-chan struct{} { return s.wake }

// Done is closed when the hub ends the stream: its key was revoked, its
// environment deleted, the server is shutting down, or the stream reached
// its maximum age (ErrMaxAge). Err says why.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err returns why the hub ended the stream, once Done is closed.
func (s *Stream) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Latest returns the environment's current revision.
func (s *Stream) Latest() *Revision { return s.env.current.Load() }

// Sent returns the revision last sent on the stream, or nil.
func (s *Stream) Sent() *Revision { return s.sent.Load() }

// MarkSent records that r was sent: the SDK will hold exactly its sections.
func (s *Stream) MarkSent(r *Revision) { s.sent.Store(r) }

// Ack records that the SDK applied revision n. An ack for a revision not
// sent on this stream, or older than the last ack, is ignored; another
// changes what the hub reports (Hub.Report).
func (s *Stream) Ack(n uint64) {
	sent := s.sent.Load()
	if sent == nil || n > sent.Number {
		return
	}
	for {
		old := s.acked.Load()
		if n <= old {
			return
		}
		if s.acked.CompareAndSwap(old, n) {
			break
		}
	}
	if s.Info.Relay == "" {
		s.env.roster.Notify() // a relay's own stream is not reported
	}
}

// Acked returns the last revision the SDK acknowledged on the stream.
func (s *Stream) Acked() uint64 { return s.acked.Load() }

// addNotice queues a release notice, dropping the oldest beyond
// maxPendingNotices, and marks the mailbox.
func (s *Stream) addNotice(msg *sdkpb.SyncResponse) {
	s.noticeMu.Lock()
	if len(s.notices) == maxPendingNotices {
		s.notices = append(s.notices[:0], s.notices[1:]...)
	}
	s.notices = append(s.notices, msg)
	s.noticeMu.Unlock()
	s.notify()
}

// TakeNotices returns, oldest first, the queued release notices whose
// revision is at most upTo (the revision sent on the stream), and keeps
// the others: a notice goes out only after the ruleset of the revision its
// step made, so an SDK never hears of a step before it serves it. The
// revision a kept notice waits for marks the mailbox when it is published.
func (s *Stream) TakeNotices(upTo uint64) []*sdkpb.SyncResponse {
	s.noticeMu.Lock()
	defer s.noticeMu.Unlock()
	var out, keep []*sdkpb.SyncResponse
	for _, n := range s.notices {
		if n.GetRelease().GetRevision() <= upTo {
			out = append(out, n)
		} else {
			keep = append(keep, n)
		}
	}
	s.notices = keep
	return out
}

// notify marks the mailbox without blocking.
func (s *Stream) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end ends the stream with err; the first call wins.
func (s *Stream) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.done)
	})
}
