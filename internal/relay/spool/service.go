package spool

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// Limits of a relayed SendEvents call: the primary's.
const (
	maxEventsPerRequest = 10_000
	maxSDKFieldBytes    = 128
	maxBatchIDBytes     = 128
)

// Service is a relay's EventService. SendEvents checks the request as the
// primary does (its size, the SDK fields, the batch id), spools its events
// for the environment Scope resolves and answers once they are durable,
// every event accepted: the primary validates each event when it arrives
// there and counts the rejected ones in its usage report. ListFlagUsage is
// the primary's alone (UNIMPLEMENTED).
type Service struct {
	sdkpb.UnimplementedEventServiceServer
	Spool *Spool
	// Scope returns the environment of a call: the caller's key's, or the
	// one the request names (project and environment may be empty). Its
	// error is returned as is.
	Scope func(ctx context.Context, project, environment string) (string, string, error)
}

var _ sdkpb.EventServiceServer = (*Service)(nil)

// SendEvents spools a batch of events.
func (s *Service) SendEvents(ctx context.Context, req *sdkpb.SendEventsRequest) (*sdkpb.SendEventsResponse, error) {
	project, environment, err := s.Scope(ctx, req.GetProject(), req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	if n := len(req.GetEvents()); n > maxEventsPerRequest {
		return nil, status.Errorf(codes.InvalidArgument, "events: has %d events, more than the limit of %d per call", n, maxEventsPerRequest)
	}
	for _, f := range []struct{ path, v string }{{"sdk_name", req.GetSdkName()}, {"sdk_version", req.GetSdkVersion()}} {
		if len(f.v) > maxSDKFieldBytes || !utf8.ValidString(f.v) {
			return nil, status.Errorf(codes.InvalidArgument, "%s: must be valid UTF-8 of at most %d bytes", f.path, maxSDKFieldBytes)
		}
	}
	if !validBatchID(req.GetBatchId()) {
		return nil, status.Errorf(codes.InvalidArgument, "batch_id: must be at most %d letters, digits and \"._:-\"", maxBatchIDBytes)
	}
	if len(req.GetEvents()) == 0 {
		return &sdkpb.SendEventsResponse{}, nil
	}
	spooled := proto.CloneOf(req)
	spooled.Project, spooled.Environment = project, environment
	if err := s.Spool.Append(ctx, spooled); err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &sdkpb.SendEventsResponse{Accepted: int32(len(req.GetEvents()))}, nil
}

// validBatchID reports whether id may be a batch id: empty, or at most
// maxBatchIDBytes ASCII letters, digits and "._:-".
func validBatchID(id string) bool {
	if len(id) > maxBatchIDBytes {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("._:-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Metrics returns the spool's metrics, read at scrape time, for a
// Prometheus registry.
func (s *Spool) Metrics() prometheus.Collector { return spoolMetrics{s} }

type spoolMetrics struct{ s *Spool }

var (
	descBatches   = prometheus.NewDesc("switchyard_relay_spool_batches", "Event batches in the relay's spool, waiting for the upstream.", nil, nil)
	descBytes     = prometheus.NewDesc("switchyard_relay_spool_bytes", "Encoded size of the event batches in the relay's spool.", nil, nil)
	descDropped   = prometheus.NewDesc("switchyard_relay_events_dropped_total", "Events dropped from the relay's spool, oldest first, to stay within its bounds.", nil, nil)
	descForwarded = prometheus.NewDesc("switchyard_relay_events_forwarded_total", "Events the relay forwarded to its upstream, by outcome (sent, refused: dropped after the upstream refused their batch).", []string{"outcome"}, nil)
	descDown      = prometheus.NewDesc("switchyard_relay_events_upstream_down", "1 while the relay cannot forward events to its upstream and retries.", nil, nil)
)

func (m spoolMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBatches, descBytes, descDropped, descForwarded, descDown} {
		ch <- d
	}
}

func (m spoolMetrics) Collect(ch chan<- prometheus.Metric) {
	st := m.s.Stats()
	down := 0.0
	if st.UpstreamDown {
		down = 1
	}
	ch <- prometheus.MustNewConstMetric(descBatches, prometheus.GaugeValue, float64(st.Batches))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(st.DroppedEvents))
	ch <- prometheus.MustNewConstMetric(descForwarded, prometheus.CounterValue, float64(st.ForwardedEvents), "sent")
	ch <- prometheus.MustNewConstMetric(descForwarded, prometheus.CounterValue, float64(st.RefusedEvents), "refused")
	ch <- prometheus.MustNewConstMetric(descDown, prometheus.GaugeValue, down)
}
