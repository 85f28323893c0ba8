package syncer

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/model"
)

// maxPendingNotices bounds the release notices a stream keeps until it
// sends them; when more come, the oldest are dropped. Releases move a few
// times a day, so only a stuck stream ever drops one.
const maxPendingNotices = 16

// notice is a release notice for the streams of one environment.
type notice struct {
	env string
	msg *sdkpb.SyncResponse
}

// releaseNotices returns, in timeline order, a notice for every step that
// a release of cur took since old (nil: the project is new to the hub, so
// nothing is news) and that changed the release's state or stage. The
// store shares unchanged releases between states, so an unchanged release
// costs a pointer comparison.
func releaseNotices(old, cur *domain.ProjectState) []notice {
	if old == nil || old == cur {
		return nil
	}
	var out []notice
	for _, r := range cur.Releases() {
		prev, _, _ := old.Release(r.ID)
		if prev == r {
			continue
		}
		seen := 0
		if prev != nil {
			seen = min(len(prev.Timeline), len(r.Timeline))
		}
		for i := seen; i < len(r.Timeline); i++ {
			ev := &r.Timeline[i]
			stageBefore := 0
			if i > 0 {
				stageBefore = r.Timeline[i-1].Stage
			}
			if ev.From == "" || (ev.From == ev.To && ev.Stage == stageBefore) {
				continue // created, or a step such as an approval
			}
			out = append(out, notice{env: r.Environment, msg: noticeMessage(r, ev)})
		}
	}
	return out
}

// noticeMessage builds the message of one step of r.
func noticeMessage(r *model.Release, ev *model.ReleaseEvent) *sdkpb.SyncResponse {
	return &sdkpb.SyncResponse{Message: &sdkpb.SyncResponse_Release{Release: &sdkpb.ReleaseNotice{
		ReleaseId:    r.ID,
		Title:        r.Title,
		Environment:  r.Environment,
		Action:       ev.Action,
		FromState:    string(ev.From),
		ToState:      string(ev.To),
		Stage:        int32(ev.Stage),
		Revision:     ev.Revision,
		Time:         timestamppb.New(ev.Time),
		ReleaseNotes: r.ReleaseNotes,
	}}}
}
