package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchyard/switchyard/internal/buildinfo"
	"github.com/switchyard/switchyard/internal/console"
	gatewaypb "github.com/switchyard/switchyard/internal/gen/gateway/switchyard/v1"
	"github.com/switchyard/switchyard/internal/gen/openapi"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// httpHandler routes the HTTP port: the REST admin API (through the
// gateway), its OpenAPI document, OFREP, the health endpoints, the
// Prometheus metrics and, at every other path, the operations console.
func (s *Server) httpHandler(ctx context.Context, conn *grpc.ClientConn, services []gatewayService) (http.Handler, error) {
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithMetadata(s.gatewayMetadata),
		runtime.WithErrorHandler(writeGatewayError),
		runtime.WithRoutingErrorHandler(writeRoutingError),
	)
	var names []string
	for _, svc := range services {
		if err := svc.register(ctx, gw, conn); err != nil {
			return nil, fmt.Errorf("register gateway handler: %w", err)
		}
		names = append(names, svc.name)
	}
	rts, err := newRoutes(names)
	if err != nil {
		return nil, fmt.Errorf("gateway routes: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/api/", s.apiEdge(rts, gw))
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapi.JSON)
	})
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	s.registerOFREP(mux)
	s.registerAvailability(mux) // not through the gateway: ETag and 304
	top := http.NewServeMux()
	top.Handle("/", limitBody(boundBody(s.bodyTimeout, mux)))
	if s.store != nil {
		s.registerCalendarFeed(mux) // not through the gateway: text/calendar
		// The console calls the services over the same in-process connection.
		con, err := console.New(console.Options{Conn: conn, Identify: s.authenticate, Log: s.log})
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		mux.Handle("/", con)
		s.registerSegmentKeys(top) // streamed uploads: limited by key count and length, not bytes or time
		s.registerDocumentStreams(top)
		top.Handle("POST /segments/{key}/keys", con) // the console's streamed key-list upload, likewise
	}
	return s.observeHTTP(cors(top)), nil
}

// gatewayService is a service the REST gateway serves, by gRPC name.
type gatewayService struct {
	name     string
	register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
}

// gatewayServices are the services the REST gateway serves.
var gatewayServices = []gatewayService{
	{pb.ProjectService_ServiceDesc.ServiceName, gatewaypb.RegisterProjectServiceHandler},
	{pb.SegmentService_ServiceDesc.ServiceName, gatewaypb.RegisterSegmentServiceHandler},
	{pb.FlagService_ServiceDesc.ServiceName, gatewaypb.RegisterFlagServiceHandler},
	{pb.ComponentService_ServiceDesc.ServiceName, gatewaypb.RegisterComponentServiceHandler},
	{pb.KeyService_ServiceDesc.ServiceName, gatewaypb.RegisterKeyServiceHandler},
	{pb.DocumentService_ServiceDesc.ServiceName, gatewaypb.RegisterDocumentServiceHandler},
	{pb.AuditService_ServiceDesc.ServiceName, gatewaypb.RegisterAuditServiceHandler},
	{sdkpb.EvaluationService_ServiceDesc.ServiceName, gatewaypb.RegisterEvaluationServiceHandler},
	{pb.ReleaseService_ServiceDesc.ServiceName, gatewaypb.RegisterReleaseServiceHandler},
	{pb.ReleaseModelService_ServiceDesc.ServiceName, gatewaypb.RegisterReleaseModelServiceHandler},
	{sdkpb.SyncService_ServiceDesc.ServiceName, gatewaypb.RegisterSyncServiceHandler},
	{sdkpb.EventService_ServiceDesc.ServiceName, gatewaypb.RegisterEventServiceHandler},
	{pb.ExperimentService_ServiceDesc.ServiceName, gatewaypb.RegisterExperimentServiceHandler},
	{pb.WebhookService_ServiceDesc.ServiceName, gatewaypb.RegisterWebhookServiceHandler},
	{pb.FreezeService_ServiceDesc.ServiceName, gatewaypb.RegisterFreezeServiceHandler},
}

// healthz answers 200 while the process serves: "ok" for probes, or, with
// "Accept: application/json" or "?verbose", a JSON object with the build
// (version, commit, Go version) and the uptime in seconds. A relay says
// "stale" instead of "ok" while its upstream is out of reach.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	_, verbose := r.URL.Query()["verbose"]
	if !verbose && !strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Write([]byte(s.statusText() + "\n"))
		return
	}
	bi := buildinfo.Get()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Status string `json:"status"`
		buildinfo.Info
		UptimeSeconds int64 `json:"uptime_seconds"`
	}{s.statusText(), bi, int64(time.Since(s.started).Seconds())})
}

// statusText is the status /healthz reports: "ok", or on a relay whose
// upstream is out of reach "stale".
func (s *Server) statusText() string {
	if s.status == nil {
		return "ok"
	}
	return s.status()
}

// readyz answers 200 once the server has compiled rulesets to serve.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.rulesets.Ready() {
		http.Error(w, "not ready\n", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// limitBody refuses request bodies over MaxBodyBytes.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT",
				fmt.Sprintf("request body of %d bytes is over the limit of %d bytes", r.ContentLength, MaxBodyBytes), nil)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// incomingHeader forwards the headers the interceptors read; everything
// else, X-Forwarded-For included, stays behind.
func incomingHeader(key string) (string, bool) {
	switch textproto.CanonicalMIMEHeaderKey(key) {
	case "X-Api-Key":
		return mdAPIKey, true
	case "Authorization":
		return mdAuthorization, true
	case "If-Match":
		return mdIfMatch, true
	}
	return "", false
}

// remoteHost is the address of the HTTP client's connection.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// apiError is the JSON body of every REST and OFREP-adjacent admin error.
type apiError struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Field   string       `json:"field,omitempty"`
	Details []fieldError `json:"details,omitempty"`
}

type fieldError struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// writeGatewayError writes a gRPC status as an HTTP error with the gRPC
// code's name, the message and the offending field paths.
func writeGatewayError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(err)
	var details []fieldError
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.FieldViolations {
				details = append(details, fieldError{Field: v.Field, Description: v.Description})
			}
		}
	}
	setRetryAfter(w, st)
	writeJSONError(w, runtime.HTTPStatusFromCode(st.Code()), codeName(st.Code().String()), st.Message(), details)
}

// writeRoutingError answers a path the gateway has no route for. (A known
// path with another method never gets here: apiEdge answers it 405.)
func writeRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	code := "NOT_FOUND"
	if httpStatus != http.StatusNotFound {
		code = "INVALID_ARGUMENT"
	}
	writeJSONError(w, httpStatus, code, http.StatusText(httpStatus)+": "+r.Method+" "+r.URL.Path, nil)
}

// writeJSONError writes an apiError.
func writeJSONError(w http.ResponseWriter, httpStatus int, code, msg string, details []fieldError) {
	body := apiError{Code: code, Message: msg, Details: details}
	if len(details) > 0 {
		body.Field = details[0].Field
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	json.NewEncoder(w).Encode(body)
}

// codeName turns a gRPC code's Go name (InvalidArgument) into its
// canonical name (INVALID_ARGUMENT).
func codeName(goName string) string {
	out := make([]byte, 0, len(goName)+4)
	for i := 0; i < len(goName); i++ {
		c := goName[i]
		if c >= 'A' && c <= 'Z' {
			if i > 0 && !(goName[i-1] >= 'A' && goName[i-1] <= 'Z') {
				out = append(out, '_')
			}
			out = append(out, c)
			continue
		}
		out = append(out, c-'a'+'A')
	}
	return string(out)
}
