package server

import (
	"context"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard/switchyard/internal/buildinfo"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/syncer"
)

// relaySDKName is the SDK name a relay announces on its sync stream; its
// streams count as kind="relay" in switchyard_sync_streams.
const relaySDKName = "switchyard-relay"

// serverMetrics are what /metrics exposes, on a registry of the server's
// own (no global state): request durations per API, route and result;
// evaluations per flag and reason; release steps counted from commits;
// store, webhook and event counters; and gauges read from the server's
// state at scrape time. Counters on the evaluation paths are resolved
// once, so bumping them does not allocate.
type serverMetrics struct {
	reg *prometheus.Registry

	requests *prometheus.HistogramVec // api, route, code

	evalGRPC, evalOFREP, evalAvailability prometheus.Counter // evaluation requests by API
	flags                                 *flagCounts

	transitions *prometheus.CounterVec // project, action, outcome
	rollbacks   *prometheus.CounterVec // project
	lateSteps   *prometheus.CounterVec // project
	incidents   *prometheus.CounterVec // project, severity

	storeTx prometheus.Histogram
	events  *prometheus.CounterVec // result: accepted, rejected
}

// newServerMetrics registers every metric of s on a new registry. The
// gauges read s's store, sync hub and event consumer when scraped.
func newServerMetrics(s *Server) *serverMetrics {
	reg := prometheus.NewRegistry()
	m := &serverMetrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchyard_request_duration_seconds",
			Help: "Duration of API requests by API (grpc, rest, ofrep, http, console), route (gRPC method or HTTP route pattern) and result code.",
			// From 0.5 ms: an OFREP evaluation takes tens of microseconds.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"api", "route", "code"}),
		flags: newFlagCounts(maxFlagSeries),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_release_transitions_total",
			Help: "Release lifecycle steps taken, by action and the state they led to.",
		}, []string{"project", "action", "outcome"}),
		rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_release_rollbacks_total", Help: "Releases rolled back.",
		}, []string{"project"}),
		lateSteps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_release_late_steps_total",
			Help: "Scheduled release steps taken later than the scheduler's tolerance.",
		}, []string{"project"}),
		incidents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_release_incidents_total", Help: "Incidents linked to releases, by severity.",
		}, []string{"project", "severity"}),
		storeTx: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchyard_store_transaction_duration_seconds",
			Help:    "Duration of the store's bbolt write transactions (fsync included).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_events_ingested_total",
			Help: "SDK events received by result (accepted, rejected, duplicate: a batch id stored before).",
		}, []string{"result"}),
	}
	evalRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_evaluation_requests_total", Help: "Evaluation requests received, by API.",
	}, []string{"api"})
	m.evalGRPC = evalRequests.WithLabelValues("grpc")
	m.evalOFREP = evalRequests.WithLabelValues("ofrep")
	m.evalAvailability = evalRequests.WithLabelValues("availability")
	bi := buildinfo.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "switchyard_build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "commit": bi.Commit, "goversion": bi.GoVersion},
	})
	build.Set(1)
	reg.MustRegister(
		m.requests, evalRequests, m.flags, m.transitions, m.rollbacks, m.lateSteps, m.incidents,
		m.storeTx, m.events, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if s.store != nil {
		reg.MustRegister(&stateCollector{s: s})
	}
	return m
}

// observeCommit counts the release steps a commit wrote. It is a store
// commit hook (domain.Store.Subscribe): it covers API calls and the
// scheduler alike.
func (m *serverMetrics) observeCommit(st *domain.State, c *domain.Commit) {
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
				m.incidents.WithLabelValues(ev.Project, string(r.Incidents[n-1].Severity)).Inc()
			}
			continue
		}
		step := lastStep(r, action)
		if step == nil {
			continue
		}
		m.transitions.WithLabelValues(ev.Project, action, string(step.To)).Inc()
		if action == "roll_back" {
			m.rollbacks.WithLabelValues(ev.Project).Inc()
		}
		if step.Late {
			m.lateSteps.WithLabelValues(ev.Project).Inc()
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

// metricsHandler serves the registry in the Prometheus exposition formats.
func (m *serverMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// stateCollector reads gauges from the server's state at scrape time:
// releases by state, the revision of every environment, the open sync
// streams and the experiment consumer's lag behind the event log.
type stateCollector struct{ s *Server }

var (
	releasesDesc = prometheus.NewDesc("switchyard_releases", "Releases by state, now.",
		[]string{"project", "state"}, nil)
	revisionDesc = prometheus.NewDesc("switchyard_environment_revision", "The current revision of each environment.",
		[]string{"project", "environment"}, nil)
	lagDesc = prometheus.NewDesc("switchyard_experiment_consumer_lag_batches",
		"Stored event batches the experiment consumer has not consumed yet.", nil, nil)
	streamsDesc = prometheus.NewDesc("switchyard_sync_streams",
		"Open ruleset sync streams by environment and client kind (sdk, relay).",
		[]string{"project", "environment", "kind"}, nil)
)

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- releasesDesc
	ch <- revisionDesc
	ch <- streamsDesc
	ch <- lagDesc
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, ps := range c.s.store.State().Projects() {
		counts := map[model.ReleaseState]int{}
		for _, r := range ps.Releases() {
			counts[r.State]++
		}
		// Every state for every project: a series drops to 0 rather than
		// vanishing.
		for _, state := range model.ReleaseStates() {
			ch <- prometheus.MustNewConstMetric(releasesDesc, prometheus.GaugeValue, float64(counts[state]), ps.Key(), string(state))
		}
		for _, env := range ps.Environments() {
			ch <- prometheus.MustNewConstMetric(revisionDesc, prometheus.GaugeValue, float64(env.Revision), ps.Key(), env.Key)
		}
	}
	type streamKey struct{ project, env, kind string }
	streams := map[streamKey]int{}
	for _, ps := range c.s.store.State().Projects() {
		for _, env := range ps.Environments() {
			// Zero streams is a value too.
			streams[streamKey{ps.Key(), env.Key, "sdk"}] = 0
			streams[streamKey{ps.Key(), env.Key, "relay"}] = 0
		}
	}
	c.s.sync.EachStream(func(project, env string, info *syncer.Info) {
		kind := "sdk"
		if info.SDKName == relaySDKName {
			kind = "relay"
		}
		streams[streamKey{project, env, kind}]++
	})
	for k, n := range streams {
		ch <- prometheus.MustNewConstMetric(streamsDesc, prometheus.GaugeValue, float64(n), k.project, k.env, k.kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if lag, err := c.s.experiments.Lag(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag))
	} else {
		ch <- prometheus.NewInvalidMetric(lagDesc, err)
	}
}
