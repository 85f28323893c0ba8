package domain

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/switchyard/switchyard/internal/model"
)

// Experiments and metrics are kept beside the document, like releases:
// export never shows them. A running experiment reaches evaluation as a
// model.Overlay (ProjectState.Overlays), so the store bumps the
// environment's revision whenever a write changes a running experiment's
// overlay, and refuses any commit that would leave a running experiment
// naming a flag, variant, segment or environment that no longer exists, or
// its flag claimed by a release or by another running experiment of the
// environment. Metrics change no environment's state. The lifecycle itself
// (which transitions are allowed) is the experiment package's.

// ExperimentName returns the resource name of an experiment:
// projects/{p}/experiments/{id}.
func ExperimentName(project, id string) string {
	return ProjectName(project) + "/" + collExperiments + "/" + id
}

// MetricName returns the resource name of a metric: projects/{p}/metrics/{m}.
func MetricName(project, key string) string {
	return ProjectName(project) + "/" + collMetrics + "/" + key
}

// Experiments returns the project's experiments in creation order. The
// slice and the experiments are shared and must not be modified.
func (ps *ProjectState) Experiments() []*model.Experiment { return ps.exps.items }

// Experiment returns the experiment with the given id and its Meta.
func (ps *ProjectState) Experiment(id string) (*model.Experiment, Meta, bool) {
	v, e, ok := ps.exps.get(id)
	return v, e.meta, ok
}

// Metrics returns the project's metrics in creation order. The slice and
// the metrics are shared and must not be modified.
func (ps *ProjectState) Metrics() []*model.Metric { return ps.metrics.items }

// Metric returns the metric with the given key and its Meta.
func (ps *ProjectState) Metric(key string) (*model.Metric, Meta, bool) {
	v, e, ok := ps.metrics.get(key)
	return v, e.meta, ok
}

// experimentOverlays returns the overlays of the experiments running in
// env, in creation order.
func (ps *ProjectState) experimentOverlays(env string) []*model.Overlay {
	var out []*model.Overlay
	for _, e := range ps.exps.items {
		if e.Environment == env {
			if o := e.Overlay(); o != nil {
				out = append(out, o)
			}
		}
	}
	return out
}

// CreateExperiment adds an experiment. It checks the definition
// (model.ValidateExperiment) and that the environment exists; the
// lifecycle fields are stored as given. A running experiment changes its
// environment's state.
func (tx *Tx) CreateExperiment(project string, e *model.Experiment) error {
	if err := tx.usable(); err != nil {
		return err
	}
	if err := model.ValidateExperiment(e); err != nil {
		return err
	}
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := ExperimentName(project, e.ID)
	if _, ok := d.ps.exps.idx[e.ID]; ok {
		return fmt.Errorf("%s: %w", name, ErrAlreadyExists)
	}
	if _, ok := d.ps.envs.idx[e.Environment]; !ok {
		return notFound(EnvironmentName(project, e.Environment))
	}
	ne, raw, err := normalize("experiment "+e.ID, e)
	if err != nil {
		return err
	}
	d.writable()
	seq := tx.next()
	d.ps.exps.add(ne, entry{key: e.ID, order: seq, meta: tx.created(seq)})
	d.markDirty(kindExperiment, e.ID)
	bumps := ne.Overlay() != nil
	if bumps {
		d.bumpEnv(e.Environment)
	}
	tx.record(AuditEvent{Action: "experiment.create", Resource: name, Project: project, Environment: e.Environment, After: raw}, bumps)
	return nil
}

// PutExperiment replaces the experiment with e's id by e, checked like
// CreateExperiment; its environment may not change. etag is the
// experiment's etag ("" for unconditional). action names the audit event
// ("experiment." + action; "" means "update"). When the experiment's
// overlay changes, so does the environment's state: the commit bumps its
// revision.
func (tx *Tx) PutExperiment(project string, e *model.Experiment, etag, action string) error {
	if err := tx.usable(); err != nil {
		return err
	}
	if err := model.ValidateExperiment(e); err != nil {
		return err
	}
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := ExperimentName(project, e.ID)
	i, ok := d.ps.exps.idx[e.ID]
	if !ok {
		return notFound(name)
	}
	old, en := d.ps.exps.items[i], d.ps.exps.entries[i]
	if err := checkEtag(name, en.meta, etag); err != nil {
		return err
	}
	if e.Environment != old.Environment {
		return fmt.Errorf("%s: the environment of an experiment cannot change: %w", name, ErrInvalid)
	}
	ne, raw, err := normalize("experiment "+e.ID, e)
	if err != nil {
		return err
	}
	if action == "" {
		action = "update"
	}
	if action == "update" && reflect.DeepEqual(old, ne) {
		return nil
	}
	bumps := !reflect.DeepEqual(old.Overlay(), ne.Overlay())
	d.writable()
	en.meta = tx.touched(en.meta, tx.next())
	d.ps.exps.set(i, ne, en)
	d.markDirty(kindExperiment, e.ID)
	if bumps {
		d.bumpEnv(e.Environment)
	}
	tx.record(AuditEvent{
		Action:      "experiment." + action,
		Resource:    name,
		Project:     project,
		Environment: e.Environment,
		Before:      encode(old),
		After:       raw,
	}, bumps)
	return nil
}

// DeleteExperiment deletes an experiment. Deleting a running one changes
// the environment's state.
func (tx *Tx) DeleteExperiment(project, id, etag string) error {
	d, err := tx.live(project)
	if err != nil {
		return err
	}
	name := ExperimentName(project, id)
	i, ok := d.ps.exps.idx[id]
	if !ok {
		return notFound(name)
	}
	old := d.ps.exps.items[i]
	if err := checkEtag(name, d.ps.exps.entries[i].meta, etag); err != nil {
		return err
	}
	d.writable()
	d.ps.exps.remove(i)
	d.markDirty(kindExperiment, id)
	bumps := old.Overlay() != nil
	if bumps {
		d.bumpEnv(old.Environment)
	}
	tx.record(AuditEvent{Action: "experiment.delete", Resource: name, Project: project, Environment: old.Environment, Before: encode(old)}, bumps)
	return nil
}

// RecordNotice appends an audit event that changes nothing: a
// notification such as a tripped guardrail ("guardrail.tripped"), with
// detail as its After. Whoever follows the audit log (webhooks) sees it in
// the same commit as the change it explains.
func (tx *Tx) RecordNotice(ev AuditEvent, detail any) error {
	if err := tx.usable(); err != nil {
		return err
	}
	ev.Before, ev.After = nil, encode(detail)
	tx.record(ev, false)
	return nil
}

// CreateMetric adds a metric. An invalid metric fails with an error
// matching ErrInvalid, its model.Errors paths relative to the metric.
func (tx *Tx) CreateMetric(project string, m *model.Metric) error {
	return createOp(tx, metricKind(), project, m)
}

// UpdateMetric replaces the metric with m's key. Experiments that started
// keep the definition they started with.
func (tx *Tx) UpdateMetric(project string, m *model.Metric, etag string) error {
	return updateOp(tx, metricKind(), project, m, etag)
}

// DeleteMetric deletes a metric. A metric a draft or running experiment,
// or a release stage's guardrail, names cannot be deleted.
func (tx *Tx) DeleteMetric(project, key, etag string) error {
	return deleteOp(tx, metricKind(), project, key, etag)
}

func metricKind() itemKind[*model.Metric] {
	return itemKind[*model.Metric]{
		kind:    kindMetric,
		noun:    "metric",
		coll:    func(ps *ProjectState) *coll[*model.Metric] { return &ps.metrics },
		key:     func(m *model.Metric) string { return m.Key },
		outside: true,
		check:   model.ValidateMetric,
	}
}

func experimentKind() itemKind[*model.Experiment] {
	return itemKind[*model.Experiment]{
		kind: kindExperiment,
		noun: "experiment",
		coll: func(ps *ProjectState) *coll[*model.Experiment] { return &ps.exps },
		key:  func(e *model.Experiment) string { return e.ID },
	}
}

// checkExperiments refuses a project state in which a running experiment
// names something the document lacks, or its flag is claimed by an active
// release or another running experiment of its environment, or in which a
// draft or running experiment or an active release's stage guardrail names
// a metric the project lacks: eval.CompileWith must always succeed on what
// the store publishes.
func checkExperiments(ps *ProjectState) error {
	claims := map[string]string{} // environment + flag → who claims it
	for _, r := range ps.rels.items {
		if !r.State.Active() {
			continue
		}
		for _, it := range r.Items {
			if it.Flag != "" {
				claims[r.Environment+"\x00"+it.Flag] = fmt.Sprintf("release %q", r.ID)
			}
		}
		for i, s := range r.Plan {
			if g := s.Guardrail; g != nil {
				if _, _, ok := ps.metrics.get(g.Metric); !ok {
					return fmt.Errorf("%s: %w: plan[%d].guardrail.metric: unknown metric %q",
						ReleaseName(ps.Key(), r.ID), ErrFailedPrecondition, i, g.Metric)
				}
			}
		}
	}
	for _, e := range ps.exps.items {
		if e.Status == model.ExperimentStopped {
			continue
		}
		name := ExperimentName(ps.Key(), e.ID)
		for _, key := range e.MetricKeys() {
			if _, _, ok := ps.metrics.get(key); !ok {
				return fmt.Errorf("%s: %w: unknown metric %q; define it first (projects/%s/metrics)", name, ErrFailedPrecondition, key, ps.Key())
			}
		}
		if e.Status != model.ExperimentRunning {
			continue
		}
		key := e.Environment + "\x00" + e.Flag
		if other, dup := claims[key]; dup {
			return fmt.Errorf("%s: %w: flag %q is in %s of environment %s too", name, ErrFailedPrecondition, e.Flag, other, e.Environment)
		}
		claims[key] = fmt.Sprintf("experiment %q", e.ID)
		if err := model.CheckExperimentRefs(ps.doc, e); err != nil {
			msg := strings.ReplaceAll(err.Error(), "\n", "; ")
			return fmt.Errorf("%s: %w: experiment %q is running and needs what this change removes (%s); stop it first",
				name, ErrFailedPrecondition, e.ID, msg)
		}
	}
	return nil
}
