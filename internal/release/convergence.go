package release

import (
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/syncer"
)

// ConvergenceSource reports how many of an environment's connected SDK
// streams have applied a revision (or a later one); *syncer.Hub is one.
type ConvergenceSource interface {
	Convergence(project, env string, revision uint64, max int) (syncer.Convergence, error)
}

// noSDKs is the note of a convergence measured with no SDK connected.
const noSDKs = "no SDKs connected"

// StageRevision returns the environment revision that entered stage n
// (from 1) of r: the revision of the last start or advance event that
// ended in stage n; 0 when r never entered it.
func StageRevision(r *model.Release, n int) uint64 {
	for i := len(r.Timeline) - 1; i >= 0; i-- {
		ev := &r.Timeline[i]
		if ev.Stage == n && ev.To == model.StateInProgress && (ev.Action == "start" || ev.Action == "advance") {
			return ev.Revision
		}
	}
	return 0
}

// MeasureConvergence measures, at now, how many SDKs of r's environment
// have applied the revision that entered r's current stage, against the
// stage's min_convergence and min_connected, and records which case
// decided (model.Convergence.Basis), first that applies:
//
//   - after a server restart, while streams connected before it have not
//     all returned and the grace period has not passed: not met
//     (awaiting_return);
//   - fewer SDKs connected than the stage's min_connected: not met
//     (below_min_connected);
//   - no SDK connected: the share is 1 and the requirement holds
//     vacuously (none_connected, or grace_elapsed after a restart whose
//     streams did not return): an environment served only by the server
//     itself (OFREP, client keys, availability polls) applies every
//     revision when it commits, and a release must not wait for SDKs that
//     may never come — a stage that must not pass that way sets
//     min_connected;
//   - otherwise the share of the connected SDKs decides (min_connected
//     when the stage sets one, else returned or grace_elapsed after a
//     restart, else connected).
//
// It returns nil for a release that is in no stage.
func MeasureConvergence(src ConvergenceSource, project string, r *model.Release, now time.Time) (*model.Convergence, error) {
	if r.Stage < 1 || r.Stage > len(r.Plan) {
		return nil, nil
	}
	c, err := src.Convergence(project, r.Environment, StageRevision(r, r.Stage), 0)
	if err != nil {
		return nil, fmt.Errorf("convergence of %s: %w", stageName(r, r.Stage), err)
	}
	st := r.Plan[r.Stage-1]
	m := &model.Convergence{
		Revision:     c.Revision,
		Connected:    c.Connected,
		Converged:    c.Converged,
		Required:     st.MinConvergence,
		Time:         now,
		Share:        1,
		Expected:     c.Expected,
		Returned:     c.Returned,
		MinConnected: st.MinConnected,
	}
	if c.Connected > 0 {
		m.Share = float64(c.Converged) / float64(c.Connected)
	}
	// Compared in counts, so that 4 of 5 meets 0.8.
	shareMet := c.Connected == 0 || float64(c.Converged) >= m.Required*float64(c.Connected)-1e-9
	switch {
	case c.Awaiting:
		m.Basis = model.BasisAwaitingReturn
		m.Note = fmt.Sprintf("waiting for the SDKs connected before the server restarted: %d of %d returned (grace period %s)",
			c.Returned, c.Expected, c.Grace)
	case c.Connected < st.MinConnected:
		m.Basis = model.BasisBelowMinConnected
		m.Note = fmt.Sprintf("%d SDKs connected, fewer than the stage's minimum of %d", c.Connected, st.MinConnected)
	case c.Connected == 0 && c.Settled == syncer.SettledGrace:
		m.Basis, m.Met = model.BasisGraceElapsed, true
		m.Note = fmt.Sprintf("%s: the grace period of %s after the restart passed and none of the %d SDKs connected before it returned",
			noSDKs, c.Grace, c.Expected)
	case c.Connected == 0:
		m.Basis, m.Met, m.Note = model.BasisNoneConnected, true, noSDKs
	case st.MinConnected > 0:
		m.Basis, m.Met = model.BasisMinConnected, shareMet
		m.Note = fmt.Sprintf("minimum of %d connected SDKs met", st.MinConnected)
	case c.Settled == syncer.SettledReturned:
		m.Basis, m.Met = model.BasisReturned, shareMet
		m.Note = fmt.Sprintf("after the restart, waited for the %d SDKs connected before it to return", c.Expected)
	case c.Settled == syncer.SettledGrace:
		m.Basis, m.Met = model.BasisGraceElapsed, shareMet
		m.Note = fmt.Sprintf("the grace period of %s after the restart passed with %d of %d SDKs connected before it returned",
			c.Grace, c.Returned, c.Expected)
	default:
		m.Basis, m.Met = model.BasisConnected, shareMet
	}
	return m, nil
}

// describeConvergence says how far the SDKs are, for notes and errors.
func describeConvergence(m *model.Convergence) string {
	if m.Connected == 0 {
		if m.Note != "" && m.Note != noSDKs {
			return fmt.Sprintf("%s (revision %d)", m.Note, m.Revision)
		}
		return fmt.Sprintf("%s (revision %d)", noSDKs, m.Revision)
	}
	out := fmt.Sprintf("%d of %d connected SDKs (%.1f %%) applied revision %d", m.Converged, m.Connected, 100*m.Share, m.Revision)
	if m.Note != "" {
		out += "; " + m.Note
	}
	return out
}

// convergenceNeeds says what a stage's convergence requirement is.
func convergenceNeeds(m *model.Convergence) string {
	out := fmt.Sprintf("%.1f %% of the connected SDKs to apply its revision", 100*m.Required)
	if m.MinConnected > 0 {
		out = fmt.Sprintf("at least %d connected SDKs and %s", m.MinConnected, out)
	}
	return out
}

// verificationOf returns r's verification of stage n, adding an empty one
// when there is none.
func verificationOf(r *model.Release, n int) *model.StageVerification {
	for i := range r.Verification {
		if r.Verification[i].Stage == n {
			return &r.Verification[i]
		}
	}
	r.Verification = append(r.Verification, model.StageVerification{Stage: n})
	return &r.Verification[len(r.Verification)-1]
}

// findVerification returns r's verification of stage n, or nil.
func findVerification(r *model.Release, n int) *model.StageVerification {
	for i := range r.Verification {
		if r.Verification[i].Stage == n {
			return &r.Verification[i]
		}
	}
	return nil
}

// awaitVerification reports what r's current stage still waits for
// before its next step may be taken: its min_convergence (measured with
// src, when not nil, and recorded in r's verification of the stage) and,
// when r asks for resolution checks, a passed check of the stage. wait is
// "" when nothing; failed is set when waiting cannot help (a failed
// resolution check).
func awaitVerification(src ConvergenceSource, project string, r *model.Release, now time.Time) (wait string, failed bool, err error) {
	if r.Stage < 1 || r.Stage > len(r.Plan) {
		return "", false, nil
	}
	if src != nil {
		m, err := MeasureConvergence(src, project, r, now)
		if err != nil {
			return "", false, err
		}
		verificationOf(r, r.Stage).Convergence = m
		if !m.Met {
			return fmt.Sprintf("waiting for convergence: %s needs %s before the next step; %s",
				stageName(r, r.Stage), convergenceNeeds(m), describeConvergence(m)), false, nil
		}
	}
	if !r.ResolutionCheck {
		return "", false, nil
	}
	v := findVerification(r, r.Stage)
	switch {
	case v == nil || v.Resolution == nil:
		return fmt.Sprintf("waiting for the resolution check: the check of %s has not run yet", stageName(r, r.Stage)), false, nil
	case !v.Resolution.Passed:
		return fmt.Sprintf("the resolution check of %s failed (%s); roll the release back, or pause and resume it to check again",
			stageName(r, r.Stage), describeCheck(v.Resolution)), true, nil
	}
	return "", false, nil
}

// describeCheck summarizes a resolution check.
func describeCheck(c *model.ResolutionCheck) string {
	if c.Error != "" {
		return c.Error
	}
	return fmt.Sprintf("%d of %d evaluations did not resolve as planned", c.Mismatches, c.Evaluations)
}

// verifyStep runs awaitVerification for r's next step with req's
// convergence source and, when nothing holds the step, notes the
// convergence of the stage left on ev.
func verifyStep(req Request, r *model.Release, now time.Time, ev *model.ReleaseEvent) (wait string, failed bool, err error) {
	wait, failed, err = awaitVerification(req.Convergence, req.Project, r, now)
	if err != nil || wait != "" || req.Convergence == nil {
		return wait, failed, err
	}
	if v := findVerification(r, r.Stage); v != nil && v.Convergence != nil {
		addNote(ev, "convergence: "+describeConvergence(v.Convergence))
	}
	return "", false, nil
}

// recordConvergence records, when req has a convergence source, how far
// the SDKs had applied r's current stage when it ended there (a roll
// back). A failure to measure records nothing: it must not hold up the
// roll back.
func recordConvergence(req Request, r *model.Release, now time.Time) {
	if req.Convergence == nil {
		return
	}
	if m, err := MeasureConvergence(req.Convergence, req.Project, r, now); err == nil && m != nil {
		verificationOf(r, r.Stage).Convergence = m
	}
}
