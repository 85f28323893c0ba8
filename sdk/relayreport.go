package sdk

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// relayReportInterval is how often a relay's client looks for a change in
// the report of the streams it serves.
const relayReportInterval = 250 * time.Millisecond

// relayReporter is a Relay that reports upstream the SDK streams it serves
// (sdkpb.RelayReport), so that the primary's convergence counts them. Report
// returns the current report, nil while there is none; it must return
// quickly.
type relayReporter interface {
	Report() *sdkpb.RelayReport
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
// whenever it changes, until ctx (the stream's) is done or a send fails
// (the sync goroutine then sees the stream's end).
func reportRelay(ctx context.Context, rr relayReporter, out *streamSender) {
	tick := time.NewTicker(relayReportInterval)
	defer tick.Stop()
	var last *sdkpb.RelayReport
	for {
		if r := rr.Report(); r != nil && !proto.Equal(r, last) {
			if err := out.send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_RelayReport{RelayReport: r}}); err != nil {
				return
			}
			last = r
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
