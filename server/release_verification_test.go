package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// convergedRelease needs every connected SDK on stage 1 before stage 2.
const convergedRelease = `{"id": "conv", "environment": "production", "release_notes": "n",
  "items": [{"flag": "new-checkout", "variant": "on"}, {"component": "ios-app", "version": "2.4.0"}],
  "plan": [{"name": "staff", "segments": ["staff"], "weight": 100000, "min_convergence": 1},
           {"name": "eu", "segments": ["eu"], "weight": 50000}]}`

// sdkClient connects a real Go SDK to srv's production and waits until
// it is ready.
func sdkClient(t *testing.T, srv *servertest.Server) *sdk.Client {
	t.Helper()
	c, err := sdk.New(context.Background(), sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey, Name: "verify-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// stageVerification polls GET release until its verification of stage
// satisfies cond (5 s at most) and returns it.
func stageVerification(t *testing.T, srv *servertest.Server, id string, stage int, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := srv.Admin(t, "GET", "/api/v1/projects/default/releases/"+id, nil)
		vs, _ := r["verification"].([]any)
		for _, v := range vs {
			if v := v.(map[string]any); v["stage"] == float64(stage) && cond(v) {
				return v
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("release %s: stage %d never verified as expected: %v", id, stage, r["verification"])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// convergence reads a verification's convergence.
func convergence(v map[string]any) map[string]any {
	c, _ := v["convergence"].(map[string]any)
	return c
}

func TestReleaseWaitsForSDKsToConverge(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseDoc)
	clients := []*sdk.Client{sdkClient(t, srv), sdkClient(t, srv)}

	// A stream that takes rulesets but never acknowledges the release's.
	stalled := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "stalled"})
	ack(t, stalled, recvRuleset(t, stalled).GetRevision())

	srv.Admin(t, "POST", "/api/v1/projects/default/releases", convergedRelease)
	started := srv.Admin(t, "POST", "/api/v1/projects/default/releases/conv:start", `{}`)
	rev := lastEvent(t, started)["revision"]
	v := stageVerification(t, srv, "conv", 1, func(v map[string]any) bool {
		c := convergence(v)
		return c["connected"] == float64(3) && c["converged"] == float64(2)
	})
	if c := convergence(v); fmt.Sprint(c["revision"]) != fmt.Sprint(rev) || c["met"] == true || c["required"] != float64(1) {
		t.Fatalf("convergence %v, want 2 of 3 at revision %v, not met", c, rev)
	}
	for i, c := range clients {
		if !c.Bool("new-checkout", sdk.NewContext("staff-1"), false) {
			t.Errorf("client %d does not serve the release to staff-1", i)
		}
	}

	r := srv.Call(t, "POST", "/api/v1/projects/default/releases/conv:advance", srv.Creds.AdminToken, `{}`)
	if msg := string(r.Body); r.Status != http.StatusBadRequest || !strings.Contains(msg, "FAILED_PRECONDITION") ||
		!strings.Contains(msg, "waiting for convergence") || !strings.Contains(msg, "2 of 3 connected SDKs (66.7 %)") {
		t.Fatalf("advance with a stalled SDK = %d %s, want FAILED_PRECONDITION showing 2 of 3 (66.7 %%)", r.Status, msg)
	}

	stalled.CloseSend() // the stalled SDK leaves
	stageVerification(t, srv, "conv", 1, func(v map[string]any) bool {
		c := convergence(v)
		return c["connected"] == float64(2) && c["converged"] == float64(2) && c["met"] == true
	})
	advanced := srv.Admin(t, "POST", "/api/v1/projects/default/releases/conv:advance", `{}`)
	if stageOf(advanced) != 2 || !strings.Contains(fmt.Sprint(lastEvent(t, advanced)["note"]), "convergence: 2 of 2 connected SDKs") {
		t.Fatalf("after convergence: %v", advanced)
	}
	// Stage 1's convergence stays as recorded when the release left it.
	if c := convergence(stageVerification(t, srv, "conv", 1, func(map[string]any) bool { return true })); c["converged"] != float64(2) || c["met"] != true {
		t.Errorf("stage 1's recorded convergence %v, want 2 of 2, met", c)
	}
}

func TestReleaseConvergenceWithNoSDKsConnected(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseDoc)
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", convergedRelease)
	srv.Admin(t, "POST", "/api/v1/projects/default/releases/conv:start", `{}`)
	v := stageVerification(t, srv, "conv", 1, func(v map[string]any) bool { return convergence(v) != nil })
	if c := convergence(v); c["note"] != "no SDKs connected" || c["met"] != true || c["share"] != float64(1) {
		t.Fatalf("convergence %v, want met vacuously with the note", c)
	}
	srv.Admin(t, "POST", "/api/v1/projects/default/releases/conv:advance", `{}`)
}

func TestReleaseResolutionCheckAfterEachTransition(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseDoc)
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", convergedRelease)
	for stage, verb := range []string{"start", "advance"} {
		r := srv.Admin(t, "POST", "/api/v1/projects/default/releases/conv:"+verb, `{}`)
		rev := fmt.Sprint(lastEvent(t, r)["revision"])
		v := stageVerification(t, srv, "conv", stage+1, func(v map[string]any) bool { return v["resolution"] != nil })
		c := v["resolution"].(map[string]any)
		if c["passed"] != true || c["action"] != verb || fmt.Sprint(c["revision"]) != rev || c["mismatches"] != nil ||
			c["in_audience"] == nil || c["out_of_audience"] == nil {
			t.Fatalf("stage %d: resolution check %v, want passed for %s at revision %s with contexts in and out", stage+1, c, verb, rev)
		}
		// 2 items over 200 keys, 2 staff keys and 20 EU contexts.
		if c["contexts"] != float64(222) || c["evaluations"] != float64(444) {
			t.Errorf("stage %d: %v contexts, %v evaluations; want 222 and 444", stage+1, c["contexts"], c["evaluations"])
		}
	}
	srv.Admin(t, "POST", "/api/v1/projects/default/releases/conv:rollback", `{}`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := srv.Admin(t, "GET", "/api/v1/projects/default/releases/conv", nil)
		if c, ok := r["final_check"].(map[string]any); ok {
			if c["passed"] != true || c["action"] != "roll_back" {
				t.Errorf("final check %v, want a passed roll_back check", c)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final check after the roll back: %v", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
