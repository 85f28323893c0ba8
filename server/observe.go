package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/auth"
)

// Every HTTP request and every direct gRPC call is observed once: its
// duration goes into switchyard_request_duration_seconds and one log line
// names the method, route or RPC, status, duration and principal (the key's
// owner and id, never its secret). A REST call passes the gateway's
// in-process gRPC connection too; that call is not observed again, it only
// tells the HTTP request who the caller was (mdRequest links the two).

// mdRequest carries, on a gateway call, the id of the HTTP request it
// serves. It is believed only on calls through the gateway's pipe.
const mdRequest = "x-switchyard-request"

// requestInfo is what the handlers of one HTTP request learn for its log
// line: the route pattern and the authenticated principal. The principal
// also lets the gateway's call for the request skip authenticating again.
type requestInfo struct {
	mu        sync.Mutex
	route     string // the REST route pattern, set by the gateway
	principal string
	keyID     string
	caller    auth.Principal // whom the request's key authenticated
	known     bool           // caller is set
}

type requestInfoKey struct{}

// setCaller records the caller the key of the request info belongs to
// authenticated, if it is an observed HTTP request.
func setCaller(info *requestInfo, p *auth.Principal) {
	if info == nil {
		return
	}
	info.mu.Lock()
	info.principal, info.keyID = principalName(p), p.KeyID
	info.caller, info.known = *p, true
	info.mu.Unlock()
}

// authenticated returns the caller setCaller recorded for the request info
// belongs to; false when there is none (or info is nil).
func (info *requestInfo) authenticated() (auth.Principal, bool) {
	if info == nil {
		return auth.Principal{}, false
	}
	info.mu.Lock()
	defer info.mu.Unlock()
	return info.caller, info.known
}

// setRoute records the route pattern of the request info belongs to, if it
// is an observed HTTP request.
func setRoute(info *requestInfo, pattern string) {
	if info == nil {
		return
	}
	info.mu.Lock()
	info.route = pattern
	info.mu.Unlock()
}

// requestInfoOf returns the observed HTTP request's info, or nil.
func requestInfoOf(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

// principalName names a caller for logs: the person or service the key
// belongs to, else the key's name.
func principalName(p *auth.Principal) string {
	if p.Owner != "" {
		return p.Owner
	}
	return p.Name
}

// gatewayRequests links gateway calls to the HTTP requests they serve.
type gatewayRequests struct {
	next atomic.Uint64
	m    sync.Map // id → *requestInfo
}

// add registers info and returns its id and a function that removes it.
func (g *gatewayRequests) add(info *requestInfo) (string, func()) {
	id := strconv.FormatUint(g.next.Add(1), 10)
	g.m.Store(id, info)
	return id, func() { g.m.Delete(id) }
}

// gatewayMetadata is the gateway's metadata annotator: the client's address
// and the id of the HTTP request; it records the REST route pattern.
func (s *Server) gatewayMetadata(ctx context.Context, r *http.Request) metadata.MD {
	md := metadata.Pairs(mdPeer, remoteHost(r))
	info := requestInfoOf(r.Context())
	if info == nil {
		return md
	}
	if pattern, ok := runtime.HTTPPathPattern(ctx); ok {
		setRoute(info, pattern)
	}
	id, done := s.gwRequests.add(info)
	context.AfterFunc(r.Context(), done)
	md.Set(mdRequest, id)
	return md
}

// gatewayRequestInfo returns the HTTP request a gateway call serves, or
// nil for a direct call.
func (s *Server) gatewayRequestInfo(ctx context.Context, md metadata.MD) *requestInfo {
	if !viaGateway(ctx) {
		return nil
	}
	v := md.Get(mdRequest)
	if len(v) == 0 {
		return nil
	}
	info, _ := s.gwRequests.m.Load(v[0])
	ri, _ := info.(*requestInfo)
	return ri
}

// observedRequest is the state of one observed HTTP request, allocated
// once.
type observedRequest struct {
	statusWriter
	info requestInfo
}

// statusCodes are the HTTP status codes as text, made once so that labels
// do not allocate.
var statusCodes = func() (out [600]string) {
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

// statusCode is code as text.
func statusCode(code int) string {
	if code >= 0 && code < len(statusCodes) {
		return statusCodes[code]
	}
	return strconv.Itoa(code)
}

// statusWriter records the status an HTTP handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers (grpc-gateway, OFREP events) flush.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observeHTTP times and logs every request next serves.
func (s *Server) observeHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		obs := &observedRequest{statusWriter: statusWriter{ResponseWriter: w}}
		info, sw := &obs.info, &obs.statusWriter
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		info.mu.Lock()
		route, principal, keyID := info.route, info.principal, info.keyID
		info.mu.Unlock()
		api := "rest"
		if route == "" {
			route, api = routeOf(r.Pattern)
		}
		ctx := r.Context()
		nameHTTPSpan(ctx, r.Method, route)
		s.metrics.requests.WithLabelValues(api, route, statusCode(sw.status)).Observe(d.Seconds())
		level := slog.LevelInfo
		if api == "probe" {
			level = slog.LevelDebug
		}
		if !s.log.Enabled(ctx, level) {
			return
		}
		s.log.LogAttrs(ctx, level, "http request", slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", sw.status), slog.Duration("duration", d),
			slog.String("principal", principal), slog.String("key_id", keyID), slog.String("peer", remoteHost(r)))
	})
}

// routeOf turns the pattern the mux matched (method first, "GET /healthz")
// into the route label (the path pattern) and the API it belongs to. A
// request no route matched is "unmatched": raw paths never become labels.
func routeOf(pattern string) (route, api string) {
	if pattern == "" {
		return "unmatched", "http"
	}
	route = pattern
	if _, p, ok := strings.Cut(pattern, " "); ok {
		route = p
	}
	switch {
	case strings.HasPrefix(route, "/ofrep/"):
		return route, "ofrep"
	case strings.HasPrefix(route, "/api/"):
		return route, "rest"
	case route == "/healthz" || route == "/readyz" || route == "/metrics":
		return route, "probe"
	}
	return route, "console"
}

// observeGRPC times and logs a direct gRPC call; a gateway call is
// observed as its HTTP request.
func (s *Server) observeGRPC(ctx context.Context, method string, start time.Time, err error) {
	if viaGateway(ctx) {
		return
	}
	d := time.Since(start)
	code := status.Code(err)
	s.metrics.requests.WithLabelValues("grpc", method, code.String()).Observe(d.Seconds())
	level := slog.LevelInfo
	if strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.") {
		level = slog.LevelDebug
	}
	if !s.log.Enabled(ctx, level) {
		return
	}
	var principal, keyID string
	if c := callerFrom(ctx); c != nil {
		principal, keyID = principalName(&c.principal), c.principal.KeyID
	}
	s.log.LogAttrs(ctx, level, "grpc call", slog.String("method", method), slog.String("status", code.String()),
		slog.Duration("duration", d), slog.String("principal", principal), slog.String("key_id", keyID))
}

// viaGateway reports whether a gRPC call came through the gateway's pipe.
func viaGateway(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	_, ok = p.Addr.(gatewayAddr)
	return ok
}
