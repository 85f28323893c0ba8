package relay

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard/switchyard/internal/syncer"
	"github.com/switchyard/switchyard/sdk"
)

var (
	staleDesc = prometheus.NewDesc("switchyard_relay_stale",
		"1 while the relay serves an environment without following its upstream stream (its last ruleset), else 0.",
		[]string{"project", "environment"}, nil)
	relayRevisionDesc = prometheus.NewDesc("switchyard_relay_revision",
		"The revision of each environment the relay serves.", []string{"project", "environment"}, nil)
	relayStreamsDesc = prometheus.NewDesc("switchyard_relay_streams",
		"Open downstream sync streams by environment.", []string{"project", "environment"}, nil)
)

// collector reads the relay's gauges at scrape time.
type collector struct{ r *Relay }

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- staleDesc
	ch <- relayRevisionDesc
	ch <- relayStreamsDesc
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	r := c.r
	r.mu.Lock()
	project, envs := r.state.Project, r.state.Environments
	stale := make(map[string]bool, len(envs))
	for _, env := range envs {
		f := r.followers[env]
		stale[env] = f == nil || f.client == nil || f.client.Status() != sdk.StatusReady
	}
	r.mu.Unlock()
	streams := map[string]int{}
	r.hub.EachStream(func(p, env string, _ *syncer.Info) {
		if p == project {
			streams[env]++
		}
	})
	for _, env := range envs {
		v := 0.0
		if stale[env] {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(staleDesc, prometheus.GaugeValue, v, project, env)
		var rev uint64
		if rs := r.rulesets.Get(project, env); rs != nil {
			rev = rs.Revision
		}
		ch <- prometheus.MustNewConstMetric(relayRevisionDesc, prometheus.GaugeValue, float64(rev), project, env)
		ch <- prometheus.MustNewConstMetric(relayStreamsDesc, prometheus.GaugeValue, float64(streams[env]), project, env)
	}
}
