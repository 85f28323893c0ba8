package experiment

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
)

// ExposureCount is the units first exposed to each variant of an
// experiment up to a time, cumulative since its start.
type ExposureCount struct {
	// Time is the end of the interval counted (exclusive).
	Time time.Time
	// Units are per variant, control first (as Results.Arms).
	Units []int64
}

// exposureSteps are the interval lengths Exposures chooses from.
var exposureSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour,
	6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// maxExposurePoints bounds the intervals Exposures returns.
const maxExposurePoints = 60

// Exposures returns the exposed units of experiment id of project over
// time: one count per interval from its start to its stop (or now, while
// it runs), cumulative, the interval the shortest of exposureSteps that
// gives at most maxExposurePoints of them (the last ends at or after the
// stop or now). A draft, and an experiment whose per-unit records were
// pruned after it stopped, has none. It reads every unit record of the
// experiment; call CatchUp first for every event stored until now.
func (c *Consumer) Exposures(ctx context.Context, ps *domain.ProjectState, id string, now time.Time) ([]ExposureCount, error) {
	e, _, ok := ps.Experiment(id)
	if !ok {
		return nil, fmt.Errorf("%s: %w", domain.ExperimentName(ps.Key(), id), domain.ErrNotFound)
	}
	s := experimentStudy(ps.Key(), e)
	if s == nil {
		return nil, nil
	}
	end := now
	if !s.stop.IsZero() {
		end = s.stop
	}
	if end.Before(s.start) {
		end = s.start
	}
	step := exposureSteps[len(exposureSteps)-1]
	for _, st := range exposureSteps {
		if end.Sub(s.start) <= st*maxExposurePoints {
			step = st
			break
		}
	}
	n := int(end.Sub(s.start)/step) + 1
	n = min(n, maxExposurePoints+1)
	hist := make([][]int64, n)
	for i := range hist {
		hist[i] = make([]int64, len(s.arms))
	}
	found := false
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	err := c.side.Load(ctx, unitsPath(s.key), func(r domain.Record) error {
		found = true
		rec, ok := decodeUnit(r.Value, 0)
		if !ok || int(rec.arm) >= len(s.arms) {
			return nil
		}
		i := int(time.Unix(int64(rec.exposed), 0).Sub(s.start) / step)
		hist[max(0, min(i, n-1))][rec.arm]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("experiment state %q: %w", s.key, err)
	}
	if !found {
		return nil, nil
	}
	out := make([]ExposureCount, n)
	total := make([]int64, len(s.arms))
	for i, h := range hist {
		for a, u := range h {
			total[a] += u
		}
		out[i] = ExposureCount{Time: s.start.Add(time.Duration(i+1) * step), Units: append([]int64(nil), total...)}
	}
	return out, nil
}
