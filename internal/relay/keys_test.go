package relay_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/relaytest"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// TestRelayLearnsKeysCreatedWhileRunning creates a relay key and an SDK
// key on the primary just after a relay starts: an edge relay follows the
// region relay with the new relay key, and an SDK is served behind the
// region relay with the new SDK key, without any later write.
func TestRelayLearnsKeysCreatedWhileRunning(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	region := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	edgeKey := relayKey(t, primary, "default", "production")
	key := primary.SDKKey(t, "default", "production")

	edge := relaytest.Start(t, relaytest.Options{Upstream: region.GRPCAddr, RelayKey: edgeKey})
	caughtUp(t, primary, edge, "default", "production")
	accepts(t, region, key)
	connect(t, region.GRPCAddr, key)
	accepts(t, edge, key)
	if got := ofrep(t, edge.HTTPURL, key, "dark-mode", `{"targetingKey":"u"}`); got.Status != http.StatusOK {
		t.Errorf("OFREP at the edge relay with the new key = %d %s, want 200", got.Status, got.Body)
	}
}

// TestRelayLearnsKeysCreatedWhileNoStreamFollows creates a relay key and
// an SDK key while the primary has no stream of the environment (the only
// relay is stopped), then restarts that relay: its key set has both keys,
// so an edge relay follows it with the new relay key and an SDK is served
// there with the new SDK key, without any later write on the primary.
func TestRelayLearnsKeysCreatedWhileNoStreamFollows(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	region := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	caughtUp(t, primary, region, "default", "production")
	accepts(t, region, primary.Creds.SDKKey)
	region.Stop()
	eventually(t, "the primary has no relay stream left", func() bool {
		metrics := servertest.Do(t, "GET", primary.HTTPURL+"/metrics", nil)
		return strings.Contains(string(metrics.Body), `switchyard_sync_streams{environment="production",kind="relay",project="default"} 0`)
	})

	edgeKey := relayKey(t, primary, "default", "production")
	key := primary.SDKKey(t, "default", "production")
	region = region.Restart(t)
	edge := relaytest.Start(t, relaytest.Options{Upstream: region.GRPCAddr, RelayKey: edgeKey})
	caughtUp(t, primary, edge, "default", "production")
	accepts(t, region, key)
	accepts(t, edge, key)
	connect(t, edge.GRPCAddr, key)
}

// TestChainedRelayRefusesARevokedKeyWithinOneRevision revokes a key on the
// primary, then changes a flag: once the edge relay (behind a region relay)
// serves the new revision, it refuses the key, with no wait beyond it.
func TestChainedRelayRefusesARevokedKeyWithinOneRevision(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	region := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	edge := relaytest.Start(t, relaytest.Options{Upstream: region.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	key := primary.SDKKey(t, "default", "production")
	caughtUp(t, primary, edge, "default", "production")
	accepts(t, edge, key)
	c := connect(t, edge.GRPCAddr, key)

	k, ok := primary.Store.State().KeyByHash(hashOf(key))
	if !ok {
		t.Fatal("the new key is not in the primary's store")
	}
	primary.Admin(t, "DELETE", "/api/v1/keys/"+k.ID, nil)
	setDarkMode(t, primary, false)
	caughtUp(t, primary, edge, "default", "production")
	for _, r := range []*relaytest.Relay{edge, region} {
		if got := ofrep(t, r.HTTPURL, key, "dark-mode", `{"targetingKey":"u"}`); got.Status != http.StatusUnauthorized {
			t.Errorf("OFREP with the revoked key at a relay serving the next revision = %d %s, want 401", got.Status, got.Body)
		}
	}
	eventually(t, "the SDK behind the edge relay is refused", func() bool { return c.Status() == sdk.StatusError })
}

// TestRelayAuthenticatesWhileKeySetsArrive authenticates at a relay that
// follows two environments, over OFREP and sync streams, while key sets of
// both keep arriving (keys created and revoked on the primary): under
// -race the keyring is read and replaced concurrently, a valid key is
// never refused and no stream of one is ended, and the revoked keys are
// refused at the end.
func TestRelayAuthenticatesWhileKeySetsArrive(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	r := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production", "staging")})
	key := primary.Creds.SDKKey
	accepts(t, r, key)

	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if got := ofrep(t, r.HTTPURL, key, "dark-mode", `{"targetingKey":"u"}`); got.Status != http.StatusOK {
					t.Errorf("OFREP with a valid key while key sets arrive = %d %s, want 200", got.Status, got.Body)
					return
				}
			}
		})
	}
	readers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			ctx, cancel := context.WithCancel(withKey(key))
			s, err := sdkpb.NewSyncServiceClient(r.Conn).Sync(ctx)
			if err == nil {
				err = s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: &sdkpb.Hello{SdkName: "race"}}})
			}
			if err == nil {
				_, err = s.Recv()
			}
			cancel()
			if err != nil {
				t.Errorf("sync stream with a valid key while key sets arrive: %v", err)
				return
			}
		}
	})
	var revoked []string
	for i := range 10 {
		env := []string{"production", "staging"}[i%2]
		k := primary.SDKKey(t, "default", env)
		if i%4 >= 2 {
			found, _ := primary.Store.State().KeyByHash(hashOf(k))
			primary.Admin(t, "DELETE", "/api/v1/keys/"+found.ID, nil)
			revoked = append(revoked, k)
		}
	}
	for _, env := range []string{"production", "staging"} {
		accepts(t, r, primary.SDKKey(t, "default", env))
	}
	close(done)
	readers.Wait()
	for _, k := range revoked {
		if got := ofrep(t, r.HTTPURL, k, "dark-mode", `{}`); got.Status != http.StatusUnauthorized {
			t.Errorf("OFREP with a key revoked before the last key sets = %d, want 401", got.Status)
		}
	}
}
