package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/section"
	"github.com/switchyard/switchyard/server/servertest"
)

// uploadKeys sends n keys user-0 … user-(n-1) (or the given keys) to the
// include list of segment big: PUT replaces, POST adds.
func uploadKeys(t *testing.T, srv *servertest.Server, method string, keys []string) {
	t.Helper()
	r := servertest.Do(t, method, srv.HTTPURL+"/api/v1/projects/default/segments/big/keys/include",
		strings.Join(keys, "\n"), "Authorization", "Bearer "+srv.Creds.AdminToken, "Content-Type", "text/plain")
	if r.Status != http.StatusOK {
		t.Fatalf("%s keys = %d %s", method, r.Status, r.Body)
	}
}

func userKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user-%d", i)
	}
	return out
}

// startWithBigSegment starts a server whose segment big holds n keys.
func startWithBigSegment(t *testing.T, n int) *servertest.Server {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/segments", `{"key":"big"}`)
	uploadKeys(t, srv, "PUT", userKeys(n))
	return srv
}

func countKind(refs []*sdkpb.SectionRef, kind sdkpb.SectionKind) int {
	n := 0
	for _, r := range refs {
		if r.GetKind() == kind {
			n++
		}
	}
	return n
}

func TestSyncRefusesOldProtocolWhenListsAreChunked(t *testing.T) {
	srv := startWithBigSegment(t, keylist.ChunkThreshold+1)
	for _, protocol := range []uint32{0, section.ProtocolSections} {
		t.Run(fmt.Sprintf("protocol %d", protocol), func(t *testing.T) {
			s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "old", ProtocolVersion: protocol})
			_, err := s.Recv()
			if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "upgrade the SDK") {
				t.Errorf("Recv = %v, want FAILED_PRECONDITION telling to upgrade the SDK", err)
			}
		})
	}
	s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "new", ProtocolVersion: section.ProtocolChunks})
	rs := recvRuleset(t, s)
	if got := countKind(rs.GetManifest(), sdkpb.SectionKind_SECTION_KIND_SEGMENT_CHUNK); got != keylist.Shards {
		t.Errorf("manifest lists %d chunks, want %d", got, keylist.Shards)
	}
}

// TestSyncEndsOldProtocolStreamWhenAListGrows: a stream of an old SDK open
// while a list grows past the chunk threshold ends with the refusal rather
// than receive what it would misread.
func TestSyncEndsOldProtocolStreamWhenAListGrows(t *testing.T) {
	srv := startWithBigSegment(t, 10)
	s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "old"})
	ack(t, s, recvRuleset(t, s).GetRevision())
	uploadKeys(t, srv, "PUT", userKeys(keylist.ChunkThreshold+1))
	for {
		resp, err := s.Recv()
		if err != nil {
			if status.Code(err) != codes.FailedPrecondition {
				t.Errorf("Recv = %v, want FAILED_PRECONDITION", err)
			}
			return
		}
		if rs := resp.GetRuleset(); rs != nil {
			if n := countKind(rs.GetManifest(), sdkpb.SectionKind_SECTION_KIND_SEGMENT_CHUNK); n > 0 {
				t.Fatalf("an old SDK received a ruleset with %d chunks", n)
			}
			ack(t, s, rs.GetRevision())
		}
	}
}

// TestSyncOneKeyAddSendsOneChunk pins the cost of adding a key to a
// chunked list for a stream of protocol 2: one chunk and its ref, as a
// change to the previous manifest.
func TestSyncOneKeyAddSendsOneChunk(t *testing.T) {
	srv := startWithBigSegment(t, 3*keylist.ChunkThreshold)
	s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "new", ProtocolVersion: section.ProtocolChunks})
	first := recvRuleset(t, s)
	ack(t, s, first.GetRevision())
	if got, want := len(first.GetSections()), len(first.GetManifest()); got != want {
		t.Fatalf("first ruleset carries %d sections, want all %d", got, want)
	}
	uploadKeys(t, srv, "POST", []string{"user-new"})
	next := recvRuleset(t, s)
	wantKey := section.ChunkKey("big", keylist.Include, keylist.Shard("user-new"))
	if next.GetManifestBase() != first.GetRevision() {
		t.Errorf("manifest_base = %d, want the previous revision %d", next.GetManifestBase(), first.GetRevision())
	}
	if len(next.GetSections()) != 1 || next.GetSections()[0].GetRef().GetKey() != wantKey || len(next.GetManifest()) != 1 {
		var got []string
		for _, sec := range next.GetSections() {
			got = append(got, sec.GetRef().GetKey())
		}
		t.Errorf("after adding one key: sections %v and %d refs, want [%s] and 1 ref", got, len(next.GetManifest()), wantKey)
	}

	// Reconnecting with every section held sends none of them again.
	var held []*sdkpb.SectionRef
	for _, sec := range first.GetSections() {
		if sec.GetRef().GetKey() != wantKey {
			held = append(held, &sdkpb.SectionRef{Hash: sec.GetRef().GetHash()})
		}
	}
	held = append(held, &sdkpb.SectionRef{Hash: next.GetSections()[0].GetRef().GetHash()})
	again := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "new", ProtocolVersion: section.ProtocolChunks, Revision: next.GetRevision(), Sections: held})
	if rs := recvRuleset(t, again); len(rs.GetSections()) != 0 {
		t.Errorf("reconnecting with every section held received %d sections, want 0", len(rs.GetSections()))
	}
}

// TestClientKeysAndOFREPNeverExposeListContents: SDK and client keys read
// no segment or key list over REST, and OFREP answers for one context
// carry no other targeting key, single or bulk.
func TestClientKeysAndOFREPNeverExposeListContents(t *testing.T) {
	srv := startWithBigSegment(t, keylist.ChunkThreshold+1)
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", `{"key":"big-feature","type":"bool",
		"environments":{"production":{"enabled":true,"rules":[{"id":"big","segments":["big"],"serve":{"variant":"on"}}],"default":{"variant":"off"}}}}`)
	client := keyOf(t, srv, "client", "production")
	keys := map[string]string{"client key": client, "SDK key": srv.Creds.SDKKey}
	for name, key := range keys {
		for _, path := range []string{
			"/api/v1/projects/default/segments/big/keys/include",
			"/api/v1/projects/default/segments/big/keys/include/check?key=user-1",
			"/api/v1/projects/default/segments/big",
			"/api/v1/projects/default/segments",
			"/api/v1/projects/default:export",
		} {
			for _, header := range []string{"Authorization", "X-API-Key"} {
				value := key
				if header == "Authorization" {
					value = "Bearer " + key
				}
				r := servertest.Do(t, "GET", srv.HTTPURL+path, nil, header, value)
				if (r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden) || strings.Contains(string(r.Body), "user-1") {
					t.Errorf("%s in %s: GET %s = %d %.200s, want 401 or 403 naming no key", name, header, path, r.Status, r.Body)
				}
			}
		}
		for _, path := range []string{"/ofrep/v1/evaluate/flags/big-feature", "/ofrep/v1/evaluate/flags"} {
			r := servertest.Do(t, "POST", srv.HTTPURL+path, `{"context":{"targetingKey":"user-2"}}`, "X-API-Key", key)
			body := string(r.Body)
			if r.Status != http.StatusOK || !strings.Contains(body, `"on"`) {
				t.Errorf("%s: POST %s = %d %s, want 200 serving on", name, path, r.Status, body)
			}
			for _, other := range []string{"user-1", "user-3", "big/include"} {
				if strings.Contains(body, other) {
					t.Errorf("%s: POST %s answers %q, which names %q", name, path, body, other)
				}
			}
		}
	}
}
