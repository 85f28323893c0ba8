package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
)

// Metadata keys the interceptors read.
const (
	mdAuthorization = "authorization"
	mdAPIKey        = "x-api-key"
	// mdPeer carries the HTTP client's address from the in-process gateway.
	// It is believed only on calls that come through the gateway's pipe.
	mdPeer = "x-switchyard-peer"
	// mdIfMatch carries an update's or delete's etag: the If-Match header
	// of a REST call, or metadata a gRPC client sends.
	mdIfMatch = "if-match"
)

type callerKey struct{}

// caller is who is calling and from where.
type caller struct {
	principal auth.Principal
	peer      string
}

// callerFrom returns the caller the interceptor authenticated.
func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// actor describes the caller for the audit log.
func actorFrom(ctx context.Context) domain.Actor {
	c := callerFrom(ctx)
	if c == nil {
		return domain.Actor{Name: "system"}
	}
	return domain.Actor{
		KeyID: c.principal.KeyID, Name: c.principal.Name, Principal: c.principal.Owner,
		Role: domain.Role(c.principal.Role), Peer: c.peer,
	}
}

// authenticate finds the key a secret sent from addr belongs to. An
// address that failed too often lately is refused first, without looking
// at the secret (auth.ErrThrottled); a refused secret counts against its
// address.
func (s *Server) authenticate(addr, secret string) (auth.Principal, error) {
	return s.throttled(addr, func() (auth.Principal, error) {
		if secret == "" {
			return auth.Principal{}, fmt.Errorf("%w: no API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'", auth.ErrUnauthenticated)
		}
		k, ok := s.keys().KeyByHash(domain.HashSecret(secret))
		if !ok {
			return auth.Principal{}, fmt.Errorf("%w: unknown or revoked API key", auth.ErrUnauthenticated)
		}
		return principalOf(k), nil
	})
}

// throttled runs authn for a caller at addr unless addr is throttled, and
// counts an auth.ErrUnauthenticated it returns against addr.
func (s *Server) throttled(addr string, authn func() (auth.Principal, error)) (auth.Principal, error) {
	if err := s.throttle.Check(addr); err != nil {
		return auth.Principal{}, err
	}
	p, err := authn()
	if errors.Is(err, auth.ErrUnauthenticated) {
		s.throttle.Fail(addr)
	}
	return p, err
}

// principalOf is the caller a key authenticates.
func principalOf(k *domain.APIKey) auth.Principal {
	return auth.Principal{
		KeyID: k.ID, Name: k.Name, Kind: auth.Kind(k.Kind), Role: auth.Role(k.Role), Owner: k.Principal,
		Project: k.Project, Environment: k.Environment, Environments: k.Environments,
	}
}

// throttledStatus is the RESOURCE_EXHAUSTED status of a throttled caller,
// with the delay in its RetryInfo.
func throttledStatus(te *auth.ThrottledError) error {
	st := status.New(codes.ResourceExhausted, te.Error())
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(te.RetryAfterSeconds()) * time.Second)}); err == nil {
		st = d
	}
	return st.Err()
}

// admit authenticates and authorizes one call and returns the context the
// handler runs with. A gateway call for a REST request the edge
// authenticated takes the edge's principal: the key is looked up once.
func (s *Server) admit(ctx context.Context, method string) (context.Context, error) {
	perm, known := s.permissions[method]
	if !known {
		return nil, status.Errorf(codes.PermissionDenied, "method %s is not open to any key", method)
	}
	if perm == auth.Public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	c := &caller{peer: peerAddress(ctx, md)}
	info := s.gatewayRequestInfo(ctx, md)
	p, ok := info.authenticated()
	if !ok {
		var err error
		if p, err = s.authenticate(c.peer, secretFromMetadata(md)); err != nil {
			return nil, toStatus(s.log, err)
		}
	}
	if err := auth.Authorize(&p, perm); err != nil {
		return nil, toStatus(s.log, err)
	}
	c.principal = p
	setCaller(info, &p)
	return context.WithValue(ctx, callerKey{}, c), nil
}

func secretFromMetadata(md metadata.MD) string {
	if v := md.Get(mdAuthorization); len(v) > 0 {
		if s := auth.SecretFromHeader(v[0]); s != "" {
			return s
		}
	}
	if v := md.Get(mdAPIKey); len(v) > 0 {
		return v[0]
	}
	return ""
}

// peerAddress is the caller's network address: the TCP peer of a direct
// call, or the HTTP client's address the gateway saw. A client-sent
// X-Forwarded-For is never believed.
func peerAddress(ctx context.Context, md metadata.MD) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if _, viaGateway := p.Addr.(gatewayAddr); viaGateway {
		if v := md.Get(mdPeer); len(v) > 0 {
			return v[0]
		}
	}
	if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
		return host
	}
	return p.Addr.String()
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	admitted, err := s.admit(ctx, info.FullMethod)
	if err != nil {
		s.observeGRPC(ctx, info.FullMethod, start, err)
		return nil, err
	}
	ctx = admitted
	if err = withIfMatch(ctx, req); err != nil {
		s.observeGRPC(ctx, info.FullMethod, start, err)
		return nil, err
	}
	resp, err = handler(ctx, req)
	if err != nil {
		err = toStatus(s.log, err)
	}
	s.observeGRPC(ctx, info.FullMethod, start, err)
	return resp, err
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	ctx, err := s.admit(ss.Context(), info.FullMethod)
	if err != nil {
		s.observeGRPC(ss.Context(), info.FullMethod, start, err)
		return err
	}
	err = toStatus(s.log, handler(srv, &contextStream{ServerStream: ss, ctx: ctx}))
	s.observeGRPC(ctx, info.FullMethod, start, err)
	return err
}

// contextStream is a server stream with the admitted context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// withIfMatch puts the etag of an if-match header into the request: into
// its etag field, or else into the etag field of the resource it carries
// (UpdateFlagRequest.flag.etag), so every update and delete reads its
// precondition from one place whichever way it came. A request that names
// another etag already is refused; a request without an etag field (an
// immutable resource) is left alone. "*" and an empty value ask for
// nothing; quotes and a weak "W/" prefix are removed.
func withIfMatch(ctx context.Context, req any) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(mdIfMatch)
	msg, ok := req.(proto.Message)
	if len(vals) == 0 || !ok {
		return nil
	}
	etag := unquoteEtag(vals[0])
	if etag == "" || etag == "*" {
		return nil
	}
	m, f := etagField(msg.ProtoReflect())
	if f == nil {
		return nil
	}
	if cur := m.Get(f).String(); cur != "" && cur != etag {
		return invalidField("etag", "the request names etag %q and If-Match %q", cur, etag)
	}
	m.Set(f, protoreflect.ValueOfString(etag))
	return nil
}

// etagField finds where a request carries its etag: its own string field
// "etag", or that of the first resource message it carries.
func etagField(m protoreflect.Message) (protoreflect.Message, protoreflect.FieldDescriptor) {
	fields := m.Descriptor().Fields()
	if f := fields.ByName("etag"); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
		return m, f
	}
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() || !m.Has(f) {
			continue
		}
		sub := m.Mutable(f).Message()
		if e := sub.Descriptor().Fields().ByName("etag"); e != nil && e.Kind() == protoreflect.StringKind && !e.IsList() {
			return sub, e
		}
	}
	return nil, nil
}
