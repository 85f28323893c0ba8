package server

import (
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/release"
)

// releaseView is releaseProto with the convergence of a running release's
// current stage measured now, from the sync hub, in place of the one last
// recorded.
func (s *Server) releaseView(ps *domain.ProjectState, id string) (*pb.Release, error) {
	out, err := releaseProto(ps, id)
	if err != nil {
		return nil, err
	}
	r, _, _ := ps.Release(id)
	if !r.State.Serving() {
		return out, nil
	}
	m, err := release.MeasureConvergence(s.sync, ps.Key(), r, time.Now().UTC())
	if err != nil || m == nil {
		return out, nil // the environment is going away: show what was recorded
	}
	live := &pb.ReleaseConvergence{}
	if err := toProto(m, live); err != nil {
		return nil, err
	}
	for _, v := range out.Verification {
		if v.GetStage() == int32(r.Stage) {
			v.Convergence = live
			return out, nil
		}
	}
	out.Verification = append(out.Verification, &pb.ReleaseStageVerification{Stage: int32(r.Stage), Convergence: live})
	return out, nil
}
