package server

import (
	"net/http"
	"path"
	"strings"

	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
)

// serverMetrics are what /metrics exposes (DESIGN §5): request counters
// bumped on the evaluation paths, release counters bumped after each
// commit that moved a release, and gauges read from the store's state at
// scrape time.
type serverMetrics struct {
	evaluations  metrics.Counter // gRPC Evaluate and EvaluateBatch calls
	ofrep        metrics.Counter // OFREP single and bulk requests
	availability metrics.Counter // GetAvailability calls, gRPC and HTTP

	transitions *metrics.CounterVec // project, action, outcome
	rollbacks   *metrics.CounterVec // project
	lateSteps   *metrics.CounterVec // project
	incidents   *metrics.CounterVec // project, severity
}

func newServerMetrics() *serverMetrics {
	return &serverMetrics{
		transitions: metrics.NewCounterVec("project", "action", "outcome"),
		rollbacks:   metrics.NewCounterVec("project"),
		lateSteps:   metrics.NewCounterVec("project"),
		incidents:   metrics.NewCounterVec("project", "severity"),
	}
}

// observeCommit counts the release steps a commit wrote. It is a store
// commit hook (store.Store.Subscribe): it covers API calls and the
// scheduler alike.
func (m *serverMetrics) observeCommit(st *store.State, c *store.Commit) {
	for _, ev := range c.Events {
		action, ok := strings.CutPrefix(ev.Action, "release.")
		if !ok || action == "update" || action == "delete" || action == "review" {
			continue
		}
		ps, ok := st.Project(ev.Project)
		if !ok {
			continue
		}
		r, _, ok := ps.Release(path.Base(ev.Resource))
		if !ok {
			continue
		}
		if action == "incident" {
			if n := len(r.Incidents); n > 0 {
				m.incidents.Inc(ev.Project, string(r.Incidents[n-1].Severity))
			}
			continue
		}
		step := lastStep(r, action)
		if step == nil {
			continue
		}
		m.transitions.Inc(ev.Project, action, string(step.To))
		if action == "roll_back" {
			m.rollbacks.Inc(ev.Project)
		}
		if step.Late {
			m.lateSteps.Inc(ev.Project)
		}
	}
}

// lastStep returns r's last timeline event of the action, or nil.
func lastStep(r *model.Release, action string) *model.ReleaseEvent {
	for i := len(r.Timeline) - 1; i >= 0; i-- {
		if r.Timeline[i].Action == action {
			return &r.Timeline[i]
		}
	}
	return nil
}

// serveMetrics writes every metric in the text exposition format.
func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", metrics.ContentType)
	m := s.metrics
	out := metrics.NewWriter(w)

	out.Family("switchyard_evaluation_requests_total", "Evaluation requests received, by API.", metrics.TypeCounter)
	for _, c := range []struct {
		api string
		n   *metrics.Counter
	}{{"grpc", &m.evaluations}, {"ofrep", &m.ofrep}, {"availability", &m.availability}} {
		out.Sample("switchyard_evaluation_requests_total", float64(c.n.Value()), metrics.Label{Name: "api", Value: c.api})
	}

	out.Family("switchyard_release_transitions_total", "Release lifecycle steps taken, by action and the state they led to.", metrics.TypeCounter)
	m.transitions.Write(out, "switchyard_release_transitions_total")
	out.Family("switchyard_release_rollbacks_total", "Releases rolled back.", metrics.TypeCounter)
	m.rollbacks.Write(out, "switchyard_release_rollbacks_total")
	out.Family("switchyard_release_late_steps_total", "Scheduled release steps taken later than the scheduler's tolerance.", metrics.TypeCounter)
	m.lateSteps.Write(out, "switchyard_release_late_steps_total")
	out.Family("switchyard_release_incidents_total", "Incidents linked to releases, by severity.", metrics.TypeCounter)
	m.incidents.Write(out, "switchyard_release_incidents_total")

	out.Family("switchyard_releases", "Releases by state, now.", metrics.TypeGauge)
	for _, ps := range s.store.State().Projects() {
		counts := map[model.ReleaseState]int{}
		for _, r := range ps.Releases() {
			counts[r.State]++
		}
		// Every state for every project: a series drops to 0 rather than
		// vanishing.
		for _, state := range model.ReleaseStates() {
			out.Sample("switchyard_releases", float64(counts[state]),
				metrics.Label{Name: "project", Value: ps.Key()}, metrics.Label{Name: "state", Value: string(state)})
		}
	}
	if err := out.Flush(); err != nil {
		s.log.Debug("write metrics", "err", err)
	}
}
