package sdk

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// relayReportInterval is the least time between two reports of a relay's
// client: the changes within it (a wave of SDKs connecting, or
// acknowledging a revision) go out as one report.
const relayReportInterval = 250 * time.Millisecond

// relayReporter is a Relay that reports upstream the SDK streams it serves
// (sdkpb.RelayReport), so that the primary's convergence counts them. Report
// returns the current report, nil while there is none, and a channel
// closed when it changes (nil: it never does); it must return quickly.
type relayReporter interface {
	Report() (report *sdkpb.RelayReport, changed <-chan struct{})
}

// streamSender serializes the Sends on one stream: the sync goroutine's
// acknowledgements and a relay's reports.
type streamSender struct {
	mu sync.Mutex
	s  sdkpb.SyncService_SyncClient
}

func (o *streamSender) send(m *sdkpb.SyncRequest) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.s.Send(m)
}

// reportRelay sends rr's report on the stream when the stream starts and
// whenever it changes, at most once per relayReportInterval, until ctx
// (the stream's) is done or a send fails (the sync goroutine then sees the
// stream's end). While the report does not change it does nothing: it
// waits for the change, with no timer.
func reportRelay(ctx context.Context, rr relayReporter, out *streamSender) {
	pace := time.NewTimer(relayReportInterval)
	pace.Stop()
	var last *sdkpb.RelayReport
	for {
		r, changed := rr.Report()
		built := time.Now()
		if r != nil && !proto.Equal(r, last) {
			if err := out.send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_RelayReport{RelayReport: r}}); err != nil {
				return
			}
			last = r
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		if wait := relayReportInterval - time.Since(built); wait > 0 {
			pace.Reset(wait)
			select {
			case <-ctx.Done():
				pace.Stop()
				return
			case <-pace.C:
			}
		}
	}
}
