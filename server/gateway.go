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
	"github.com/switchyard/switchyard/internal/gen/openapi"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// httpHandler routes the HTTP port: the REST admin API (through the
// gateway), its OpenAPI document, OFREP, the health endpoints, the
// Prometheus metrics and, at every other path, the operations console.
func (s *Server) httpHandler(ctx context.Context, conn *grpc.ClientConn) (http.Handler, error) {
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
	for _, svc := range gatewayServices {
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
	s.registerCalendarFeed(mux) // not through the gateway: text/calendar
	// The console calls the services over the same in-process connection.
	con, err := console.New(console.Options{Conn: conn, Identify: s.authenticate, Log: s.log})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	mux.Handle("/", con)
	top := http.NewServeMux()
	top.Handle("/", limitBody(boundBody(s.bodyTimeout, mux)))
	s.registerSegmentKeys(top) // streamed uploads: limited by key count and length, not bytes or time
	return s.observeHTTP(cors(top)), nil
}

// gatewayServices are the services the REST gateway serves, by gRPC name.
var gatewayServices = []struct {
	name     string
	register func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error
}{
	{pb.ProjectService_ServiceDesc.ServiceName, pb.RegisterProjectServiceHandler},
	{pb.SegmentService_ServiceDesc.ServiceName, pb.RegisterSegmentServiceHandler},
	{pb.FlagService_ServiceDesc.ServiceName, pb.RegisterFlagServiceHandler},
	{pb.ComponentService_ServiceDesc.ServiceName, pb.RegisterComponentServiceHandler},
	{pb.KeyService_ServiceDesc.ServiceName, pb.RegisterKeyServiceHandler},
	{pb.DocumentService_ServiceDesc.ServiceName, pb.RegisterDocumentServiceHandler},
	{pb.AuditService_ServiceDesc.ServiceName, pb.RegisterAuditServiceHandler},
	{pb.EvaluationService_ServiceDesc.ServiceName, pb.RegisterEvaluationServiceHandler},
	{pb.ReleaseService_ServiceDesc.ServiceName, pb.RegisterReleaseServiceHandler},
	{pb.ReleaseModelService_ServiceDesc.ServiceName, pb.RegisterReleaseModelServiceHandler},
	{pb.SyncService_ServiceDesc.ServiceName, pb.RegisterSyncServiceHandler},
	{pb.EventService_ServiceDesc.ServiceName, pb.RegisterEventServiceHandler},
	{pb.ExperimentService_ServiceDesc.ServiceName, pb.RegisterExperimentServiceHandler},
	{pb.WebhookService_ServiceDesc.ServiceName, pb.RegisterWebhookServiceHandler},
	{pb.FreezeService_ServiceDesc.ServiceName, pb.RegisterFreezeServiceHandler},
}

// healthz answers 200 while the process serves: "ok" for probes, or, with
// "Accept: application/json" or "?verbose", a JSON object with the build
// (version, commit, Go version) and the uptime in seconds.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	_, verbose := r.URL.Query()["verbose"]
	if !verbose && !strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Write([]byte("ok\n"))
		return
	}
	bi := buildinfo.Get()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Status string `json:"status"`
		buildinfo.Info
		UptimeSeconds int64 `json:"uptime_seconds"`
	}{"ok", bi, int64(time.Since(s.started).Seconds())})
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
