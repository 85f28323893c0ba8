package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// OFREP change notification (OFREP ADR-0008): the bulk evaluation response
// advertises an event stream, GET /ofrep/v1/events, that sends a
// refetchEvaluation event whenever the environment gets a new revision, so
// static-context providers (web, mobile) refresh without polling.
//
// EventSource clients cannot send headers, so the advertised address
// carries a token: the key's id, the environment and an expiry, signed with
// HMAC-SHA256 under the key's stored hash. It is bound to the key — a
// revoked key's tokens stop working, and its open streams end at the next
// change — and it never contains the secret. The stream also accepts the
// key itself in the usual headers.
//
// Each event names the new revision as its id and as its etag (the quoted
// revision, matching metadata.revision of the bulk answer):
//
//	id: 42
//	event: message
//	data: {"type":"refetchEvaluation","etag":"\"42\"","lastModified":1771622898}
//
// lastModified is when the server saw the revision, in Unix seconds; it is
// left out when unknown (a revision older than the stream's first
// watcher). On connect the stream sends the current revision at once,
// unless the client's Last-Event-ID already names it: a change made
// between the bulk fetch and the connect is never missed, and a
// reconnecting EventSource skips the refetch when nothing changed. Comment
// lines (": ping") keep idle streams alive, and every stream ends when the
// server shuts down.

// Event stream tuning.
const (
	// streamTokenTTL is how long a stream token is valid for connecting;
	// a stream outlives its token. Bulk answers carry a token valid for
	// at least streamTokenTTL - streamTokenRenew: a new token is signed
	// every streamTokenRenew. The token grants nothing
	// but change notifications of one environment, and dies with its key,
	// so it may live long enough that a client whose bulk answers stay
	// 304 (no change) can still reconnect.
	streamTokenTTL   = 7 * 24 * time.Hour
	streamTokenRenew = 24 * time.Hour
	// streamInactivitySec is the inactivityDelaySec advertised: after that
	// long in the background a provider closes the stream.
	streamInactivitySec = 120
	// streamHeartbeat is the interval of comment lines that keep proxies
	// and load balancers from closing an idle stream.
	streamHeartbeat = 25 * time.Second
	// streamWriteTimeout bounds one write to a stream: a client that stops
	// reading is dropped rather than holding the handler forever.
	streamWriteTimeout = 10 * time.Second
	// streamRetryMillis is the reconnection delay suggested to EventSource.
	streamRetryMillis = 5000
	// ofrepEventsPath is the event stream's path.
	ofrepEventsPath = "/ofrep/v1/events"
)

// streamTokenDomain separates stream token signatures from any other use of
// the key hash.
const streamTokenDomain = "switchyard ofrep event stream v1\x00"

func (s *Server) registerOFREPEvents(mux *http.ServeMux) {
	mux.HandleFunc("GET "+ofrepEventsPath, s.ofrepEvents)
}

// changeHub fans the revisions of environments out to event streams. Each
// watched environment has a chain of envChange values: a stream waits for
// the current one's next channel, then loads the newest — a slow stream
// skips to the latest revision and never holds anyone up.
type changeHub struct {
	rulesets *snapshot.Set
	stopped  chan struct{} // closed when run returns

	mu      sync.Mutex
	watches map[snapshot.Env]*envWatch
}

// envWatch is one watched environment.
type envWatch struct {
	refs int // streams watching; guarded by changeHub.mu
	cur  atomic.Pointer[envChange]
}

// envChange is one revision of an environment.
type envChange struct {
	revision uint64
	modified int64 // Unix seconds when the server saw it; 0: unknown
	gone     bool  // the environment was deleted
	next     chan struct{}
}

func newChangeHub(rs *snapshot.Set) *changeHub {
	return &changeHub{rulesets: rs, stopped: make(chan struct{}), watches: map[snapshot.Env]*envWatch{}}
}

// run publishes every watched environment's new revisions until ctx is
// done; then it closes stopped, which ends every stream.
func (h *changeHub) run(ctx context.Context) {
	defer close(h.stopped)
	for {
		changed := h.rulesets.Changed()
		h.scan()
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// scan publishes a change for every watched environment whose revision
// moved.
func (h *changeHub) scan() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now().Unix()
	for env, w := range h.watches {
		cur := w.cur.Load()
		if cur.gone {
			continue
		}
		rs := h.rulesets.Get(env.Project, env.Environment)
		switch {
		case rs == nil:
			w.publish(&envChange{revision: cur.revision, gone: true, next: make(chan struct{})})
		case rs.Revision != cur.revision:
			w.publish(&envChange{revision: rs.Revision, modified: now, next: make(chan struct{})})
		}
	}
}

func (w *envWatch) publish(c *envChange) {
	close(w.cur.Swap(c).next)
}

// subscribe starts watching env; the caller must unsubscribe.
func (h *changeHub) subscribe(env snapshot.Env) *envWatch {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watches[env]
	if w == nil {
		w = &envWatch{}
		c := &envChange{next: make(chan struct{})}
		if rs := h.rulesets.Get(env.Project, env.Environment); rs != nil {
			c.revision = rs.Revision
		} else {
			c.gone = true
		}
		w.cur.Store(c)
		h.watches[env] = w
	}
	w.refs++
	return w
}

func (h *changeHub) unsubscribe(env snapshot.Env, w *envWatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.refs--; w.refs == 0 {
		delete(h.watches, env)
	}
}

// ofrepEvents serves an environment's event stream.
func (s *Server) ofrepEvents(w http.ResponseWriter, r *http.Request) {
	p, env, err := s.streamCaller(r)
	if err != nil {
		writeOFREPAuthError(w, err)
		return
	}
	free, err := s.streams.acquire(p.KeyID, p.Name)
	if err != nil {
		writeOFREPError(w, http.StatusTooManyRequests, "", "GENERAL", err.Error())
		return
	}
	defer free()
	watch := s.changes.subscribe(env)
	defer s.changes.unsubscribe(env, watch)
	c := watch.cur.Load()
	if c.gone {
		writeOFREPError(w, http.StatusNotFound, "", "GENERAL", "environment "+env.Project+"/"+env.Environment+" does not exist")
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // the connection may serve other requests
	buf := make([]byte, 0, 256)
	buf = append(buf, "retry: "...)
	buf = strconv.AppendInt(buf, streamRetryMillis, 10)
	buf = append(buf, "\n\n"...)
	if last := r.Header.Get("Last-Event-ID"); last != strconv.FormatUint(c.revision, 10) {
		buf = appendRefetchEvent(buf, c)
	}
	heartbeat := time.NewTicker(streamHeartbeat)
	defer heartbeat.Stop()
	for {
		if len(buf) > 0 {
			if err := writeStream(rc, w, buf); err != nil {
				return
			}
			buf = buf[:0]
		}
		select {
		case <-c.next:
			c = watch.cur.Load()
			if c.gone || !s.streamKeyValid(&p, env) {
				return
			}
			buf = appendRefetchEvent(buf, c)
		case <-heartbeat.C:
			buf = append(buf, ": ping\n\n"...)
		case <-r.Context().Done():
			return
		case <-s.changes.stopped:
			return
		}
	}
}

// writeStream writes and flushes buf within streamWriteTimeout.
func writeStream(rc *http.ResponseController, w http.ResponseWriter, buf []byte) error {
	if err := rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	return rc.Flush()
}

// appendRefetchEvent appends the SSE event announcing c.
func appendRefetchEvent(buf []byte, c *envChange) []byte {
	buf = append(buf, "id: "...)
	buf = strconv.AppendUint(buf, c.revision, 10)
	buf = append(buf, "\nevent: message\ndata: {\"type\":\"refetchEvaluation\",\"etag\":\"\\\""...)
	buf = strconv.AppendUint(buf, c.revision, 10)
	buf = append(buf, "\\\"\""...)
	if c.modified > 0 {
		buf = append(buf, ",\"lastModified\":"...)
		buf = strconv.AppendInt(buf, c.modified, 10)
	}
	return append(buf, "}\n\n"...)
}

// streamCaller authenticates an event stream request — by the token query
// parameter, or by a key in the Authorization or X-API-Key header — and
// resolves its environment.
func (s *Server) streamCaller(r *http.Request) (auth.Principal, snapshot.Env, error) {
	q := r.URL.Query()
	if token := q.Get("token"); token != "" {
		var env snapshot.Env
		p, err := s.throttled(remoteHost(r), func() (p auth.Principal, err error) {
			p, env, err = s.verifyStreamToken(token, time.Now())
			return p, err
		})
		return p, env, err
	}
	p, err := s.httpPrincipal(r, auth.Evaluate)
	if err != nil {
		return auth.Principal{}, snapshot.Env{}, err
	}
	project, env, err := auth.Scope(&p, q.Get("project"), q.Get("environment"))
	if err != nil {
		return auth.Principal{}, snapshot.Env{}, err
	}
	return p, snapshot.Env{Project: project, Environment: env}, nil
}

// streamKeyValid reports whether the key p authenticated with still exists
// and still belongs to env.
func (s *Server) streamKeyValid(p *auth.Principal, env snapshot.Env) bool {
	k, ok := s.keys().APIKey(p.KeyID)
	if !ok {
		return false
	}
	return k.Kind == domain.KindAdmin || k.Covers(env.Project, env.Environment)
}

// streamWindow returns the start of the key's token renewal window that
// holds now: windows are streamTokenRenew long, and each key's are offset
// by a hash of its id, so that keys renew at different times of the day
// (their bulk ETags change then) rather than all at once.
func streamWindow(keyID string, now time.Time) time.Time {
	h := fnv.New64a()
	h.Write([]byte(keyID))
	offset := time.Duration(h.Sum64() % uint64(streamTokenRenew))
	return now.Add(-offset).Truncate(streamTokenRenew).Add(offset)
}

// signStreamToken returns a token for the key's stream of env, valid until
// expiry.
func signStreamToken(k *domain.APIKey, env snapshot.Env, expiry time.Time) string {
	payload := make([]byte, 0, 64)
	payload = append(payload, k.ID...)
	payload = append(payload, 0)
	payload = append(payload, env.Project...)
	payload = append(payload, 0)
	payload = append(payload, env.Environment...)
	payload = append(payload, 0)
	payload = strconv.AppendInt(payload, expiry.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(streamMAC(k.Hash, payload))
}

func streamMAC(keyHash string, payload []byte) []byte {
	m := hmac.New(sha256.New, []byte(keyHash))
	m.Write([]byte(streamTokenDomain))
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// verifyStreamToken checks a token signStreamToken made and returns the
// key's principal and the environment.
func (s *Server) verifyStreamToken(token string, now time.Time) (auth.Principal, snapshot.Env, error) {
	bad := func(why string) (auth.Principal, snapshot.Env, error) {
		return auth.Principal{}, snapshot.Env{}, fmt.Errorf("%w: event stream token %s; fetch %s again for a new one", auth.ErrUnauthenticated, why, "/ofrep/v1/evaluate/flags")
	}
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return bad("is malformed")
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(enc)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	parts := bytes.Split(payload, []byte{0})
	if err1 != nil || err2 != nil || len(parts) != 4 {
		return bad("is malformed")
	}
	k, ok := s.keys().APIKey(string(parts[0]))
	if !ok {
		return bad("names an unknown or revoked key")
	}
	if !hmac.Equal(mac, streamMAC(k.Hash, payload)) {
		return bad("has a bad signature")
	}
	expiry, err := strconv.ParseInt(string(parts[3]), 10, 64)
	if err != nil || now.Unix() > expiry {
		return bad("has expired")
	}
	p := principalOf(k)
	if err := auth.Authorize(&p, auth.Evaluate); err != nil {
		return auth.Principal{}, snapshot.Env{}, err
	}
	project, env, err := auth.Scope(&p, string(parts[1]), string(parts[2]))
	if err != nil {
		return auth.Principal{}, snapshot.Env{}, err
	}
	return p, snapshot.Env{Project: project, Environment: env}, nil
}

// streamAds caches, per key and environment, the eventStreams member of
// bulk answers with a token in it, so a bulk evaluation only appends bytes.
// The map is copied on write: reads take no lock.
type streamAds struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[streamAdKey]*streamAd]
}

type streamAdKey struct {
	keyID string
	env   snapshot.Env
}

// streamAd is one cached eventStreams member.
type streamAd struct {
	fragment []byte // `,"eventStreams":[…]`
	renew    int64  // Unix nanoseconds after which to sign a new token
}

func newStreamAds() *streamAds {
	a := &streamAds{}
	a.m.Store(&map[streamAdKey]*streamAd{})
	return a
}

// eventStreams returns the eventStreams member for a bulk answer to the
// key keyID in env (`,"eventStreams":[…]`), signing a new token when the
// cached one is due for renewal; nil if the key is gone. The bytes are
// shared and must not be modified.
func (s *Server) eventStreams(keyID string, env snapshot.Env) []byte {
	k := streamAdKey{keyID, env}
	now := time.Now()
	if ad := (*s.streamAds.m.Load())[k]; ad != nil && now.UnixNano() < ad.renew {
		return ad.fragment
	}
	if ad := s.newStreamAd(k, now); ad != nil {
		return ad.fragment
	}
	return nil
}

// newStreamAd signs a token and caches its fragment; it drops the entries
// due for renewal while it copies the map. The token's expiry follows from
// the key and the time alone (streamWindow): each renewal window of the
// key has one token, valid until streamTokenTTL after the window's start.
// So every server that signs for a key in the same window — a primary and
// its relays, any number of them behind a load balancer — advertises the
// same token, and their bulk answers and ETags are the same.
func (s *Server) newStreamAd(k streamAdKey, now time.Time) *streamAd {
	key, ok := s.keys().APIKey(k.keyID)
	if !ok {
		return nil
	}
	window := streamWindow(k.keyID, now)
	frag := []byte(`,"eventStreams":[{"type":"sse","endpoint":{"requestUri":"` + ofrepEventsPath + `?token=`)
	frag = append(frag, signStreamToken(key, k.env, window.Add(streamTokenTTL))...)
	frag = append(frag, `"},"inactivityDelaySec":`...)
	frag = strconv.AppendInt(frag, streamInactivitySec, 10)
	frag = append(frag, "}]"...)
	ad := &streamAd{fragment: frag, renew: window.Add(streamTokenRenew).UnixNano()}

	a := s.streamAds
	a.mu.Lock()
	defer a.mu.Unlock()
	old := *a.m.Load()
	next := make(map[streamAdKey]*streamAd, len(old)+1)
	for key, v := range old {
		if now.UnixNano() < v.renew {
			next[key] = v
		}
	}
	next[k] = ad
	a.m.Store(&next)
	return ad
}
