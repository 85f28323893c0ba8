package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// tokenServer is a Server with just a bootstrapped store, and the id of its
// SDK key.
func tokenServer(t testing.TB) (*Server, *domain.APIKey) {
	t.Helper()
	st := domaintest.New(t)
	if _, _, err := bootstrap.Run(context.Background(), st, bootstrap.Credentials{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range st.State().APIKeys() {
		if k.Kind == domain.KindSDK {
			return &Server{store: st, keys: func() Keyring { return st.State() }, streamAds: newStreamAds()}, k
		}
	}
	t.Fatal("bootstrap made no SDK key")
	return nil, nil
}

func TestStreamToken(t *testing.T) {
	s, key := tokenServer(t)
	now := time.Unix(1_800_000_000, 0)
	prod := snapshot.Env{Project: "default", Environment: "production"}
	token := signStreamToken(key, prod, now.Add(time.Hour))

	p, env, err := s.verifyStreamToken(token, now)
	if err != nil || env != prod || p.KeyID != key.ID || p.Kind != auth.KindSDK {
		t.Fatalf("verifyStreamToken(fresh) = %+v, %v, %v, want the SDK key in production", p, env, err)
	}
	bad := []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"expired", token, now.Add(2 * time.Hour), auth.ErrUnauthenticated},
		{"other environment", signStreamToken(key, snapshot.Env{Project: "default", Environment: "staging"}, now.Add(time.Hour)), now, auth.ErrPermissionDenied},
		{"signed with another key", signStreamToken(&domain.APIKey{ID: key.ID, Hash: "x"}, prod, now.Add(time.Hour)), now, auth.ErrUnauthenticated},
		{"unknown key", signStreamToken(&domain.APIKey{ID: "nope", Hash: key.Hash}, prod, now.Add(time.Hour)), now, auth.ErrUnauthenticated},
		{"no signature", strings.Split(token, ".")[0], now, auth.ErrUnauthenticated},
		{"not base64", "!!!." + strings.Split(token, ".")[1], now, auth.ErrUnauthenticated},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := s.verifyStreamToken(tc.token, tc.at); !errors.Is(err, tc.want) {
				t.Errorf("verifyStreamToken() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEventStreamsIsCachedPerKey(t *testing.T) {
	s, key := tokenServer(t)
	prod := snapshot.Env{Project: "default", Environment: "production"}
	first := string(s.eventStreams(key.ID, prod))
	if !strings.HasPrefix(first, `,"eventStreams":[{"type":"sse","endpoint":{"requestUri":"/ofrep/v1/events?token=`) {
		t.Errorf("eventStreams() = %s", first)
	}
	if again := string(s.eventStreams(key.ID, prod)); again != first {
		t.Errorf("second eventStreams() = %s, want the cached %s", again, first)
	}
	if got := s.eventStreams("gone", prod); got != nil {
		t.Errorf("eventStreams(unknown key) = %s, want nothing", got)
	}
	if n := testing.AllocsPerRun(100, func() { s.eventStreams(key.ID, prod) }); n != 0 {
		t.Errorf("eventStreams() allocates %v times on a cache hit, want 0", n)
	}
}

// TestBulkETagFollowsTheEventStreamToken: a renewed stream token changes
// the bulk answer, so it must change the ETag too, or a client polling
// with If-None-Match would keep an expired token.
func TestBulkETagFollowsTheEventStreamToken(t *testing.T) {
	s, key := tokenServer(t)
	prod := snapshot.Env{Project: "default", Environment: "production"}
	ps, _ := s.store.State().Project("default")
	rs, err := eval.Compile(ps.Document(), "production", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"context":{"targetingKey":"u"}}`)
	now := time.Now()
	before := bulkETag(rs, body, s.newStreamAd(streamAdKey{key.ID, prod}, now).fragment)
	after := bulkETag(rs, body, s.newStreamAd(streamAdKey{key.ID, prod}, now.Add(streamTokenRenew+time.Second)).fragment)
	if before == after {
		t.Errorf("bulk ETag %s did not change when the stream token was renewed", before)
	}
}

// TestStreamTokenIsTheSameWithinAWindow: servers that sign a key's token
// at different times of one renewal window (a primary and its relays)
// advertise the same one, and it is valid at least streamTokenTTL -
// streamTokenRenew after either.
func TestStreamTokenIsTheSameWithinAWindow(t *testing.T) {
	s, key := tokenServer(t)
	prod := snapshot.Env{Project: "default", Environment: "production"}
	window := streamWindow(key.ID, time.Now())
	early := s.newStreamAd(streamAdKey{key.ID, prod}, window.Add(time.Second)).fragment
	late := s.newStreamAd(streamAdKey{key.ID, prod}, window.Add(streamTokenRenew-time.Second)).fragment
	if string(early) != string(late) {
		t.Fatalf("tokens signed in one window differ:\n%s\n%s", early, late)
	}
	_, token, _ := strings.Cut(string(late), "?token=")
	token, _, _ = strings.Cut(token, `"`)
	if _, _, err := s.verifyStreamToken(token, window.Add(streamTokenRenew-time.Second).Add(streamTokenTTL-streamTokenRenew)); err != nil {
		t.Errorf("token %s, streamTokenTTL - streamTokenRenew after its window's end: %v, want valid", token, err)
	}
}

// BenchmarkEventStreams is what advertising the event stream adds to a
// bulk OFREP answer.
func BenchmarkEventStreams(b *testing.B) {
	s, key := tokenServer(b)
	prod := snapshot.Env{Project: "default", Environment: "production"}
	b.ReportAllocs()
	for b.Loop() {
		s.eventStreams(key.ID, prod)
	}
}
