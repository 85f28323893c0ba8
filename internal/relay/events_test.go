package relay_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"

	"google.golang.org/grpc/metadata"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/relaytest"
	"github.com/switchyard/switchyard/server/servertest"
)

// exposures is a SendEvents request of one dark-mode exposure per unit.
func exposures(units ...string) *sdkpb.SendEventsRequest {
	req := &sdkpb.SendEventsRequest{SdkName: "test"}
	for _, u := range units {
		req.Events = append(req.Events, &sdkpb.Event{Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{Flag: "dark-mode", Variant: "on", Unit: u}}})
	}
	return req
}

// storedUnits is the units of the exposures the primary stored, sorted.
func storedUnits(t *testing.T, primary *servertest.Server) []string {
	t.Helper()
	batches, err := primary.Events.Batches(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var units []string
	for _, b := range batches {
		for _, e := range b.Events {
			units = append(units, e.Unit)
		}
	}
	sort.Strings(units)
	return units
}

func TestEventsSentToARelayWhileThePrimaryIsDownArriveOnceAfterARelayRestart(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	// Both keys exist before the first relay starts: its first key set
	// has the second's.
	regionKey, edgeKey := relayKey(t, primary, "default", "production"), relayKey(t, primary, "default", "production")
	region := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: regionKey})
	edge := relaytest.Start(t, relaytest.Options{Upstream: region.GRPCAddr, RelayKey: edgeKey})
	caughtUp(t, primary, edge, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, region, key)
	accepts(t, edge, key)
	primary.Stop()

	// Over gRPC at the region relay, over REST at the edge relay that
	// follows it.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
	resp, err := sdkpb.NewEventServiceClient(region.Conn).SendEvents(ctx, exposures("g1", "g2"))
	if err != nil || resp.GetAccepted() != 2 {
		t.Fatalf("SendEvents at the relay = %v, %v, want 2 accepted", resp, err)
	}
	r := servertest.Do(t, "POST", edge.HTTPURL+"/api/v1/events", `{"events": [
	  {"exposure": {"flag": "dark-mode", "variant": "on", "unit": "h1"}},
	  {"track": {"key": "purchase", "unit": "h1", "value": 3}}]}`, "Authorization", "Bearer "+key)
	if r.Status != http.StatusOK {
		t.Fatalf("POST /api/v1/events at the chained relay = %d %s, want 200", r.Status, r.Body)
	}

	// Both relays restart before the primary returns: nothing is lost.
	region.Restart(t)
	edge.Restart(t)
	primary = primary.Restart(t)
	eventually(t, "the events reach the primary", func() bool { return len(storedUnits(t, primary)) >= 4 })
	if got, want := fmt.Sprint(storedUnits(t, primary)), "[g1 g2 h1 h1]"; got != want {
		t.Errorf("the primary stored the units %s, want %s (each event once)", got, want)
	}
	usage := primary.Admin(t, "GET", "/api/v1/projects/default/environments/production/usage?flag=dark-mode", nil)
	if f := usage["flags"].([]any)[0].(map[string]any); f["count"] != "3" {
		t.Errorf("usage of dark-mode = %v, want 3 exposures", f)
	}
}

func TestRelayRefusesEventsOfAnotherEnvironment(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	darkMode(t, primary)
	relay := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: relayKey(t, primary, "default", "production")})
	key := primary.Creds.SDKKey
	accepts(t, relay, key)
	r := servertest.Do(t, "POST", relay.HTTPURL+"/api/v1/events", `{"environment": "staging", "events": []}`, "Authorization", "Bearer "+key)
	if r.Status != http.StatusForbidden {
		t.Errorf("POST /api/v1/events for staging with a production key = %d %s, want 403", r.Status, r.Body)
	}
	if r := servertest.Do(t, "POST", relay.HTTPURL+"/api/v1/events", `{"events": []}`); r.Status != http.StatusUnauthorized {
		t.Errorf("POST /api/v1/events without a key = %d %s, want 401", r.Status, r.Body)
	}
}
