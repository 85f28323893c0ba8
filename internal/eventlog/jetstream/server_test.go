package jetstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// countBound bounds how long the experiment consumer may take to count
// the events: a bound for a hang.
const countBound = time.Minute

// armCounts reads the exposed units and the purchase conversions of
// experiment ab, over REST.
func armCounts(t *testing.T, srv *servertest.Server) (units, conversions int) {
	t.Helper()
	res := srv.Admin(t, "GET", "/api/v1/projects/default/experiments/ab/results", nil)
	arms, _ := res["arms"].([]any)
	for _, a := range arms {
		var n int
		fmt.Sscan(fmt.Sprint(a.(map[string]any)["units"]), &n)
		units += n
	}
	metrics, _ := res["metrics"].([]any)
	for _, m := range metrics {
		variants, _ := m.(map[string]any)["variants"].([]any)
		for _, v := range variants {
			var n int
			fmt.Sscan(fmt.Sprint(v.(map[string]any)["conversions"]), &n)
			conversions += n
		}
	}
	return units, conversions
}

func TestServerOnJetStreamCountsSDKEventsInExperiments(t *testing.T) {
	cfg := uniqueConfig()
	srv := servertest.Start(t, servertest.Options{
		Events: func(*domain.Store) eventlog.Log { return open(t, cfg, eventlog.Options{}) },
	})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags",
		`{"key": "checkout", "type": "bool", "environments": {"production": {"enabled": true, "default": {"variant": "off"}}}}`)
	srv.Admin(t, "POST", "/api/v1/projects/default/metrics", `{"key": "purchase", "kind": "conversion"}`)
	srv.Admin(t, "POST", "/api/v1/projects/default/experiments", `{"id": "ab", "environment": "production", "flag": "checkout",
  "control": {"variant": "off", "weight": 50000}, "treatments": [{"variant": "on", "weight": 50000}],
  "traffic_share": 100000, "primary_metric": "purchase"}`)
	srv.Admin(t, "POST", "/api/v1/projects/default/experiments/ab:start", `{}`)

	c, err := sdk.New(context.Background(), sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey,
		Events: sdk.EventsConfig{FlushInterval: time.Hour, CloseTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ready, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ready); err != nil {
		t.Fatal(err)
	}
	const users, buyers = 40, 10
	for i := range users {
		user := sdk.NewContext(fmt.Sprintf("user-%d", i))
		c.Bool("checkout", user, false)
		if i < buyers {
			c.TrackEvent("purchase", user)
		}
	}
	if err := c.Flush(context.Background()); err != nil {
		t.Fatalf("Flush() = %v", err)
	}

	deadline := time.Now().Add(countBound)
	for {
		units, conversions := armCounts(t, srv)
		if units == users && conversions == buyers {
			break
		}
		if units > users || conversions > buyers || time.Now().After(deadline) {
			t.Fatalf("experiment ab counts %d units and %d conversions, want %d and %d", units, conversions, users, buyers)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if seq, err := srv.Events.LastSeq(context.Background()); err != nil || seq == 0 {
		t.Errorf("LastSeq() = %d, %v, want the batches on the stream", seq, err)
	}
}
