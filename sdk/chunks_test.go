package sdk_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// rulesetLog records the rulesets the client's sync streams receive.
type rulesetLog struct {
	mu       sync.Mutex
	rulesets []*sdkpb.Ruleset
}

func (l *rulesetLog) option() grpc.DialOption {
	return grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return &loggedStream{ClientStream: cs, log: l}, nil
	})
}

func (l *rulesetLog) all() []*sdkpb.Ruleset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*sdkpb.Ruleset(nil), l.rulesets...)
}

type loggedStream struct {
	grpc.ClientStream
	log *rulesetLog
}

func (s *loggedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if resp, ok := m.(*sdkpb.SyncResponse); ok && err == nil && resp.GetRuleset() != nil {
		s.log.mu.Lock()
		s.log.rulesets = append(s.log.rulesets, resp.GetRuleset())
		s.log.mu.Unlock()
	}
	return err
}

// uploadKeys sends keys to the include list of segment big: PUT replaces,
// POST adds.
func uploadKeys(t *testing.T, srv *servertest.Server, method string, keys []string) {
	t.Helper()
	r := servertest.Do(t, method, srv.HTTPURL+"/api/v1/projects/default/segments/big/keys/include",
		strings.Join(keys, "\n"), "Authorization", "Bearer "+srv.Creds.AdminToken, "Content-Type", "text/plain")
	if r.Status != http.StatusOK {
		t.Fatalf("%s keys = %d %s", method, r.Status, r.Body)
	}
}

// TestChunkedSegment syncs a segment of 12,288 keys, whose list travels in
// chunks, to the real SDK: its members are targeted, adding one key sends
// one chunk, and a client resuming from its cache file receives no section.
func TestChunkedSegment(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", `{"key":"big"}`)
	keys := make([]string, 3*keylist.ChunkThreshold)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	uploadKeys(t, srv, "PUT", keys)
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", `{"key":"big-feature","type":"bool",
		"environments":{"production":{"enabled":true,"rules":[{"id":"big","segments":["big"],"serve":{"variant":"on"}}],"default":{"variant":"off"}}}}`)

	var log rulesetLog
	cache := t.TempDir() + "/switchyard.cache"
	cfg := sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, CacheFile: cache, DialOptions: []grpc.DialOption{log.option()}}
	c := newClient(t, cfg)
	waitReady(t, c)
	on := func(key string) bool { return c.Bool("big-feature", sdk.NewContext(key), false) }
	for _, k := range []string{keys[0], keys[len(keys)/2], keys[len(keys)-1]} {
		if !on(k) {
			t.Errorf("member %q is not targeted", k)
		}
	}
	if on("stranger") || on("user-new") {
		t.Error("a key outside the segment is targeted")
	}
	chunks := 0
	for _, rs := range log.all() {
		for _, s := range rs.GetSections() {
			if s.GetRef().GetKind() == sdkpb.SectionKind_SECTION_KIND_SEGMENT_CHUNK {
				chunks++
			}
		}
	}
	if chunks != keylist.Shards {
		t.Errorf("first sync received %d chunks, want %d", chunks, keylist.Shards)
	}

	received := len(log.all())
	uploadKeys(t, srv, "POST", []string{"user-new"})
	eventually(t, "the added key to be targeted", func() bool { return on("user-new") })
	var sent []string
	for _, rs := range log.all()[received:] {
		for _, s := range rs.GetSections() {
			sent = append(sent, s.GetRef().GetKey())
		}
	}
	want := fmt.Sprintf("big/include/%d", keylist.Shard("user-new"))
	if len(sent) != 1 || sent[0] != want {
		t.Errorf("adding one key sent sections %v, want [%s]", sent, want)
	}
	if !on(keys[1]) {
		t.Error("a member is no longer targeted after the add")
	}
	// The cache file is written after the revision is applied: wait for it
	// to hold the last one.
	eventually(t, "the cache file at the last revision", func() bool {
		return c.Revision() > 0 && sdk.CacheRevision(cache, srv.Creds.SDKKey) == c.Revision()
	})
	c.Close()

	// A client resuming from the cache file holds every section.
	var again rulesetLog
	cfg.DialOptions = []grpc.DialOption{again.option()}
	resumed := newClient(t, cfg)
	waitReady(t, resumed)
	eventually(t, "a ruleset", func() bool { return len(again.all()) > 0 })
	if n := len(again.all()[0].GetSections()); n != 0 {
		t.Errorf("resuming from the cache file received %d sections, want 0", n)
	}
	if !resumed.Bool("big-feature", sdk.NewContext("user-new"), false) {
		t.Error("the resumed client does not target the added key")
	}
}

// TestLargeRulesetInParts: the first sync of a segment of 100,000 keys
// (1.3 MB of chunks) reaches the real SDK in parts (sync protocol 3), every
// part but the last marked continued; the SDK applies them as one ruleset.
func TestLargeRulesetInParts(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", `{"key":"big"}`)
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%07d", i)
	}
	uploadKeys(t, srv, "PUT", keys)
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", `{"key":"big-feature","type":"bool",
		"environments":{"production":{"enabled":true,"rules":[{"id":"big","segments":["big"],"serve":{"variant":"on"}}],"default":{"variant":"off"}}}}`)

	var log rulesetLog
	c := newClient(t, sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, DialOptions: []grpc.DialOption{log.option()}})
	waitReady(t, c)
	parts := log.all()
	if len(parts) < 2 {
		t.Fatalf("the first sync came in %d message(s), want several parts", len(parts))
	}
	chunks := 0
	for i, rs := range parts {
		if rs.GetContinued() != (i < len(parts)-1) || rs.GetRevision() != c.Revision() {
			t.Errorf("part %d: continued %v at revision %d, want %v at %d", i, rs.GetContinued(), rs.GetRevision(), i < len(parts)-1, c.Revision())
		}
		for _, s := range rs.GetSections() {
			if s.GetRef().GetKind() == sdkpb.SectionKind_SECTION_KIND_SEGMENT_CHUNK {
				chunks++
			}
		}
	}
	if chunks != keylist.Shards {
		t.Errorf("the parts carried %d chunks, want %d", chunks, keylist.Shards)
	}
	for _, k := range []string{keys[0], keys[len(keys)/2], keys[len(keys)-1]} {
		if !c.Bool("big-feature", sdk.NewContext(k), false) {
			t.Errorf("member %q is not targeted", k)
		}
	}
	if c.Bool("big-feature", sdk.NewContext("stranger"), false) {
		t.Error("a key outside the segment is targeted")
	}
}
