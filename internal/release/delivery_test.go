package release_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// guarded is ev taken by a tripped guardrail.
func guarded(h float64, action string, from, to model.ReleaseState, stage int) model.ReleaseEvent {
	e := ev(h, action, from, to, stage)
	e.ActorName = release.GuardrailActor
	return e
}

func incident(h float64) model.Incident {
	return model.Incident{Severity: model.SeverityHigh, Note: "n", Time: at(h)}
}

// deliveryReleases is a hand-built history around the two weeks [t0,
// t0+336h), the first week [0, 168h):
//
//	a  production canary  start 1, complete 25 (lead 24h); incident at 30, within 7 days: failed
//	b  production canary  start 2, guardrail pause 3, incident 4, rollback 5: restore 2h
//	c  production         start 200, complete 206 (lead 6h); incident 8 days later: not failed
//	d  staging            start 10, incident 11, rollback 15: restore 4h
//	e  production canary  scheduled start due 20 taken 20:10 (late), advance due 22 taken 22:01
//	                      (on time), complete 30 (lead 9h50m)
//	f  production         completed before the period (incident in it): not a change of it
//	g  production         in progress: not a change
//	h  production         rolled back at 300 with no signal: failed, no restore time
func deliveryReleases() []*model.Release {
	return []*model.Release{
		{ID: "a", Environment: "production", Model: "canary", State: done, Timeline: []model.ReleaseEvent{
			ev(-1, "create", "", draft, 0), ev(1, "start", draft, run, 1), ev(25, "complete", run, done, 2)},
			Incidents: []model.Incident{incident(30)}},
		{ID: "b", Environment: "production", Model: "canary", State: back, Timeline: []model.ReleaseEvent{
			ev(-1, "create", "", draft, 0), ev(2, "start", draft, run, 1), guarded(3, "pause", run, pause, 1),
			ev(5, "roll_back", pause, back, 1)},
			Incidents: []model.Incident{incident(4)}},
		{ID: "c", Environment: "production", State: done, Timeline: []model.ReleaseEvent{
			ev(-1, "create", "", draft, 0), ev(200, "start", draft, run, 1), ev(206, "complete", run, done, 1)},
			Incidents: []model.Incident{incident(206 + 8*24)}},
		{ID: "d", Environment: "staging", State: back, Timeline: []model.ReleaseEvent{
			ev(-1, "create", "", draft, 0), ev(10, "start", draft, run, 1), ev(15, "roll_back", run, back, 1)},
			Incidents: []model.Incident{incident(11)}},
		{ID: "e", Environment: "production", Model: "canary", State: done, Timeline: []model.ReleaseEvent{
			ev(-1, "create", "", draft, 0), ev(0, "schedule", draft, sched, 0),
			timed(20+10.0/60, 20, "start", sched, run, 1), timed(22+1.0/60, 22, "advance", run, run, 2),
			ev(30, "complete", run, done, 2)}},
		{ID: "f", Environment: "production", State: done, Timeline: []model.ReleaseEvent{
			ev(-60, "create", "", draft, 0), ev(-50, "start", draft, run, 1), ev(-40, "complete", run, done, 1)},
			Incidents: []model.Incident{incident(2)}},
		{ID: "g", Environment: "production", State: run, Timeline: []model.ReleaseEvent{
			ev(-1, "create", "", draft, 0), ev(100, "start", draft, run, 1)}},
		{ID: "h", Environment: "production", State: back, Timeline: []model.ReleaseEvent{
			ev(-1, "create", "", draft, 0), ev(290, "start", draft, run, 1), ev(300, "roll_back", run, back, 1)}},
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuildDeliveryMatchesHandComputedValues(t *testing.T) {
	d := release.BuildDelivery(deliveryReleases(), release.DeliveryOptions{Start: t0, End: at(336)})
	tests := []struct {
		name string
		got  any
		want string
	}{
		// Lead times 24h, 6h, 9h50m: median 9h50m. Restores 2h, 4h: median 3h.
		// Failed a, b, d, h of 6 changes. 3 completed in 2 weeks.
		{"overall", d.DeliveryGroup, `{"completed":3,"rolled_back":3,"lead_time":{"count":3,"median_seconds":35400},` +
			`"changes":6,"failed_changes":4,"change_failure_rate":0.6666666666666666,"time_to_restore":{"count":2,"median_seconds":10800},` +
			`"timed_steps":2,"on_time_steps":1,"schedule_adherence":0.5,"release_frequency":1.5}`},
		{"production", d.ByEnvironment[0], `{"environment":"production","completed":3,"rolled_back":2,"lead_time":{"count":3,"median_seconds":35400},` +
			`"changes":5,"failed_changes":3,"change_failure_rate":0.6,"time_to_restore":{"count":1,"median_seconds":7200},` +
			`"timed_steps":2,"on_time_steps":1,"schedule_adherence":0.5,"release_frequency":1.5}`},
		{"staging", d.ByEnvironment[1], `{"environment":"staging","rolled_back":1,"changes":1,"failed_changes":1,"change_failure_rate":1,` +
			`"time_to_restore":{"count":1,"median_seconds":14400},"release_frequency":0}`},
		{"no model", d.ByModel[0], `{"completed":1,"rolled_back":2,"lead_time":{"count":1,"median_seconds":21600},` +
			`"changes":3,"failed_changes":2,"change_failure_rate":0.6666666666666666,"time_to_restore":{"count":1,"median_seconds":14400},"release_frequency":0.5}`},
		// Lead times 24h and 9h50m: the median of an even count is the mean of the middle two.
		{"canary", d.ByModel[1], `{"model":"canary","completed":2,"rolled_back":1,"lead_time":{"count":2,"median_seconds":60900},` +
			`"changes":3,"failed_changes":2,"change_failure_rate":0.6666666666666666,"time_to_restore":{"count":1,"median_seconds":7200},` +
			`"timed_steps":2,"on_time_steps":1,"schedule_adherence":0.5,"release_frequency":1}`},
		{"week 1", d.Weeks[0], `{"start":"2030-05-01T00:00:00Z","completed":2,"rolled_back":2,"lead_time":{"count":2,"median_seconds":60900},` +
			`"changes":4,"failed_changes":3,"change_failure_rate":0.75,"time_to_restore":{"count":2,"median_seconds":10800},` +
			`"timed_steps":2,"on_time_steps":1,"schedule_adherence":0.5}`},
		{"week 2", d.Weeks[1], `{"start":"2030-05-08T00:00:00Z","completed":1,"rolled_back":1,"lead_time":{"count":1,"median_seconds":21600},` +
			`"changes":2,"failed_changes":1,"change_failure_rate":0.5}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsonOf(t, tc.got); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if len(d.ByEnvironment) != 2 || len(d.ByModel) != 2 || len(d.Weeks) != 2 {
		t.Errorf("groups: %d environments, %d models, %d weeks; want 2, 2, 2", len(d.ByEnvironment), len(d.ByModel), len(d.Weeks))
	}
}

func TestBuildDeliveryOptions(t *testing.T) {
	tests := []struct {
		name string
		opts release.DeliveryOptions
		want string // the overall group
	}{
		{"environment and model", release.DeliveryOptions{Start: t0, End: at(336), Environment: "production", Model: "canary"},
			`{"completed":2,"rolled_back":1,"lead_time":{"count":2,"median_seconds":60900},"changes":3,"failed_changes":2,` +
				`"change_failure_rate":0.6666666666666666,"time_to_restore":{"count":1,"median_seconds":7200},"timed_steps":2,"on_time_steps":1,"schedule_adherence":0.5,"release_frequency":1}`},
		// a's incident 5 hours after completion is outside a 1h window;
		// e's steps 10 and 1 minutes late are both on time within 15 min.
		{"incident window and tolerance", release.DeliveryOptions{Start: t0, End: at(168), Model: "canary", IncidentWindow: time.Hour, Tolerance: 15 * time.Minute},
			`{"completed":2,"rolled_back":1,"lead_time":{"count":2,"median_seconds":60900},"changes":3,"failed_changes":1,` +
				`"change_failure_rate":0.3333333333333333,"time_to_restore":{"count":1,"median_seconds":7200},"timed_steps":2,"on_time_steps":2,"schedule_adherence":1,"release_frequency":2}`},
		{"a period with no change", release.DeliveryOptions{Start: at(1000), End: at(1168)}, `{"release_frequency":0}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsonOf(t, release.BuildDelivery(deliveryReleases(), tc.opts).DeliveryGroup); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"12w", 12 * 7 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"0d", 0, false},
		{"-3d", 0, false},
		{"90", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"90m", 0, false},
		{"4000d", 0, false},
	}
	for _, tc := range tests {
		got, err := release.ParsePeriod(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParsePeriod(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
