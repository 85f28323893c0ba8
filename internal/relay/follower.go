package relay

import (
	"context"
	"path/filepath"

	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/internal/buildinfo"
	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/sdk"
)

// follower follows one environment's upstream stream: an SDK client with
// the relay key, which reconnects with backoff and jitter, keeps the last
// ruleset in a cache file (written atomically) and tells the follower of
// everything it receives.
type follower struct {
	r       *Relay
	project string
	env     string
	client  *sdk.Client
}

var _ sdk.Relay = (*follower)(nil)

// startFollower starts following env, unless it is followed already. The
// client loads the environment's cache file first, so the relay serves
// the last ruleset it had before the upstream answers.
func (r *Relay) startFollower(ctx context.Context, conn *grpc.ClientConn, env string) {
	r.mu.Lock()
	if r.followers[env] != nil || ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	f := &follower{r: r, project: r.state.Project, env: env}
	r.followers[env] = f
	r.mu.Unlock()
	c, err := sdk.New(ctx, sdk.Config{
		Conn:        conn,
		SDKKey:      r.cfg.RelayKey,
		Project:     f.project,
		Environment: env,
		CacheFile:   r.rulesetPath(f.project, env),
		Relay:       f,
		Events:      sdk.EventsConfig{Disabled: true},
		Backoff:     r.cfg.Backoff,
		Logger:      r.log.With("project", f.project, "environment", env),
		Name:        SDKName,
		Version:     buildinfo.Get().Version,
	})
	if err != nil {
		r.log.Error("follow environment", "project", f.project, "environment", env, "err", err)
		r.mu.Lock()
		delete(r.followers, env)
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	f.client = c
	r.mu.Unlock()
}

// closeFollowers closes every follower's client.
func (r *Relay) closeFollowers() {
	r.mu.Lock()
	clients := make([]*sdk.Client, 0, len(r.followers))
	for _, f := range r.followers {
		if f.client != nil {
			clients = append(clients, f.client)
		}
	}
	r.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
}

// rulesetPath is the cache file of an environment's ruleset.
func (r *Relay) rulesetPath(project, env string) string {
	return filepath.Join(r.cfg.DataDir, project+"."+env+".ruleset")
}

// Applied publishes a ruleset the upstream sent (or the cache file held):
// compiled, for evaluations, and as sections, for downstream streams.
func (f *follower) Applied(rs *eval.Ruleset, sections []*sdkpb.Section) {
	f.r.rulesets.Publish(rs)
	f.r.hub.Publish(syncer.NewRevision(rs.Project(), rs.Environment(), rs.Revision, sections))
	f.r.mu.Lock()
	f.r.checkReadyLocked()
	f.r.mu.Unlock()
}

// Keys takes in a key set the upstream sent.
func (f *follower) Keys(ks *sdkpb.KeySet) { f.r.setKeys(ks) }

// Release passes a release notice on to downstream streams.
func (f *follower) Release(n *sdkpb.ReleaseNotice) { f.r.hub.Announce(f.project, f.env, n) }
