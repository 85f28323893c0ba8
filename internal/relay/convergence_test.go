package relay_test

import (
	"fmt"
	"net/http"
	"sort"
	"testing"

	"github.com/switchyard/switchyard/internal/relay/relaytest"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// namedRelayKey creates a relay key named name for production of the
// default project and returns its secret.
func namedRelayKey(t *testing.T, primary *servertest.Server, name string) string {
	t.Helper()
	resp := primary.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": name, "kind": "relay", "project": "default", "environments": []string{"production"},
	})
	return resp["secret"].(string)
}

const checkoutDoc = `{"document": {
  "version": 1, "project": "default", "environments": ["production", "staging"],
  "flags": [{"key": "new-checkout", "type": "bool", "environments": {"production": {"enabled": true, "default": {"variant": "off"}}}}]
}}`

func TestReleaseGateCountsSDKsBehindAChainedRelay(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	primary.Admin(t, "POST", "/api/v1/documents:import", checkoutDoc)
	// Both keys exist before the first relay starts: its first key set
	// has the second's.
	regionKey, edgeKey := namedRelayKey(t, primary, "region"), namedRelayKey(t, primary, "edge-paris")
	region := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: regionKey})
	edge := relaytest.Start(t, relaytest.Options{Upstream: region.GRPCAddr, RelayKey: edgeKey})
	caughtUp(t, primary, edge, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, region, key)
	accepts(t, edge, key)

	// Stage 1 needs three connected SDKs, every one of them converged:
	// there are none at the primary itself, one behind the region relay
	// and two behind the edge relay that follows it.
	primary.Admin(t, "POST", "/api/v1/projects/default/releases", `{"id": "spring", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "new-checkout", "variant": "on"}],
	  "plan": [{"weight": 10000, "min_convergence": 1, "min_connected": 3}, {"weight": 100000}]}`)
	primary.Admin(t, "POST", "/api/v1/projects/default/releases/spring:start", `{}`)
	if r := primary.Call(t, "POST", "/api/v1/projects/default/releases/spring:advance", primary.Creds.AdminToken, `{}`); r.Status != http.StatusBadRequest {
		t.Fatalf("advance with no SDK connected = %d %s, want 400 (min_connected 3)", r.Status, r.Body)
	}
	connect(t, region.GRPCAddr, key)
	connect(t, edge.GRPCAddr, key)
	connect(t, edge.GRPCAddr, key)

	var conv map[string]any
	eventually(t, "three SDKs behind the relays converged at the primary", func() bool {
		conv = primary.Admin(t, "GET", "/api/v1/projects/default/environments/production/convergence", nil)
		return conv["connected"] == float64(3) && conv["converged"] == float64(3)
	})
	var behind []string
	for _, s := range conv["streams"].([]any) {
		behind = append(behind, fmt.Sprint(s.(map[string]any)["relay"]))
	}
	sort.Strings(behind)
	if want := "[region region/edge-paris region/edge-paris]"; fmt.Sprint(behind) != want {
		t.Errorf("the SDKs sit behind %v, want %s", behind, want)
	}
	if r := primary.Call(t, "POST", "/api/v1/projects/default/releases/spring:advance", primary.Creds.AdminToken, `{}`); r.Status != http.StatusOK {
		t.Fatalf("advance with the three SDKs behind relays converged = %d %s, want 200", r.Status, r.Body)
	}
}

// TestPrimaryCountsSDKsLeavingAChainedRelay closes the SDKs behind a
// chained relay one by one: each leave is reported up the chain (the
// relays report on change, with no poll), and the primary's convergence
// counts the SDKs that are left.
func TestPrimaryCountsSDKsLeavingAChainedRelay(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	primary.Admin(t, "POST", "/api/v1/documents:import", checkoutDoc)
	regionKey, edgeKey := namedRelayKey(t, primary, "region"), namedRelayKey(t, primary, "edge")
	region := relaytest.Start(t, relaytest.Options{Upstream: primary.GRPCAddr, RelayKey: regionKey})
	edge := relaytest.Start(t, relaytest.Options{Upstream: region.GRPCAddr, RelayKey: edgeKey})
	caughtUp(t, primary, edge, "default", "production")
	key := primary.Creds.SDKKey
	accepts(t, edge, key)
	clients := []*sdk.Client{connect(t, edge.GRPCAddr, key), connect(t, edge.GRPCAddr, key)}
	connected := func(n int) func() bool {
		return func() bool {
			conv := primary.Admin(t, "GET", "/api/v1/projects/default/environments/production/convergence", nil)
			got, _ := conv["connected"].(float64) // absent when 0
			return got == float64(n)
		}
	}
	eventually(t, "the primary counts the two SDKs behind the edge relay", connected(2))
	for i, c := range clients {
		c.Close()
		eventually(t, fmt.Sprintf("the primary counts %d SDKs after one left", len(clients)-i-1), connected(len(clients)-i-1))
	}
}
