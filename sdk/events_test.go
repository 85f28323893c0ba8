package sdk_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// usage returns the exposure counts of production's flags over REST, by
// flag and by flag/variant.
func usage(t *testing.T, srv *servertest.Server) map[string]uint64 {
	t.Helper()
	resp := srv.Admin(t, "GET", "/api/v1/projects/default/environments/production/usage", nil)
	out := map[string]uint64{}
	flags, _ := resp["flags"].([]any)
	for _, f := range flags {
		f := f.(map[string]any)
		out[f["flag"].(string)] = count(f["count"])
		variants, _ := f["variants"].([]any)
		for _, v := range variants {
			v := v.(map[string]any)
			out[f["flag"].(string)+"/"+fmt.Sprint(v["variant"])] = count(v["count"])
		}
	}
	return out
}

// count reads a uint64 of a JSON answer (a string; absent: 0).
func count(v any) uint64 {
	var n uint64
	if v != nil {
		fmt.Sscan(fmt.Sprint(v), &n)
	}
	return n
}

// trackEvents counts the stored track events by key, with the sum of
// their values.
func trackEvents(t *testing.T, srv *servertest.Server) map[string][2]float64 {
	t.Helper()
	batches, err := srv.Events.Batches(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]float64{}
	for _, b := range batches {
		for _, e := range b.Events {
			if e.Key != "" {
				c := out[e.Key]
				c[0]++
				c[1] += e.Value
				out[e.Key] = c
			}
		}
	}
	return out
}

// eventsClient is a ready client of srv's production environment whose
// events are sent only when flushed or closed.
func eventsClient(t *testing.T, srv *servertest.Server) *sdk.Client {
	t.Helper()
	c := newClient(t, sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey,
		Events: sdk.EventsConfig{FlushInterval: time.Hour, CloseTimeout: 10 * time.Second}})
	waitReady(t, c)
	return c
}

// TestEventsArrive: exposures of getter calls, deduplicated per unit and
// flag, and track events reach the server and are counted.
func TestEventsArrive(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseProject)
	c := eventsClient(t, srv)
	for i := range 20 {
		user := sdk.NewContext(fmt.Sprintf("user-%d", i))
		for range 3 {
			c.Bool("new-checkout", user, true)
		}
		c.StringDetail("banner", user, "")
		c.Bool("no-such-flag", user, false)
		if i < 5 {
			c.Track("purchase", user, 10)
			c.TrackEvent("signup", user)
		}
	}
	c.Bool("new-checkout", sdk.NewContext(""), false) // no unit: no exposure
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}

	got := usage(t, srv)
	if got["new-checkout"] != 20 || got["new-checkout/off"] != 20 {
		t.Errorf("new-checkout exposures = %d (%d off), want 20 off", got["new-checkout"], got["new-checkout/off"])
	}
	if got["banner"] != 20 || got["banner/old"]+got["banner/new"] != 20 || got["banner/old"] == 0 || got["banner/new"] == 0 {
		t.Errorf("banner exposures = %d (old %d, new %d), want 20 split between old and new", got["banner"], got["banner/old"], got["banner/new"])
	}
	if got["sidebar"] != 0 {
		t.Errorf("sidebar exposures = %d, want 0", got["sidebar"])
	}
	if tr := trackEvents(t, srv); tr["purchase"] != [2]float64{5, 50} || tr["signup"] != [2]float64{5, 0} {
		t.Errorf("track events = %v, want 5 purchases worth 50 and 5 signups", tr)
	}
	st := c.EventStats()
	if st.Deduplicated != 40 || st.Sent != 50 || st.Rejected != 0 || st.Dropped != 0 {
		t.Errorf("EventStats = %+v, want 40 deduplicated and 50 sent", st)
	}
}

// TestCloseFlushesEvents: Close sends what is queued.
func TestCloseFlushesEvents(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseProject)
	c := eventsClient(t, srv)
	for i := range 10 {
		c.Bool("sidebar", sdk.NewContext(fmt.Sprintf("user-%d", i)), true)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := usage(t, srv)["sidebar"]; got != 10 {
		t.Errorf("sidebar exposures after Close = %d, want 10", got)
	}
}

// TestEventsDisabled: no exposures and no tracking.
func TestEventsDisabled(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseProject)
	c := newClient(t, sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, Events: sdk.EventsConfig{Disabled: true}})
	waitReady(t, c)
	user := sdk.NewContext("user-1")
	c.Bool("sidebar", user, true)
	c.Track("purchase", user, 1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := usage(t, srv)["sidebar"]; got != 0 || len(trackEvents(t, srv)) != 0 {
		t.Errorf("with events disabled: %d exposures, track events %v, want none", got, trackEvents(t, srv))
	}
}

// TestRecordedExposureDoesNotAllocate: with events on, a getter whose
// exposure is already recorded does not allocate.
func TestRecordedExposureDoesNotAllocate(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseProject)
	c := eventsClient(t, srv)
	user := sdk.NewContext("user-1").String("country", "DE")
	c.Bool("new-checkout", user, false)
	if n := testing.AllocsPerRun(1000, func() { c.Bool("new-checkout", user, false) }); n != 0 {
		t.Errorf("Bool with a recorded exposure allocates %v times per call, want 0", n)
	}
}

// TestReleaseExposuresArrive: an exposure served by a release (rule
// "release:{id}") is accepted and counted like any other.
func TestReleaseExposuresArrive(t *testing.T) {
	srv, _ := startReleaseServer(t)
	c := eventsClient(t, srv)
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", springRelease)
	releaseStep(t, srv, "start")
	staff := sdk.NewContext("staff-1")
	eventually(t, "the release to reach the client", func() bool { return c.BoolDetail("new-checkout", staff, false).Rule == "release:spring" })
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := usage(t, srv)["new-checkout/on"]; got != 1 {
		t.Errorf("new-checkout/on exposures = %d, want 1; stats %+v", got, c.EventStats())
	}
}
