package sdk_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// reportingRelay is a Relay that reports SDK streams behind it: the test
// sets its report, and it counts the reports the client asked it for.
type reportingRelay struct {
	mu      sync.Mutex
	report  *sdkpb.RelayReport
	changed chan struct{}
	built   int
}

func (r *reportingRelay) Applied(*eval.Ruleset, []*sdkpb.Section) {}
func (r *reportingRelay) Keys(*sdkpb.KeySet)                      {}
func (r *reportingRelay) Release(*sdkpb.ReleaseNotice)            {}

func (r *reportingRelay) Report() (*sdkpb.RelayReport, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.built++
	return r.report, r.changed
}

// set replaces the report and tells the client it changed.
func (r *reportingRelay) set(rep *sdkpb.RelayReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report = rep
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *reportingRelay) builds() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.built
}

// streamsAt reports n SDK streams that acknowledged revision.
func streamsAt(n int, revision uint64) *sdkpb.RelayReport {
	return &sdkpb.RelayReport{Acked: []*sdkpb.RevisionStreams{{Revision: revision, Streams: int64(n)}}}
}

func TestRelayClientReportsOnlyWhenTheReportChanges(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	key := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": "edge", "kind": "relay", "project": "default", "environments": []string{"production"},
	})["secret"].(string)
	rel := &reportingRelay{report: streamsAt(1, 1), changed: make(chan struct{})}
	c := newClient(t, sdk.Config{Address: srv.GRPCAddr, SDKKey: key, Project: "default", Environment: "production", Relay: rel})
	waitReady(t, c)
	connected := func(n int) func() bool {
		return func() bool {
			conv := srv.Admin(t, "GET", "/api/v1/projects/default/environments/production/convergence", nil)
			return fmt.Sprint(conv["connected"]) == fmt.Sprint(n)
		}
	}
	eventually(t, "the primary counts the stream the relay reports", connected(1))

	// While the report does not change the client builds none: over a few
	// report intervals (a poll would have built one per interval; the
	// wait measures no speed, nothing at all may happen in it).
	time.Sleep(4 * sdk.RelayReportInterval)
	if got := rel.builds(); got != 1 {
		t.Errorf("reports built while nothing changed = %d, want 1 (the first)", got)
	}

	rel.set(streamsAt(3, 1))
	eventually(t, "the primary counts the three streams of the changed report", connected(3))
	if got := rel.builds(); got != 2 {
		t.Errorf("reports built after one change = %d, want 2", got)
	}
}
