package syncer

import (
	"testing"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// TestStuckStreamKeepsFewNotices: a stream that does not send keeps the
// newest notices only, and is marked once.
func TestStuckStreamKeepsFewNotices(t *testing.T) {
	st := &Stream{wake: make(chan struct{}, 1)}
	for i := range maxPendingNotices + 5 {
		st.addNotice(&sdkpb.SyncResponse{Message: &sdkpb.SyncResponse_Release{Release: &sdkpb.ReleaseNotice{Stage: int32(i)}}})
	}
	got := st.TakeNotices(0)
	if len(got) != maxPendingNotices || got[0].GetRelease().GetStage() != 5 {
		t.Errorf("kept %d notices starting at stage %d, want %d starting at 5", len(got), got[0].GetRelease().GetStage(), maxPendingNotices)
	}
	if len(st.TakeNotices(0)) != 0 {
		t.Error("notices were kept after TakeNotices")
	}
	if len(st.wake) != 1 {
		t.Errorf("mailbox holds %d marks, want 1", len(st.wake))
	}
}

// TestNoticesWaitForTheirRevision: a notice whose revision has not been
// sent on the stream yet stays queued until it has.
func TestNoticesWaitForTheirRevision(t *testing.T) {
	st := &Stream{wake: make(chan struct{}, 1)}
	for _, rev := range []uint64{14, 16} {
		st.addNotice(&sdkpb.SyncResponse{Message: &sdkpb.SyncResponse_Release{Release: &sdkpb.ReleaseNotice{Revision: rev}}})
	}
	if got := st.TakeNotices(15); len(got) != 1 || got[0].GetRelease().GetRevision() != 14 {
		t.Fatalf("TakeNotices(15) = %v, want the notice of revision 14 alone", got)
	}
	if got := st.TakeNotices(16); len(got) != 1 || got[0].GetRelease().GetRevision() != 16 {
		t.Errorf("TakeNotices(16) = %v, want the notice of revision 16", got)
	}
}
