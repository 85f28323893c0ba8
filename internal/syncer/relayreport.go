package syncer

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// Relays report, on the sync stream they follow an environment with, the
// SDK streams they serve for it (sdkpb.RelayReport): every stream counted by
// the revision it acknowledged, and the least advanced listed. The hub
// keeps each relay stream's last report and counts its streams in
// Convergence, under the relay's name; a relay's own hub builds its report
// with Report, its relays' streams included, so that chains add up.

// The bounds of a report.
const (
	// MaxReportStreams caps the streams a report lists.
	MaxReportStreams = 1000
	// maxReportRevisions caps the distinct revisions a report counts.
	maxReportRevisions = 1000
	// maxRelayPath caps the relay path of a reported stream.
	maxRelayPath = 512
)

// ErrNotRelay means an SDK's stream sent a relay report.
var ErrNotRelay = errors.New("only relays send relay reports")

// relayReport is a relay's last report, checked and bounded.
type relayReport struct {
	acked   map[uint64]int
	streams []StreamStatus // Relay: the path below the relay
}

// SetReport records r, the stream's relay's report of the streams behind
// it, replacing the previous one. It fails with ErrNotRelay on an SDK's
// stream, and refuses a report with a negative count or too many
// revisions; the streams listed beyond MaxReportStreams are ignored.
func (s *Stream) SetReport(r *sdkpb.RelayReport) error {
	if s.Info.Relay == "" {
		return ErrNotRelay
	}
	if len(r.GetAcked()) > maxReportRevisions {
		return fmt.Errorf("relay report: acked: %d revisions, more than %d", len(r.GetAcked()), maxReportRevisions)
	}
	rep := &relayReport{acked: make(map[uint64]int, len(r.GetAcked()))}
	for i, a := range r.GetAcked() {
		if a.GetStreams() < 0 || a.GetStreams() > 1<<31 {
			return fmt.Errorf("relay report: acked[%d].streams: %d is out of range", i, a.GetStreams())
		}
		rep.acked[a.GetRevision()] += int(a.GetStreams())
	}
	streams := r.GetStreams()[:min(len(r.GetStreams()), MaxReportStreams)]
	rep.streams = make([]StreamStatus, len(streams))
	for i, st := range streams {
		rep.streams[i] = StreamStatus{
			ID: clip(st.GetId()),
			Info: Info{SDKName: clip(st.GetSdkName()), SDKVersion: clip(st.GetSdkVersion()),
				Peer: clip(st.GetPeer()), KeyID: clip(st.GetKeyId())},
			Since: st.GetConnectedSince().AsTime(),
			Acked: st.GetAckedRevision(),
			Relay: string([]byte(st.GetRelay()[:min(len(st.GetRelay()), maxRelayPath)])),
		}
	}
	s.report.Store(rep)
	s.env.roster.Notify()
	return nil
}

// gather returns the environment's SDK streams, connected here or behind
// relays, counted by acknowledged revision, and those that can be listed.
// The caller holds h.mu.
func (h *Hub) gather(key envKey) (map[uint64]int, []StreamStatus) {
	e := h.envs[key]
	if e == nil {
		return nil, nil
	}
	acked := map[uint64]int{}
	all := make([]StreamStatus, 0, len(e.streams))
	for st := range e.streams {
		if st.Info.Relay == "" {
			n := st.Acked()
			acked[n]++
			all = append(all, StreamStatus{ID: st.ID, Info: st.Info, Since: st.Since, Acked: n})
			continue
		}
		rep := st.report.Load()
		if rep == nil {
			continue
		}
		for rev, n := range rep.acked {
			acked[rev] += n
		}
		for _, s := range rep.streams {
			s.Relay = relayPath(st.Info.Relay, s.Relay)
			all = append(all, s)
		}
	}
	return acked, all
}

// relayPath is the path of a stream behind relay whose path below it is
// below.
func relayPath(relay, below string) string {
	if below == "" {
		return relay
	}
	return relay + "/" + below
}

// Report is what a relay tells its upstream about an environment's
// streams: those connected to it and those behind its own relays, counted
// by acknowledged revision, and up to MaxReportStreams of them listed, the
// least advanced first, then the longest connected. It fails with an
// error matching domain.ErrNotFound when the environment has no revision.
//
// changed is closed at the next change of what Report says (a stream
// joins or leaves, an SDK acknowledges a revision, a relay behind this
// one reports, the environment gets its first revision), so a caller
// builds a report only when something changed; it is returned with the
// error too, and is nil once the hub is closed (nothing changes then).
func (h *Hub) Report(project, env string) (r *sdkpb.RelayReport, changed <-chan struct{}, err error) {
	key := envKey{project, env}
	if e := h.publishedEnv(key); e != nil {
		changed = e.roster.Wait() // before reading, so that no change is missed
	}
	if _, err := h.revision(key); err != nil {
		return nil, changed, err
	}
	h.mu.Lock()
	acked, all := h.gather(key)
	h.mu.Unlock()
	r = &sdkpb.RelayReport{Acked: make([]*sdkpb.RevisionStreams, 0, len(acked))}
	for rev, n := range acked {
		r.Acked = append(r.Acked, &sdkpb.RevisionStreams{Revision: rev, Streams: int64(n)})
	}
	slices.SortFunc(r.Acked, func(a, b *sdkpb.RevisionStreams) int { return cmp.Compare(a.GetRevision(), b.GetRevision()) })
	slices.SortFunc(all, func(a, b StreamStatus) int {
		return cmp.Or(cmp.Compare(a.Acked, b.Acked), a.Since.Compare(b.Since), cmp.Compare(a.ID, b.ID))
	})
	all = all[:min(len(all), MaxReportStreams)]
	r.Streams = make([]*sdkpb.SdkStream, len(all))
	for i, s := range all {
		r.Streams[i] = StreamMessage(s)
	}
	return r, changed, nil
}

// StreamMessage is s as an SdkStream message.
func StreamMessage(s StreamStatus) *sdkpb.SdkStream {
	return &sdkpb.SdkStream{
		Id: s.ID, SdkName: s.Info.SDKName, SdkVersion: s.Info.SDKVersion, Peer: s.Info.Peer,
		ConnectedSince: timestamppb.New(s.Since), AckedRevision: s.Acked, KeyId: s.Info.KeyID, Relay: s.Relay,
	}
}
