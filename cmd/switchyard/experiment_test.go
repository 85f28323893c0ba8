package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/eval"
)

// sendABEvents sends, over the REST event API, what an SDK would for n
// units of the walk-through's experiment: each unit's exposure to the
// variant the experiment assigns it (bucket under "checkout-ab.alloc"),
// and a purchase with probability 10 % (off) or 13 % (on) with an order
// value around 50 (off) or 48 (on), seeded.
func sendABEvents(t *testing.T, s *cliServer, n int) {
	t.Helper()
	c, err := clientConfig{Server: s.url, Token: s.token}.client()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 11))
	var events []map[string]any
	send := func() {
		var out struct {
			Accepted int `json:"accepted"`
		}
		body := map[string]any{"project": "default", "environment": "production", "events": events}
		if err := c.do(context.Background(), http.MethodPost, "/api/v1/events", body, &out); err != nil || out.Accepted != len(events) {
			t.Fatalf("send events: %d of %d accepted, %v", out.Accepted, len(events), err)
		}
		events = nil
	}
	for i := range n {
		unit := fmt.Sprintf("user-%d", i)
		variant, rate, value := "off", 0.10, 20.0
		if eval.Bucket("checkout-ab.alloc", unit) >= 50000 {
			variant, rate, value = "on", 0.13, 18.0
		}
		events = append(events, map[string]any{"exposure": map[string]any{
			"flag": "new-checkout", "variant": variant, "unit": unit, "rule": "experiment:checkout-ab", "experiment": "checkout-ab",
		}})
		if rng.Float64() < rate {
			events = append(events, map[string]any{"track": map[string]any{"key": "purchase", "unit": unit, "value": value + 60*rng.Float64()}})
		}
		if len(events) >= 5000 {
			send()
		}
	}
	send()
}

func TestExperimentWalkThroughByCLI(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "metric create", "purchase", "--kind", "conversion")
	s.must(t, "metric create", "order-value", "--kind", "mean", "--event", "purchase")
	if out := s.must(t, "experiment create", "testdata/experiment.yaml"); !strings.Contains(out, "checkout-ab: DRAFT") {
		t.Errorf("experiment create printed %q", out)
	}
	if out := s.must(t, "experiment start", "checkout-ab"); !strings.Contains(out, "RUNNING") {
		t.Errorf("experiment start printed %q", out)
	}
	sendABEvents(t, s, 6000)

	out := s.must(t, "experiment results", "checkout-ab")
	for _, want := range []string{"primary metric purchase (conversion, higher is better)", "off (control)", "sample ratio: ok", "verdict: "} {
		if !strings.Contains(out, want) {
			t.Errorf("experiment results lacks %q:\n%s", want, out)
		}
	}
	row := strings.Fields(lineWith(out, "on "))
	if len(row) < 12 || row[1] != "50%" || row[len(row)-2] != "better" {
		t.Errorf("row of on = %q, want weight 50%% and outcome better\n%s", row, out)
	}

	res := decodeJSON(t, s.must(t, "experiment results", "checkout-ab", "--json"))
	var units int
	for _, a := range res["arms"].([]any) {
		var n int
		fmt.Sscan(fmt.Sprint(a.(map[string]any)["units"]), &n)
		units += n
	}
	if units != 6000 {
		t.Errorf("--json arms hold %d units, want 6000", units)
	}

	if out := s.must(t, "experiment stop", "checkout-ab", "--ship", "on", "--reason", "13 % beats 10 %"); !strings.Contains(out, "decision ship on by release checkout-ab-ship") {
		t.Errorf("experiment stop printed %q", out)
	}
	if _, _, err := s.run(t, s.token, "experiment stop", "checkout-ab", "--revert"); err == nil {
		t.Error("stopping a stopped experiment succeeded")
	}
}
