// Package experiment runs A/B experiments (DESIGN §1, §6): the lifecycle
// of experiments (Create, Update, Delete, Start, Stop), the Consumer that
// turns exposure and track events into per-variant aggregates in bounded
// space, the Results of an experiment (lifts, confidence intervals,
// p-values, the sample-ratio check and a verdict, from internal/stats),
// and the Guard that watches the guardrail metrics of running experiments
// and guarded release stages and stops, pauses or rolls them back.
//
// Every lifecycle function works inside one store transaction (a
// *domain.Tx), so a step that changes who gets what — starting (the
// experiment's overlay appears), stopping (it goes, and the release that
// ships a variant starts) — is one commit and one environment revision.
package experiment

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// Request names an experiment and carries what a lifecycle call may add.
type Request struct {
	Project string
	ID      string
	// Etag, when not "", must be the experiment's current etag.
	Etag string
	// Note is recorded as the reason of a stop.
	Note string
}

// Create adds e to the project as a DRAFT. Lifecycle fields in e are
// ignored; the salt defaults to the id and bucket_by to targetingKey.
// What e names (flag, variants, segments, metrics) must exist; weights and
// the traffic share may still be incomplete: Start checks them.
func Create(tx *domain.Tx, project string, e *model.Experiment) error {
	d := definition(e)
	d.Status = model.ExperimentDraft
	if ps, ok := tx.Project(project); ok {
		if err := checkRefs(ps, d); err != nil {
			return err
		}
	}
	return tx.CreateExperiment(project, d)
}

// Update replaces the definition of a DRAFT experiment (id and environment
// excepted) with e's; etag, when not "", must be the experiment's etag.
func Update(tx *domain.Tx, project string, e *model.Experiment, etag string) error {
	ps, cur, curEtag, err := load(tx, Request{Project: project, ID: e.ID, Etag: etag})
	if err != nil {
		return err
	}
	if cur.Status != model.ExperimentDraft {
		return failed(project, e.ID, "the experiment is %s; only a draft can be edited", cur.Status)
	}
	if e.Environment != "" && e.Environment != cur.Environment {
		return failed(project, e.ID, "the environment of an experiment cannot change; create another experiment")
	}
	d := definition(e)
	d.Environment = cur.Environment
	d.Status = cur.Status
	if err := checkRefs(ps, d); err != nil {
		return err
	}
	return tx.PutExperiment(project, d, curEtag, "")
}

// Delete deletes an experiment that is not running (stop it first). Its
// collected state goes with it (the Consumer drops it).
func Delete(tx *domain.Tx, req Request) error {
	_, cur, curEtag, err := load(tx, req)
	if err != nil {
		return err
	}
	if cur.Status == model.ExperimentRunning {
		return failed(req.Project, req.ID, "the experiment is running; stop it first")
	}
	return tx.DeleteExperiment(req.Project, req.ID, curEtag)
}

// Start starts a DRAFT experiment: from this commit on, evaluation splits
// its audience among its variants. It checks that the definition is
// complete (model.CheckExperimentStartable), that everything it names
// exists, that its flag is enabled in the environment and that no release
// or other experiment holds the flag there; it records the metric
// definitions the experiment will be counted by.
func Start(tx *domain.Tx, req Request) error {
	ps, e, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	if e.Status != model.ExperimentDraft {
		return failed(req.Project, req.ID, "the experiment is %s; only a draft can be started", e.Status)
	}
	if err := model.CheckExperimentStartable(e); err != nil {
		return refused(req.Project, req.ID, "the experiment is not ready to start", err)
	}
	if err := checkRefs(ps, e); err != nil {
		return refused(req.Project, req.ID, "the experiment names what the project lacks", err)
	}
	if tg, _, ok := ps.FlagTargeting(e.Flag, e.Environment); !ok || !tg.Enabled {
		return failed(req.Project, req.ID, "flag %q is not enabled in %s; an experiment on a disabled flag would reach nobody", e.Flag, e.Environment)
	}
	e.Metrics = nil
	for _, key := range e.MetricKeys() {
		m, _, _ := ps.Metric(key) // checkRefs found it
		e.Metrics = append(e.Metrics, *m)
	}
	now := tx.Now()
	e.Status, e.StartTime, e.StopTime, e.Decision = model.ExperimentRunning, &now, nil, nil
	return tx.PutExperiment(req.Project, e, etag, "start")
}

// Stop stops a RUNNING experiment with a decision, in one transaction:
// its overlay goes, and with DecisionShip a release of the decision's
// variant (one of the experiment's) on the experiment's flag and
// environment is created and started, so that shipping goes through the
// release process (record, plan, gates, approvals, KPIs) instead of
// switching the flag's targeting. The release is d.Release (default
// "{experiment id}-ship"), created from the release model d.ReleaseModel
// when set (its plan, mode and approvals), else with one stage, everyone,
// behind a manual gate; tx's actor is its requester. With DecisionRevert
// the flag is left as it was before the experiment. The decision's reason
// defaults to req.Note; tx's actor is recorded.
func Stop(tx *domain.Tx, req Request, d model.Decision) error {
	ps, e, etag, err := load(tx, req)
	if err != nil {
		return err
	}
	if e.Status != model.ExperimentRunning {
		return failed(req.Project, req.ID, "the experiment is %s; only a running experiment can be stopped", e.Status)
	}
	switch d.Action {
	case model.DecisionRevert:
		d.Variant, d.Release, d.ReleaseModel = "", "", ""
	case model.DecisionShip:
		if !armOf(e, d.Variant) {
			return model.Errors{model.NewFieldError("variant", "%q is not a variant of experiment %q (control %q, treatments %s)",
				d.Variant, e.ID, e.Control.Variant, treatmentList(e))}
		}
		if d.Release == "" {
			d.Release = e.ID + "-ship"
		}
	default:
		return model.Errors{model.NewFieldError("decision", "unknown decision %q; want ship or revert", d.Action)}
	}
	if d.Reason == "" {
		d.Reason = req.Note
	}
	a := tx.Actor()
	d.Actor, d.ActorName = a.KeyID, a.Name
	now := tx.Now()
	e.Status, e.StopTime, e.Decision = model.ExperimentStopped, &now, &d
	if err := tx.PutExperiment(req.Project, e, etag, "stop"); err != nil {
		return err
	}
	if d.Action != model.DecisionShip {
		return nil
	}
	return ship(tx, ps.Key(), e, d)
}

// ship creates and starts the release that ships d's variant of e.
func ship(tx *domain.Tx, project string, e *model.Experiment, d model.Decision) error {
	notes := fmt.Sprintf("Ships variant %q of flag %q, the decision of experiment %q.", d.Variant, e.Flag, e.ID)
	if d.Reason != "" {
		notes += " " + d.Reason
	}
	r := &model.Release{
		ID:           d.Release,
		Title:        fmt.Sprintf("Ship %s of experiment %s", d.Variant, e.ID),
		Environment:  e.Environment,
		Items:        []model.ReleaseItem{{Flag: e.Flag, Variant: d.Variant}},
		ReleaseNotes: notes,
		Model:        d.ReleaseModel,
	}
	if r.Model == "" {
		r.Plan = []model.Stage{{Name: "all", Weight: model.RolloutTotal}}
	}
	if err := release.Create(tx, project, r); err != nil {
		return shipError(err)
	}
	return shipError(release.Start(tx, release.Request{Project: project, ID: r.ID, Note: "experiment " + e.ID + " shipped " + d.Variant}, time.Time{}))
}

// shipError puts the paths of the shipping release's validation errors
// under the stop request's fields: its id is release_id, its model
// release_model, anything else release.{path}.
func shipError(err error) error {
	var fes model.Errors
	if !errors.As(err, &fes) {
		return err
	}
	out := make(model.Errors, len(fes))
	for i, fe := range fes {
		path := "release." + fe.Path
		switch fe.Path {
		case "id":
			path = "release_id"
		case "model":
			path = "release_model"
		}
		out[i] = &model.FieldError{Path: path, Message: fe.Message}
	}
	return out
}

// definition returns the definition fields of e, with defaults.
func definition(e *model.Experiment) *model.Experiment {
	d := &model.Experiment{
		ID:            e.ID,
		Title:         e.Title,
		Hypothesis:    e.Hypothesis,
		Owner:         e.Owner,
		Environment:   e.Environment,
		Flag:          e.Flag,
		Control:       e.Control,
		Treatments:    e.Treatments,
		TrafficShare:  e.TrafficShare,
		Segments:      e.Segments,
		Salt:          e.Salt,
		BucketBy:      e.BucketBy,
		PrimaryMetric: e.PrimaryMetric,
		Guardrails:    e.Guardrails,
		MinSampleSize: e.MinSampleSize,
	}
	if d.Salt == "" {
		d.Salt = d.ID
	}
	if d.BucketBy == "" {
		d.BucketBy = eval.TargetingKeyAttribute
	}
	return d
}

// checkRefs checks that what e names exists in ps: flag, variants,
// segments, environment (model.CheckExperimentRefs) and metrics.
func checkRefs(ps *domain.ProjectState, e *model.Experiment) error {
	var errs model.Errors
	if err := model.CheckExperimentRefs(ps.Document(), e); err != nil {
		errors.As(err, &errs)
	}
	if e.PrimaryMetric != "" {
		if _, _, ok := ps.Metric(e.PrimaryMetric); !ok {
			errs = append(errs, model.NewFieldError("primary_metric", "project %q has no metric %q", ps.Key(), e.PrimaryMetric))
		}
	}
	for i, g := range e.Guardrails {
		if _, _, ok := ps.Metric(g.Metric); !ok {
			errs = append(errs, model.NewFieldError(fmt.Sprintf("guardrails[%d].metric", i), "project %q has no metric %q", ps.Key(), g.Metric))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// armOf reports whether variant is one of e's variants.
func armOf(e *model.Experiment, variant string) bool {
	for _, a := range e.Arms() {
		if a.Variant == variant {
			return true
		}
	}
	return false
}

func treatmentList(e *model.Experiment) string {
	names := make([]string, len(e.Treatments))
	for i, t := range e.Treatments {
		names[i] = fmt.Sprintf("%q", t.Variant)
	}
	return strings.Join(names, ", ")
}

// load returns the project as tx sees it, a private copy of the experiment
// and its etag, after checking req.Etag.
func load(tx *domain.Tx, req Request) (*domain.ProjectState, *model.Experiment, string, error) {
	return domain.Editable(tx, req.Project, req.ID, req.Etag, (*domain.ProjectState).Experiment, domain.ExperimentName)
}

// failed returns an error matching domain.ErrFailedPrecondition about the
// experiment.
func failed(project, id, format string, args ...any) error {
	return domain.FailedPrecondition(domain.ExperimentName(project, id), format, args...)
}

// refused turns a model.Errors about an experiment into a precondition
// failure that lists every problem.
func refused(project, id, what string, err error) error {
	return domain.Refused(domain.ExperimentName(project, id), what, err)
}
