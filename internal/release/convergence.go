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
// stage's min_convergence. With no SDK connected the share is 1 and the
// requirement holds vacuously: an environment served only by the server
// itself (OFREP, client keys, availability polls) applies every revision
// when it commits, and a release must not wait for SDKs that may never
// come. It returns nil for a release that is in no stage.
func MeasureConvergence(src ConvergenceSource, project string, r *model.Release, now time.Time) (*model.Convergence, error) {
	if r.Stage < 1 || r.Stage > len(r.Plan) {
		return nil, nil
	}
	c, err := src.Convergence(project, r.Environment, StageRevision(r, r.Stage), 0)
	if err != nil {
		return nil, fmt.Errorf("convergence of %s: %w", stageName(r, r.Stage), err)
	}
	m := &model.Convergence{
		Revision:  c.Revision,
		Connected: c.Connected,
		Converged: c.Converged,
		Required:  r.Plan[r.Stage-1].MinConvergence,
		Time:      now,
		Share:     1,
		Met:       true,
		Note:      noSDKs,
	}
	if c.Connected > 0 {
		m.Share = float64(c.Converged) / float64(c.Connected)
		// Compared in counts, so that 4 of 5 meets 0.8.
		m.Met = float64(c.Converged) >= m.Required*float64(c.Connected)-1e-9
		m.Note = ""
	}
	return m, nil
}

// describeConvergence says how far the SDKs are, for notes and errors.
func describeConvergence(m *model.Convergence) string {
	if m.Connected == 0 {
		return fmt.Sprintf("%s (revision %d)", noSDKs, m.Revision)
	}
	return fmt.Sprintf("%d of %d connected SDKs (%.1f %%) applied revision %d", m.Converged, m.Connected, 100*m.Share, m.Revision)
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
			return fmt.Sprintf("waiting for convergence: %s needs %.1f %% of the connected SDKs to apply its revision before the next step; %s",
				stageName(r, r.Stage), 100*m.Required, describeConvergence(m)), false, nil
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
