package syncer_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/syncer"
)

// joinRelay joins a relay's stream named name.
func (f *fixture) joinRelay(t *testing.T, name string) *syncer.Stream {
	t.Helper()
	st, err := f.hub.Join("shop", "production", syncer.Info{SDKName: "switchyard-relay", KeyID: f.keyID, Relay: name})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(func() { f.hub.Leave(st) })
	st.MarkSent(st.Latest())
	return st
}

func reported(id, relay string, acked uint64) *sdkpb.SdkStream {
	return &sdkpb.SdkStream{Id: id, SdkName: "go", Relay: relay, AckedRevision: acked, ConnectedSince: timestamppb.Now()}
}

func TestConvergenceCountsTheStreamsRelaysReport(t *testing.T) {
	f := newFixture(t)
	direct := f.join(t)
	rev := f.toggle(t, true)
	waitFor(t, "the revision", func() bool { return direct.Latest().Number == rev })
	direct.MarkSent(direct.Latest())
	direct.Ack(rev)

	edge := f.joinRelay(t, "edge-eu")
	// Two SDKs on edge-eu itself (one converged), three behind the relay
	// edge-paris that follows it (one converged).
	err := edge.SetReport(&sdkpb.RelayReport{
		Acked: []*sdkpb.RevisionStreams{{Revision: rev - 1, Streams: 3}, {Revision: rev, Streams: 2}},
		Streams: []*sdkpb.SdkStream{
			reported("p1", "edge-paris", rev-1), reported("e1", "", rev-1), reported("p2", "edge-paris", rev-1),
			reported("e2", "", rev), reported("p3", "edge-paris", rev),
		},
	})
	if err != nil {
		t.Fatalf("SetReport() = %v", err)
	}
	got, err := f.hub.Convergence("shop", "production", rev, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.Connected != 6 || got.Converged != 3 || len(got.Streams) != 6 {
		t.Fatalf("Convergence = %+v, want 6 SDKs connected (the relay itself not counted), 3 converged, 6 listed", got)
	}
	relays := map[string]string{}
	for _, s := range got.Streams {
		relays[s.ID] = s.Relay
	}
	want := map[string]string{direct.ID: "", "e1": "edge-eu", "e2": "edge-eu", "p1": "edge-eu/edge-paris", "p2": "edge-eu/edge-paris", "p3": "edge-eu/edge-paris"}
	if fmt.Sprint(relays) != fmt.Sprint(want) {
		t.Errorf("relays of the listed streams = %v, want %v", relays, want)
	}
	if s := got.Streams[0]; s.Acked != rev-1 {
		t.Errorf("first listed = %+v, want a lagging stream first", s)
	}
	// The previous revision: every stream has it.
	if got, _ := f.hub.Convergence("shop", "production", rev-1, 0); got.Connected != 6 || got.Converged != 6 {
		t.Errorf("Convergence(rev-1) = %d of %d, want 6 of 6", got.Converged, got.Connected)
	}

	// A new report replaces the old one.
	if err := edge.SetReport(&sdkpb.RelayReport{Acked: []*sdkpb.RevisionStreams{{Revision: rev, Streams: 1}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.hub.Convergence("shop", "production", rev, 100); got.Connected != 2 || got.Converged != 2 {
		t.Errorf("after a new report Convergence = %d of %d, want 2 of 2", got.Converged, got.Connected)
	}
}

func TestHubReportsItsStreamsForItsUpstream(t *testing.T) {
	f := newFixture(t)
	a, b := f.join(t), f.join(t)
	rev := f.toggle(t, true)
	waitFor(t, "the revision", func() bool { return a.Latest().Number == rev })
	a.MarkSent(a.Latest())
	a.Ack(rev)
	_ = b
	paris := f.joinRelay(t, "edge-paris")
	if err := paris.SetReport(&sdkpb.RelayReport{
		Acked:   []*sdkpb.RevisionStreams{{Revision: rev, Streams: 2}},
		Streams: []*sdkpb.SdkStream{reported("p1", "", rev), reported("p2", "deeper", rev)},
	}); err != nil {
		t.Fatal(err)
	}
	r, _, err := f.hub.Report("shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.GetAcked()) != fmt.Sprint([]*sdkpb.RevisionStreams{{Revision: 0, Streams: 1}, {Revision: rev, Streams: 3}}) {
		t.Errorf("Report().acked = %v, want 1 at 0 and 3 at %d", r.GetAcked(), rev)
	}
	var paths []string
	for _, s := range r.GetStreams() {
		paths = append(paths, s.GetId()+"@"+s.GetRelay())
	}
	if want := fmt.Sprintf("[%s@ %s@ p1@edge-paris p2@edge-paris/deeper]", b.ID, a.ID); fmt.Sprint(paths) != want {
		t.Errorf("Report().streams = %v, want %s (least advanced first)", paths, want)
	}
}

func TestSetReportRefusesBadReports(t *testing.T) {
	f := newFixture(t)
	sdk := f.join(t)
	if err := sdk.SetReport(&sdkpb.RelayReport{}); err == nil {
		t.Error("SetReport on an SDK's stream = nil, want an error")
	}
	edge := f.joinRelay(t, "edge")
	if err := edge.SetReport(&sdkpb.RelayReport{Acked: []*sdkpb.RevisionStreams{{Revision: 1, Streams: -1}}}); err == nil {
		t.Error("SetReport with a negative count = nil, want an error")
	}
}
