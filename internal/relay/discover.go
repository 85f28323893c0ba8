package relay

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/section"
	"github.com/switchyard/switchyard/sdk"
)

// discover learns the relay key's project and environments from the
// upstream, trying again with backoff and full jitter until it succeeds or
// ctx is done: a stream that names no environment follows the key's first,
// and its key set lists the relay key with all of them.
func discover(ctx context.Context, conn *grpc.ClientConn, key string, b sdk.Backoff, log *slog.Logger) (string, []string, error) {
	for attempt := 0; ; attempt++ {
		project, envs, err := discoverOnce(ctx, conn, key)
		if err == nil {
			return project, envs, nil
		}
		ceiling := min(b.Initial<<min(attempt, 16), b.Max)
		wait := rand.N(ceiling)
		log.Warn("relay environments not discovered yet", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// discoverOnce opens one stream and reads the relay key's scope from its
// first key set.
func discoverOnce(ctx context.Context, conn *grpc.ClientConn, key string) (string, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	s, err := sdkpb.NewSyncServiceClient(conn).Sync(ctx)
	if err != nil {
		return "", nil, err
	}
	if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: &sdkpb.Hello{SdkName: SDKName, ProtocolVersion: section.ProtocolChunks}}}); err != nil {
		_, err = s.Recv()
		return "", nil, err
	}
	hash := domain.HashSecret(key)
	for {
		resp, err := s.Recv()
		if err != nil {
			return "", nil, err
		}
		if rs := resp.GetRuleset(); rs != nil {
			if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Ack{Ack: &sdkpb.Ack{Revision: rs.GetRevision()}}}); err != nil {
				return "", nil, err
			}
			continue
		}
		ks := resp.GetKeys()
		if ks == nil {
			continue
		}
		for _, k := range ks.GetKeys() {
			if k.GetHash() == hash && k.GetKind() == string(domain.KindRelay) && len(k.GetEnvironments()) > 0 {
				return k.GetProject(), k.GetEnvironments(), nil
			}
		}
		return "", nil, errors.New("the upstream's key set does not list the relay key")
	}
}
