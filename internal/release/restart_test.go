package release_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
	"github.com/switchyard/switchyard/internal/syncer"
)

// fixedSDKs answers every convergence question with c (at the revision
// asked about).
type fixedSDKs struct{ c syncer.Convergence }

func (f fixedSDKs) Convergence(_, _ string, revision uint64, _ int) (syncer.Convergence, error) {
	c := f.c
	c.Revision = revision
	return c, nil
}

func TestMeasureConvergenceSaysWhichCaseApplied(t *testing.T) {
	grace := 2 * time.Minute
	cases := []struct {
		name         string
		c            syncer.Convergence
		minConnected int
		basis        string
		met          bool
		note         string
	}{
		{"right after a restart, nobody back yet", syncer.Convergence{Expected: 3, Awaiting: true, Grace: grace}, 0,
			model.BasisAwaitingReturn, false, "0 of 3 returned"},
		{"two of three back", syncer.Convergence{Connected: 2, Converged: 2, Expected: 3, Returned: 2, Awaiting: true, Grace: grace}, 0,
			model.BasisAwaitingReturn, false, "2 of 3 returned"},
		{"all three back and converged", syncer.Convergence{Connected: 3, Converged: 3, Expected: 3, Returned: 3, Settled: syncer.SettledReturned}, 0,
			model.BasisReturned, true, "waited for the 3 SDKs"},
		{"all three back, one behind", syncer.Convergence{Connected: 3, Converged: 2, Expected: 3, Returned: 3, Settled: syncer.SettledReturned}, 0,
			model.BasisReturned, false, "waited for the 3 SDKs"},
		{"grace period over, none back", syncer.Convergence{Expected: 3, Settled: syncer.SettledGrace, Grace: grace}, 0,
			model.BasisGraceElapsed, true, "grace period of 2m0s"},
		{"grace period over, one back", syncer.Convergence{Connected: 1, Converged: 1, Expected: 3, Returned: 1, Settled: syncer.SettledGrace, Grace: grace}, 0,
			model.BasisGraceElapsed, true, "1 of 3"},
		{"below the minimum", syncer.Convergence{Connected: 1, Converged: 1}, 2,
			model.BasisBelowMinConnected, false, "fewer than the stage's minimum of 2"},
		{"none connected below the minimum", syncer.Convergence{}, 1,
			model.BasisBelowMinConnected, false, "0 SDKs connected"},
		{"minimum met", syncer.Convergence{Connected: 2, Converged: 2}, 2,
			model.BasisMinConnected, true, "minimum of 2"},
		{"none connected", syncer.Convergence{}, 0,
			model.BasisNoneConnected, true, "no SDKs connected"},
		{"connected", syncer.Convergence{Connected: 5, Converged: 4}, 0,
			model.BasisConnected, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &model.Release{ID: "c", Environment: "production", State: model.StateInProgress, Stage: 1,
				Plan:     []model.Stage{{Weight: 100000, MinConvergence: 0.8, MinConnected: tc.minConnected}},
				Timeline: []model.ReleaseEvent{{Action: "start", To: model.StateInProgress, Stage: 1, Revision: 42}}}
			m, err := release.MeasureConvergence(fixedSDKs{tc.c}, "shop", r, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if m.Basis != tc.basis || m.Met != tc.met || !strings.Contains(m.Note, tc.note) ||
				m.Expected != tc.c.Expected || m.Returned != tc.c.Returned || m.MinConnected != tc.minConnected {
				t.Errorf("MeasureConvergence = %+v, want basis %s, met %v, a note with %q", m, tc.basis, tc.met, tc.note)
			}
		})
	}
}

func TestAdvanceRightAfterARestartWaitsForTheSDKs(t *testing.T) {
	e := newEnv(t)
	e.create(convergentRelease)
	e.update(alice, func(tx *domain.Tx) error { return release.Start(tx, req("c"), time.Time{}) })
	adv := req("c")
	adv.Convergence = fixedSDKs{syncer.Convergence{Expected: 3, Awaiting: true, Grace: 2 * time.Minute}}
	_, err := e.try(alice, func(tx *domain.Tx) error { return release.Advance(tx, adv) })
	if !isPrecondition(err) || !strings.Contains(err.Error(), "0 of 3 returned") {
		t.Fatalf("Advance right after a restart = %v, want a failed precondition waiting for 3 SDKs", err)
	}
	adv.Convergence = fixedSDKs{syncer.Convergence{Connected: 3, Converged: 3, Expected: 3, Returned: 3, Settled: syncer.SettledReturned}}
	e.update(alice, func(tx *domain.Tx) error { return release.Advance(tx, adv) })
	r := e.release("c")
	if c := r.Verification[0].Convergence; r.Stage != 2 || c.Basis != model.BasisReturned || c.Expected != 3 || c.Connected != 3 {
		t.Errorf("stage %d, verification %+v: want stage 2, recorded as waited for 3 returning SDKs", r.Stage, c)
	}
}
