package experiment_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/experiment"
)

func (r *rig) exposures(t *testing.T, id string, now time.Time) map[time.Duration][]int64 {
	t.Helper()
	ctx := context.Background()
	if err := r.consumer.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	ps, _ := r.st.State().Project("shop")
	counts, err := r.consumer.Exposures(ctx, ps, id, now)
	if err != nil {
		t.Fatal(err)
	}
	out := map[time.Duration][]int64{}
	for _, c := range counts {
		out[c.Time.Sub(*r.experiment(t, id).StartTime)] = c.Units
	}
	out[-1] = []int64{int64(len(counts))}
	return out
}

func TestExposuresAreCumulativePerIntervalSinceTheStart(t *testing.T) {
	r := newRig(t)
	r.start(t, abTest("ab"))
	r.send(t, r.exposure("u1", "off", "ab"), r.exposure("u2", "on", "ab"))
	r.clock.Add(12 * time.Minute)
	r.send(t, r.exposure("u3", "on", "ab"), r.exposure("u1", "off", "ab")) // u1 counts once
	r.clock.Add(2 * time.Hour)
	r.send(t, r.exposure("u4", "off", "ab"))
	got := r.exposures(t, "ab", r.clock.Now().Add(48*time.Minute)) // three hours after the start
	// Three hours in intervals of five minutes: 36 of them and the one
	// the end falls in.
	want := map[time.Duration][]int64{
		-1:                           {37},
		5 * time.Minute:              {1, 1},
		10 * time.Minute:             {1, 1},
		15 * time.Minute:             {1, 2},
		135 * time.Minute:            {2, 2},
		185 * time.Minute:            {2, 2},
		2*time.Hour + 10*time.Minute: {1, 2},
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("exposures at start+%v = %v, want %v", k, got[k], w)
		}
	}
}

func TestExposuresOfADraftAreNone(t *testing.T) {
	r := newRig(t)
	r.update(t, func(tx *domain.Tx) error { return experiment.Create(tx, "shop", abTest("ab")) })
	if got := r.exposures(t, "ab", r.clock.Now()); got[-1][0] != 0 {
		t.Errorf("a draft has %d exposure counts, want none", got[-1][0])
	}
}
