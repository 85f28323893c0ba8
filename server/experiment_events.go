package server

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/model"
)

// Rejection codes of SendEvents about experiments (EventRejection.code).
const (
	// rejectExperimentNotFound: an exposure names an experiment the
	// environment does not have.
	rejectExperimentNotFound = "EXPERIMENT_NOT_FOUND"
	// rejectExperimentNotRunning: an exposure names a draft experiment,
	// which assigns nobody.
	rejectExperimentNotRunning = "EXPERIMENT_NOT_RUNNING"
	// rejectExperimentMismatch: an exposure names an experiment on another
	// flag, or a variant the experiment does not compare.
	rejectExperimentMismatch = "EXPERIMENT_MISMATCH"
	// rejectValueRequired: a track event without a value whose key only
	// mean metrics count (the wrong type of event for them).
	rejectValueRequired = "VALUE_REQUIRED"
)

// experimentRefs is what the validation of events needs to know of one
// environment's experiments and its project's metrics.
type experimentRefs struct {
	project, env string
	experiments  map[string]*model.Experiment // by id, of the environment
	meanOnly     map[string]bool              // event keys that only mean metrics count
}

// newExperimentRefs indexes the experiments of an environment and the
// metrics of its project.
func newExperimentRefs(st *domain.State, project, env string) *experimentRefs {
	r := &experimentRefs{project: project, env: env}
	ps, ok := st.Project(project)
	if !ok {
		return r
	}
	for _, e := range ps.Experiments() {
		if e.Environment == env {
			if r.experiments == nil {
				r.experiments = map[string]*model.Experiment{}
			}
			r.experiments[e.ID] = e
		}
	}
	conversion := map[string]bool{}
	for _, m := range ps.Metrics() {
		if m.Kind == model.MetricConversion {
			conversion[m.Event()] = true
		}
	}
	for _, m := range ps.Metrics() {
		if m.Kind == model.MetricMean && !conversion[m.Event()] {
			if r.meanOnly == nil {
				r.meanOnly = map[string]bool{}
			}
			r.meanOnly[m.Event()] = true
		}
	}
	return r
}

// check validates what an accepted event says about experiments and
// metrics. It returns a rejection code and a reason that starts with the
// offending field's path within the event, or "" and "".
func (r *experimentRefs) check(ev *eventlog.Event) (string, string) {
	switch ev.Kind {
	case eventlog.Exposure:
		if ev.Experiment == "" {
			return "", ""
		}
		e := r.experiments[ev.Experiment]
		switch {
		case e == nil:
			return rejectExperimentNotFound, fmt.Sprintf(".exposure.experiment: experiment %q does not exist in %s/%s", ev.Experiment, r.project, r.env)
		case e.Status == model.ExperimentDraft:
			return rejectExperimentNotRunning, fmt.Sprintf(".exposure.experiment: experiment %q has not started", ev.Experiment)
		case e.Flag != ev.Flag:
			return rejectExperimentMismatch, fmt.Sprintf(".exposure.flag: experiment %q is on flag %q, not %q", ev.Experiment, e.Flag, ev.Flag)
		case !isArm(e, ev.Variant):
			return rejectExperimentMismatch, fmt.Sprintf(".exposure.variant: experiment %q does not compare variant %q", ev.Experiment, ev.Variant)
		}
	case eventlog.Track:
		if !ev.HasValue && r.meanOnly[ev.Key] {
			return rejectValueRequired, fmt.Sprintf(".track.value: event %q feeds mean metrics, which need a numeric value", ev.Key)
		}
	}
	return "", ""
}

// isArm reports whether variant is one of e's variants.
func isArm(e *model.Experiment, variant string) bool {
	for _, a := range e.Arms() {
		if a.Variant == variant {
			return true
		}
	}
	return false
}
