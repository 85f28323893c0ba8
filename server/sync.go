package server

import (
	"cmp"
	"context"
	"errors"
	"io"
	"runtime"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // registers gzip, for other clients
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/auth"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/syncer"
	_ "github.com/switchyard/switchyard/internal/wirezip" // registers the SDK's compressor
)

// helloTimeout is how long a new sync stream may take to say hello.
const helloTimeout = 10 * time.Second

// The bounds of GetConvergenceRequest.max_streams.
const (
	defaultConvergenceStreams = 100
	maxConvergenceStreams     = 1000
)

// syncService streams rulesets to SDKs through the hub and reports how far
// they are.
type syncService struct {
	sdkpb.UnimplementedSyncServiceServer
	*Server
}

var _ sdkpb.SyncServiceServer = (*syncService)(nil)

// Sync serves one SDK stream: hello, the ruleset the SDK lacks, then every
// newer revision and every release step of the environment, until the
// stream's maximum age, the SDK leaving, the key being revoked or the
// server stopping. A relay key's stream follows the environment its Hello
// names and carries the environment's key set (KeySet) first and again
// whenever the set changes, always before the rulesets of the revisions
// made after the change: a relay that serves a revision has every key
// revocation made before it.
//
// A stream costs one goroutine, this handler. Idle, it waits for the next
// revision (gRPC cancels the stream's context when the SDK goes away, so
// nothing needs to sit in Recv); after each ruleset it sends, it receives
// the SDK's acknowledgement. Revisions published meanwhile wait in the
// stream's latest-wins mailbox, so a slow SDK holds up nobody but itself.
// A relay's stream costs a second goroutine, which receives its
// acknowledgements and its reports of the SDKs behind it (RelayReport,
// counted in convergence under the relay key's name) at any time.
func (s *syncService) Sync(stream sdkpb.SyncService_SyncServer) error {
	ctx := stream.Context()
	c := callerFrom(ctx)
	free, err := s.streams.acquire(c.principal.KeyID, c.principal.Name)
	if err != nil {
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	defer free()
	hello, err := awaitHello(ctx, stream)
	if err != nil {
		return err
	}
	project, env, err := auth.Scope(&c.principal, hello.GetProject(), hello.GetEnvironment())
	if err != nil {
		return err
	}
	// A relay's stream carries the environment's key hashes too.
	relay := c.principal.Kind == auth.KindRelay
	var keysSent *sdkpb.SyncResponse
	info := syncer.Info{SDKName: hello.GetSdkName(), SDKVersion: hello.GetSdkVersion(), Peer: c.peer, KeyID: c.principal.KeyID}
	if relay {
		info.Relay = cmp.Or(c.principal.Name, c.principal.KeyID)
	}
	st, err := s.sync.Join(project, env, info)
	if err != nil {
		return err
	}
	defer s.sync.Leave(st)
	// A relay's stream is read all the time (relayReads), for its reports;
	// an SDK's only for the ack after each ruleset.
	var readErr <-chan error
	if relay {
		readErr = relayReads(stream, st)
	}

	protocol := hello.GetProtocolVersion()
	rev := st.Latest()
	if err := rev.Refuses(protocol); err != nil {
		return err
	}
	if relay {
		if keysSent, err = sendKeys(stream, st, nil); err != nil {
			return endOf(err)
		}
	}
	if err := send(stream, st, rev, rev.MessageHolding(hello.GetRevision(), hello.GetSections(), protocol), protocol, !relay); err != nil {
		return endOf(err)
	}
	for {
		select {
		case <-st.Wake():
			if relay {
				if keysSent, err = sendKeys(stream, st, keysSent); err != nil {
					return endOf(err)
				}
			}
			if rev, sent := st.Latest(), st.Sent(); rev != sent {
				if err := rev.Refuses(protocol); err != nil {
					return err
				}
				if err := send(stream, st, rev, rev.MessageFrom(sent, protocol), protocol, !relay); err != nil {
					return endOf(err)
				}
			}
			// Release notices come after the revision their step made.
			var upTo uint64
			if sent := st.Sent(); sent != nil {
				upTo = sent.Number
			}
			for _, msg := range st.TakeNotices(upTo) {
				if err := stream.Send(msg); err != nil {
					return endOf(err)
				}
			}
		case err := <-readErr:
			return endOf(err)
		case <-st.Done():
			if err := st.Err(); !errors.Is(err, syncer.ErrMaxAge) {
				return err
			}
			// A clean end: the SDK reconnects at once (load rebalancing).
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// send sends revision rev as msg, in parts for an SDK of a protocol that
// reads them (syncer.Revision.Parts), and, with awaitAck, receives the
// SDK's acknowledgement.
func send(stream sdkpb.SyncService_SyncServer, st *syncer.Stream, rev *syncer.Revision, msg *sdkpb.SyncResponse, protocol uint32, awaitAck bool) error {
	st.MarkSent(rev)
	for _, part := range rev.Parts(msg, protocol) {
		if err := sendPart(stream, rev, part); err != nil {
			return err
		}
	}
	if !awaitAck {
		return nil
	}
	in, err := stream.Recv()
	if err != nil {
		return err
	}
	ack := in.GetAck()
	if ack == nil {
		return status.Error(codes.InvalidArgument, "sync: expected an ack")
	}
	st.Ack(ack.GetRevision())
	return nil
}

// sendPart sends msg, a message of rev. A message the revision shares
// between streams is marshaled and compressed once for all of them
// (syncer.Revision.Encoded), as a grpc.PreparedMsg for the compressor the
// stream uses.
func sendPart(stream sdkpb.SyncService_SyncServer, rev *syncer.Revision, msg *sdkpb.SyncResponse) error {
	name, ok := sendCompressor(stream.Context())
	if !ok {
		return stream.SendMsg(rev.WithPayloads(msg))
	}
	enc, err := rev.Encoded(msg, name, func(msg *sdkpb.SyncResponse) (any, error) {
		pm := new(grpc.PreparedMsg)
		if err := pm.Encode(stream, msg); err != nil {
			return nil, err
		}
		return pm, nil
	})
	if err != nil {
		return err
	}
	defer runtime.KeepAlive(enc) // shared with other streams until sent
	return stream.SendMsg(enc.Value)
}

// sendKeys sends the environment's key set when it is not sent, the one
// last sent on the stream, and returns the one sent since.
func sendKeys(stream sdkpb.SyncService_SyncServer, st *syncer.Stream, sent *sdkpb.SyncResponse) (*sdkpb.SyncResponse, error) {
	keys := st.Keys()
	if keys == nil || keys == sent {
		return sent, nil
	}
	if err := stream.Send(keys); err != nil {
		return sent, err
	}
	return keys, nil
}

// relayReads receives a relay's acknowledgements and reports (RelayReport)
// until the stream ends, in a goroutine of its own, and returns a channel
// that yields why it stopped: a receive error (io.EOF: the relay closed
// its side) or a message a relay may not send.
func relayReads(stream sdkpb.SyncService_SyncServer, st *syncer.Stream) <-chan error {
	out := make(chan error, 1)
	go func() {
		for {
			in, err := stream.Recv()
			if err != nil {
				out <- err
				return
			}
			switch m := in.GetMessage().(type) {
			case *sdkpb.SyncRequest_Ack:
				st.Ack(m.Ack.GetRevision())
			case *sdkpb.SyncRequest_RelayReport:
				if err := st.SetReport(m.RelayReport); err != nil {
					out <- status.Error(codes.InvalidArgument, err.Error())
					return
				}
			default:
				out <- status.Error(codes.InvalidArgument, "sync: expected an ack or a relay report")
				return
			}
		}
	}()
	return out
}

// sendCompressor names the compressor gRPC compresses the stream's
// messages with: the one the client sends with when this server has it
// registered (wirezip, which the SDK uses, or gzip), else none. A PreparedMsg holds
// its compressed bytes, so streams share one only when they compress
// alike; ok is false when the transport does not say.
func sendCompressor(ctx context.Context) (name string, ok bool) {
	ts, ok := grpc.ServerTransportStreamFromContext(ctx).(interface{ RecvCompress() string })
	if !ok {
		return "", false
	}
	name = ts.RecvCompress()
	if name == "" || encoding.GetCompressor(name) == nil {
		return encoding.Identity, true
	}
	return name, true
}

// endOf is the handler's result for a send error: io.EOF means the SDK
// closed its side, a clean end.
func endOf(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// received is one message from the SDK, or why none came.
type received struct {
	msg *sdkpb.SyncRequest
	err error
}

// awaitHello receives the first message, which must be a Hello, within
// helloTimeout. A helper goroutine receives it, so that the wait can time
// out; it ends with the stream.
func awaitHello(ctx context.Context, stream sdkpb.SyncService_SyncServer) (*sdkpb.Hello, error) {
	in := make(chan received, 1)
	go func() {
		msg, err := stream.Recv()
		in <- received{msg: msg, err: err}
	}()
	timer := time.NewTimer(helloTimeout)
	defer timer.Stop()
	select {
	case r := <-in:
		switch {
		case errors.Is(r.err, io.EOF):
			return nil, status.Error(codes.InvalidArgument, "sync: stream closed before hello")
		case r.err != nil:
			return nil, r.err
		case r.msg.GetHello() == nil:
			return nil, status.Error(codes.InvalidArgument, "sync: the first message must be a hello")
		}
		return r.msg.GetHello(), nil
	case <-timer.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "sync: no hello within %s", helloTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// GetConvergence reports how many of an environment's connected SDKs have
// applied a revision.
func (s *syncService) GetConvergence(_ context.Context, req *sdkpb.GetConvergenceRequest) (*sdkpb.Convergence, error) {
	if req.GetProject() == "" {
		return nil, invalidField("project", "is required")
	}
	if req.GetEnvironment() == "" {
		return nil, invalidField("environment", "is required")
	}
	limit := int(req.GetMaxStreams())
	switch {
	case limit < 0:
		return nil, invalidField("max_streams", "must not be negative")
	case limit == 0:
		limit = defaultConvergenceStreams
	case limit > maxConvergenceStreams:
		limit = maxConvergenceStreams
	}
	c, err := s.sync.Convergence(req.GetProject(), req.GetEnvironment(), req.GetRevision(), limit)
	if err != nil {
		return nil, err
	}
	out := &sdkpb.Convergence{
		Project:     req.GetProject(),
		Environment: req.GetEnvironment(),
		Revision:    c.Revision,
		Connected:   int32(c.Connected),
		Converged:   int32(c.Converged),
		Streams:     make([]*sdkpb.SdkStream, len(c.Streams)),
	}
	for i, st := range c.Streams {
		out.Streams[i] = syncer.StreamMessage(st)
	}
	return out, nil
}
