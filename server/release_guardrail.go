package server

import (
	"context"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// addGuardrailResult sets out's guardrail_result: the current stage's
// guardrail metric with every event stored before the call counted, when
// the release serves a stage with a guardrail.
func (s *releaseService) addGuardrailResult(ctx context.Context, ps *domain.ProjectState, out *pb.Release) error {
	r, _, ok := ps.Release(out.GetId())
	if !ok || !r.State.Serving() || r.Stage < 1 || r.Stage > len(r.Plan) || r.Plan[r.Stage-1].Guardrail == nil {
		return nil
	}
	if err := s.experiments.CatchUp(ctx); err != nil {
		return err
	}
	m, err := s.experiments.ReleaseGuardrail(ctx, ps, r)
	if err != nil || m == nil {
		return err
	}
	out.GuardrailResult, err = metricResultProto(*m)
	return err
}
