package sdk_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// releaseProject is a project whose flags a release serves to staff, then
// 10 % of the EU, then 30 % of everyone; sidebar is outside the release.
const releaseProject = `{"document": {
  "version": 1, "project": "default", "environments": ["production", "staging"],
  "segments": [
    {"key": "staff", "include": ["staff-1", "staff-2"]},
    {"key": "eu", "conditions": [{"attribute": "country", "op": "in", "values": ["DE", "FR"]}]}
  ],
  "flags": [
    {"key": "new-checkout", "type": "bool", "environments": {"production": {"enabled": true,
      "rules": [{"id": "beta", "conditions": [{"attribute": "plan", "op": "in", "values": ["beta"]}], "serve": {"variant": "off"}}],
      "default": {"variant": "off"}}}},
    {"key": "banner", "type": "string", "variants": [{"key": "old", "value": "o"}, {"key": "new", "value": "n"}],
      "environments": {"production": {"enabled": true, "off_variant": "old",
        "default": {"rollout": [{"variant": "old", "weight": 50000}, {"variant": "new", "weight": 50000}]}}}},
    {"key": "sidebar", "type": "bool", "environments": {"production": {"enabled": true, "default": {"variant": "off"}}}}
  ],
  "components": [
    {"key": "ios-app", "versions": [{"version": "2.3.0"}, {"version": "2.4.0", "notes": "New checkout"}],
      "environments": {"production": {"default": {"version": "2.3.0"}}}}
  ]
}}`

// springRelease releases two flags and a version in three stages.
const springRelease = `{"id": "spring", "title": "Spring launch", "environment": "production",
  "release_notes": "New checkout and banner",
  "items": [{"flag": "new-checkout", "variant": "on"}, {"flag": "banner", "variant": "new"}, {"component": "ios-app", "version": "2.4.0"}],
  "plan": [
    {"name": "staff", "segments": ["staff"], "weight": 100000},
    {"name": "eu-10", "segments": ["eu"], "weight": 10000},
    {"name": "all-30", "weight": 30000}
  ]}`

// releaseFlags are the flags of releaseProject and their types.
var releaseFlags = [][2]string{{"new-checkout", "bool"}, {"banner", "string"}, {"sidebar", "bool"}}

// startReleaseServer serves releaseProject and returns a ready client of
// its production environment.
func startReleaseServer(t *testing.T) (*servertest.Server, *sdk.Client) {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/documents:import", releaseProject)
	c := connect(t, srv, srv.Creds.SDKKey)
	return srv, c
}

// releaseStep takes a step of release spring over REST.
func releaseStep(t *testing.T, srv *servertest.Server, verb string) map[string]any {
	t.Helper()
	return srv.Admin(t, "POST", "/api/v1/projects/default/releases/spring:"+verb, map[string]any{})
}

// releaseContexts are staff, EU and other users, some on the beta plan.
func releaseContexts() []map[string]any {
	out := []map[string]any{{"targetingKey": "staff-1"}, {"targetingKey": "staff-2", "country": "US"}, {}}
	for i := range 300 {
		ctx := map[string]any{"targetingKey": fmt.Sprintf("user-%d", i), "country": []string{"DE", "FR", "US", "BR"}[i%4]}
		if i%7 == 0 {
			ctx["plan"] = "beta"
		}
		out = append(out, ctx)
	}
	return out
}

// serverOutcomes evaluates every flag for ctx on the server; it returns the
// outcomes by flag and the revision evaluated.
func serverOutcomes(t *testing.T, srv *servertest.Server, ctx map[string]any) (map[string]outcome, uint64) {
	t.Helper()
	sctx, err := structpb.NewStruct(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rpc := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+srv.Creds.SDKKey)
	var flags []string
	for _, f := range releaseFlags {
		flags = append(flags, f[0])
	}
	resp, err := sdkpb.NewEvaluationServiceClient(srv.Conn).EvaluateBatch(rpc, &sdkpb.EvaluateBatchRequest{Flags: flags, Context: sctx})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]outcome{}
	for _, r := range resp.GetResults() {
		o := outcome{Variant: r.GetVariant(), Reason: r.GetReason(), Rule: r.GetRule(), Error: r.GetErrorCode()}
		if r.GetValue() != nil {
			o.Value = r.GetValue().AsInterface()
		}
		out[r.GetFlag()] = o
	}
	a, err := sdkpb.NewAvailabilityServiceClient(srv.Conn).GetAvailability(rpc, &sdkpb.GetAvailabilityRequest{
		Component: "ios-app", Context: sctx, CurrentVersion: "2.3.0",
	})
	if err != nil {
		t.Fatal(err)
	}
	out["ios-app"] = outcome{Variant: a.GetVersion(), Reason: a.GetReason(), Rule: a.GetRule(), Value: a.GetUpdate(), Error: a.GetErrorCode()}
	return out, resp.GetRevision()
}

// sameAsServer waits until c has applied the server's revision, then checks
// that c answers exactly as the server for every flag and context. It
// returns how many answers came from the release.
func sameAsServer(t *testing.T, srv *servertest.Server, c *sdk.Client) int {
	t.Helper()
	released := 0
	for i, m := range releaseContexts() {
		want, rev := serverOutcomes(t, srv, m)
		if i == 0 {
			eventually(t, fmt.Sprintf("the client to apply revision %d", rev), func() bool { return c.Revision() == rev })
		}
		ctx := sdk.ContextFromMap(m)
		for _, f := range releaseFlags {
			got := evaluate(c, f[1], f[0], &ctx)
			if got != want[f[0]] {
				t.Fatalf("revision %d: %s for %v = %+v on the SDK, %+v on the server", rev, f[0], m, got, want[f[0]])
			}
			if got.Rule == "release:spring" {
				released++
			}
		}
		a := c.Availability("ios-app", &ctx, "2.3.0")
		if got := (outcome{Variant: a.Version, Reason: string(a.Reason), Rule: a.Rule, Value: string(a.Update), Error: string(a.ErrorCode)}); got != want["ios-app"] {
			t.Fatalf("revision %d: ios-app for %v = %+v on the SDK, %+v on the server", rev, m, got, want["ios-app"])
		}
	}
	return released
}

// TestReleaseReachesSDK: at every stage of a release and after its
// rollback, the SDK evaluates exactly as the server.
func TestReleaseReachesSDK(t *testing.T) {
	srv, c := startReleaseServer(t)
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", springRelease)
	if n := sameAsServer(t, srv, c); n != 0 {
		t.Errorf("draft: %d answers from the release, want none", n)
	}
	// Listen once the client holds the server's revision, so that a late
	// first sync of the imported project is not counted as a release step.
	var changes []sdk.Change
	var mu sync.Mutex
	c.OnChange(func(ch sdk.Change) {
		mu.Lock()
		changes = append(changes, ch)
		mu.Unlock()
	})
	last := 0
	for stage, verb := range []string{"start", "advance", "advance"} {
		releaseStep(t, srv, verb)
		n := sameAsServer(t, srv, c)
		if n <= last {
			t.Errorf("stage %d: %d answers from the release, want more than %d", stage+1, n, last)
		}
		last = n
	}
	releaseStep(t, srv, "rollback")
	if n := sameAsServer(t, srv, c); n != 0 {
		t.Errorf("after rollback: %d answers from the release, want none", n)
	}

	// OnChange runs after the ruleset is swapped in: wait for the last call.
	eventually(t, "four changes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(changes) >= 4
	})
	mu.Lock()
	defer mu.Unlock()
	for _, ch := range changes {
		if !slices.Equal(ch.Flags, []string{"banner", "new-checkout"}) {
			t.Errorf("change at revision %d names %v, want the released flags [banner new-checkout]", ch.Revision, ch.Flags)
		}
	}
	if len(changes) != 4 {
		t.Errorf("%d changes announced, want 4 (start, two advances, rollback)", len(changes))
	}
}

// TestOnRelease: every step of a release that changes its state or stage
// reaches OnRelease, after the revision it made.
func TestOnRelease(t *testing.T) {
	srv, c := startReleaseServer(t)
	var (
		mu     sync.Mutex
		events []sdk.ReleaseEvent
		stale  []string
	)
	c.OnRelease(func(ev sdk.ReleaseEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
		if c.Revision() < ev.Revision {
			stale = append(stale, fmt.Sprintf("%s at revision %d seen on revision %d", ev.Action, ev.Revision, c.Revision()))
		}
	})
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", springRelease)
	var want []sdk.ReleaseEvent
	for _, verb := range []string{"start", "advance", "pause", "approve", "resume", "rollback"} {
		r := srv.Call(t, "POST", "/api/v1/projects/default/releases/spring:"+verb, srv.Creds.AdminToken, map[string]any{})
		if verb == "approve" {
			continue // refused or not: no state or stage change
		}
		if r.Status != 200 {
			t.Fatalf("%s = %d %s", verb, r.Status, r.Body)
		}
		tl, _ := r.JSON(t)["timeline"].([]any)
		ev := tl[len(tl)-1].(map[string]any)
		stage, _ := ev["stage"].(float64)
		var rev uint64
		fmt.Sscan(fmt.Sprint(ev["revision"]), &rev)
		want = append(want, sdk.ReleaseEvent{
			ID: "spring", Title: "Spring launch", Environment: "production", Action: fmt.Sprint(ev["action"]),
			From: fmt.Sprint(ev["from_state"]), To: fmt.Sprint(ev["to_state"]), Stage: int(stage), Revision: rev,
			ReleaseNotes: "New checkout and banner",
		})
	}
	eventually(t, "every release event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) >= len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	for i := range events {
		if events[i].Time.IsZero() {
			t.Errorf("event %d has no time", i)
		}
		events[i].Time = want[i].Time
	}
	if !slices.Equal(events, want) {
		t.Errorf("OnRelease got\n%+v\nwant\n%+v", events, want)
	}
	if len(stale) > 0 {
		t.Errorf("events delivered before their revision: %v", stale)
	}
}

// TestReleaseNotesReachSDK: the SDK answers availability with the notes of
// the release in progress that served the client, in its language, and
// keeps them once the release completed.
func TestReleaseNotesReachSDK(t *testing.T) {
	srv, c := startReleaseServer(t)
	srv.Admin(t, "POST", "/api/v1/projects/default/releases", map[string]any{
		"id": "ios", "environment": "production", "release_notes": "New checkout",
		"release_notes_by_language": map[string]string{"de": "Neuer Checkout"},
		"items":                     []map[string]string{{"component": "ios-app", "version": "2.4.0"}},
		"plan":                      []map[string]any{{"segments": []string{"staff"}, "weight": 100000}, {"weight": 100000}},
	})
	notes := func(key string, langs ...string) string {
		ctx := sdk.NewContext(key)
		var out []string
		for _, n := range c.Availability("ios-app", ctx, "2.3.0", langs...).ReleaseNotes {
			out = append(out, n.Release+"@"+n.Version+"/"+n.Language+":"+n.Notes)
		}
		return fmt.Sprint(out)
	}
	step := func(verb string) {
		srv.Admin(t, "POST", "/api/v1/projects/default/releases/ios:"+verb, map[string]any{})
	}
	step("start")
	eventually(t, "the client to apply the start", func() bool { return notes("staff-1") != "[]" })
	if got := notes("staff-1", "de-AT", "en"); got != "[ios@2.4.0/de:Neuer Checkout]" {
		t.Errorf("staff in German = %s", got)
	}
	if got := notes("staff-1", "not a tag", "fr"); got != "[ios@2.4.0/:New checkout]" {
		t.Errorf("staff in French = %s, want the default", got)
	}
	if got := notes("user-1", "de"); got != "[]" {
		t.Errorf("outside the audience = %s, want none", got)
	}
	step("advance")
	step("advance")
	eventually(t, "the client to apply the completion", func() bool { return notes("user-1", "de") == "[ios@2.4.0/de:Neuer Checkout]" })
}
