package experiment

import (
	"context"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// ReleaseGuardrail returns the guardrail of release r's current stage as
// the guard sees it now: the metric for the control (the units its flag
// served outside the release) and the treatment (the units the release
// served), the treatment's comparison with the control, and the treatment
// in Tripped when the guardrail trips. It is nil when the stage has no
// guardrail or the release serves no audience. It reads what was counted
// so far; call CatchUp first for every event stored until now.
func (c *Consumer) ReleaseGuardrail(ctx context.Context, ps *domain.ProjectState, r *model.Release) (*MetricResult, error) {
	s := releaseStudy(ps, r)
	if s == nil {
		return nil, nil
	}
	gr := *r.Plan[r.Stage-1].Guardrail
	agg, err := c.readCounts(ctx, s)
	if err != nil {
		return nil, err
	}
	m := &s.metrics[0]
	mr := &MetricResult{Metric: *m, Guardrail: &gr}
	for arm := range s.arms {
		vr := variantResult(agg, 0, arm, m)
		vr.Variant = s.arms[arm]
		if arm == armTreatment {
			cmp := compare(agg, 0, arm, m)
			vr.Comparison, vr.Outcome = &cmp, outcome(cmp, m)
			if trips(gr, m, cmp, agg.Units[armTreatment], agg.Units[armControl]) {
				mr.Tripped = append(mr.Tripped, vr.Variant)
			}
		}
		mr.Variants = append(mr.Variants, vr)
	}
	return mr, nil
}
