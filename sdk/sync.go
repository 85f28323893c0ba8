package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/section"
	"github.com/switchyard/switchyard/internal/wirezip"
)

// outcome is how one sync stream ended.
type outcome struct {
	err error
	// applied counts the rulesets applied on the stream.
	applied int
	// refused means the server refused the key: status ERROR.
	refused bool
	// rotated means the server ended the stream cleanly (its maximum age)
	// after the client was in sync: reconnect at once.
	rotated bool
}

// errStreamEnded means the server ended a stream without an error.
var errStreamEnded = errors.New("the server ended the stream")

// run keeps a sync stream open until ctx is done: it reconnects with
// backoff and full jitter after failures, at once after a clean end of a
// stream that was in sync, and only every Backoff.AfterAuthError once the
// key has been refused.
func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	attempt := 0
	for ctx.Err() == nil {
		out := c.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		if out.applied > 0 {
			attempt = 0
		}
		switch {
		case out.rotated:
			c.log.Debug("stream ended by the server; reconnecting")
			continue
		case out.refused:
			c.setStatus(StatusError, out.err)
			c.log.Error("the server refused the SDK key", "err", out.err)
		default:
			c.disconnected(out.err)
		}
		var wait time.Duration
		if c.Status() == StatusError {
			if c.cfg.Backoff.AfterAuthError < 0 {
				<-ctx.Done()
				return
			}
			wait = c.cfg.Backoff.authDelay()
		} else {
			wait = c.cfg.Backoff.delay(attempt)
			attempt++
		}
		c.log.Debug("sync stream ended; reconnecting", "err", out.err, "in", wait)
		if !sleep(ctx, wait) {
			return
		}
	}
}

// disconnected sets the status after a failed stream: STALE when the client
// has a ruleset to evaluate on, NOT_READY when it has none; ERROR stays.
func (c *Client) disconnected(err error) {
	switch {
	case c.Status() == StatusError:
	case c.ruleset.Load() != nil:
		c.setStatus(StatusStale, err)
	default:
		c.setStatus(StatusNotReady, err)
	}
}

// stream runs one sync stream: hello, then apply and acknowledge every
// ruleset until the stream ends.
func (c *Client) stream(ctx context.Context) outcome {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.cfg.SDKKey)
	// Compressed both ways: the server answers with the compressor the
	// client sends with.
	s, err := c.sync.Sync(ctx, grpc.MaxCallRecvMsgSize(c.cfg.MaxMessageBytes), grpc.UseCompressor(wirezip.Name))
	if err != nil {
		return classify(err, 0)
	}
	hello := &sdkpb.Hello{SdkName: c.cfg.Name, SdkVersion: c.cfg.Version, ProtocolVersion: section.ProtocolParts, Project: c.cfg.Project, Environment: c.cfg.Environment}
	if c.held != nil {
		hello.Revision, hello.Sections = c.held.revision, c.held.refs()
	}
	if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: hello}}); err != nil {
		return classify(recvErr(s, err), 0)
	}
	out := &streamSender{s: s}
	if rr, ok := c.cfg.Relay.(relayReporter); ok {
		go reportRelay(ctx, rr, out)
	}
	applied := 0
	var parts *sdkpb.Ruleset // the parts so far of a ruleset sent in parts
	for {
		resp, err := s.Recv()
		if err != nil {
			return classify(err, applied)
		}
		if n := resp.GetRelease(); n != nil {
			c.relayRelease(n)
			c.announceRelease(n)
			continue
		}
		if ks := resp.GetKeys(); ks != nil {
			c.relayKeys(ks)
			continue
		}
		msg := resp.GetRuleset()
		if msg == nil {
			continue // a message of a newer protocol
		}
		if msg, parts, err = joinParts(parts, msg); err != nil {
			return outcome{err: err, applied: applied}
		}
		if msg == nil {
			continue // more parts follow
		}
		ch, announce, err := c.applyRuleset(msg)
		if err != nil {
			// Forget what is held (getters keep the current ruleset): the
			// next hello asks for every section again.
			c.log.Error("ruleset not applied", "err", err)
			c.held = nil
			return outcome{err: err, applied: applied}
		}
		applied++
		if announce {
			// Saved before the ack, which fails when the client is closed
			// meanwhile: a ruleset applied is a ruleset saved.
			c.saveCache()
		}
		if err := out.send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Ack{Ack: &sdkpb.Ack{Revision: msg.GetRevision()}}}); err != nil {
			return classify(recvErr(s, err), applied)
		}
		tell := c.changeStatus(StatusReady, nil)
		var listeners []func(Change)
		if announce {
			listeners = c.changes.all()
		}
		c.settle()
		tell()
		for _, fn := range listeners {
			fn(ch)
		}
	}
}

// joinParts gathers a ruleset sent in parts (Ruleset.continued): given
// the parts so far (nil: none) and the next message, it returns the whole
// ruleset once msg is its last part, else nil and the parts so far. A part
// of another revision than the parts before it is an error.
func joinParts(parts, msg *sdkpb.Ruleset) (whole, rest *sdkpb.Ruleset, err error) {
	if parts != nil {
		if msg.GetRevision() != parts.GetRevision() || len(msg.GetManifest()) > 0 {
			return nil, nil, fmt.Errorf("sync: a part of revision %d (%d refs) follows parts of revision %d",
				msg.GetRevision(), len(msg.GetManifest()), parts.GetRevision())
		}
		parts.Sections = append(parts.Sections, msg.GetSections()...)
		parts.Continued = msg.GetContinued()
		msg = parts
	} else if msg.GetContinued() {
		msg = proto.Clone(msg).(*sdkpb.Ruleset) // gathers the parts; msg is the caller's
	}
	if msg.GetContinued() {
		return nil, msg, nil
	}
	return msg, nil, nil
}

// recvErr returns the stream's real error after Send failed with io.EOF
// (gRPC reports the status on the next Recv).
func recvErr(s sdkpb.SyncService_SyncClient, err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	for {
		if _, rerr := s.Recv(); rerr != nil {
			return rerr
		}
	}
}

// classify turns the error that ended a stream into an outcome.
func classify(err error, applied int) outcome {
	if errors.Is(err, io.EOF) {
		return outcome{err: errStreamEnded, applied: applied, rotated: applied > 0}
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		return outcome{err: fmt.Errorf("%w: %s", ErrKeyRefused, status.Convert(err).Message()), applied: applied, refused: true}
	}
	return outcome{err: fmt.Errorf("sdk: sync: %w", err), applied: applied}
}

// saveCache writes the cache file, if there is one.
func (c *Client) saveCache() {
	if c.cfg.CacheFile == "" || c.held == nil {
		return
	}
	if err := writeCache(c.cfg.CacheFile, c.cfg.SDKKey, c.held); err != nil {
		c.log.Warn("cache file not written", "err", err)
	}
}
