package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/bootstrap"
	"github.com/switchyard/switchyard/internal/eval"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// stagedRelease releases two flags and a component version to staff, then
// 10 % of the EU, then 30 % of everyone, then everyone.
const stagedRelease = `{"id": "spring", "title": "Spring launch", "environment": "production",
  "release_notes": "New checkout and banner, iOS 2.4.0", "owner": "team-checkout",
  "links": {"ticket": "SHOP-1", "change_record": "CR-7"},
  "items": [{"flag": "new-checkout", "variant": "on"}, {"flag": "banner", "variant": "new"}, {"component": "ios-app", "version": "2.4.0"}],
  "plan": [
    {"name": "staff", "segments": ["staff"], "weight": 100000},
    {"name": "eu-10", "segments": ["eu"], "weight": 10000},
    {"name": "all-30", "weight": 30000},
    {"name": "all", "weight": 100000}
  ]}`

// partialRelease ends at 30 %: it cannot complete.
const partialRelease = `{"id": "partial", "environment": "production", "release_notes": "n",
  "items": [{"flag": "new-checkout", "variant": "on"}],
  "plan": [{"segments": ["staff"], "weight": 100000}, {"weight": 30000}]}`

// inStage reports whether a context is in the union of the first n stages
// of stagedRelease, from the bucketing contract.
func inStage(n int, key, country string) bool {
	b := eval.Bucket("spring", key)
	staff := key == "staff-1" || key == "staff-2"
	eu := country == "DE" || country == "FR"
	stages := []bool{staff, eu && b < 10000, b < 30000, true}
	for _, in := range stages[:n] {
		if in {
			return true
		}
	}
	return false
}

func TestReleaseStagedEndToEnd(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	created := rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/releases", stagedRelease)
	if created["state"] != "DRAFT" || created["salt"] != "spring" || created["mode"] != "pull" {
		t.Fatalf("created release = %v", created)
	}

	evalAPI := sdkpb.NewEvaluationServiceClient(rs.conn)
	contexts := make([][2]string, 0, 402)
	contexts = append(contexts, [2]string{"staff-1", "US"}, [2]string{"staff-2", "DE"})
	for i := range 400 {
		contexts = append(contexts, [2]string{fmt.Sprintf("user-%d", i), []string{"DE", "FR", "US", "BR"}[i%4]})
	}
	// check evaluates every context for every item: the flags through the
	// EvaluationService, the component through the published ruleset.
	wasIn := map[string]bool{}
	check := func(stage int, revision string) {
		t.Helper()
		members := 0
		for _, c := range contexts {
			want := inStage(stage, c[0], c[1])
			ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": c[0], "country": c[1]})
			resp, err := evalAPI.EvaluateBatch(rpcContext(rs.creds.SDKKey), &sdkpb.EvaluateBatchRequest{Flags: []string{"new-checkout", "banner"}, Context: ctx})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(resp.GetRevision()); got != revision {
				t.Fatalf("stage %d: evaluated at revision %s, want %s", stage, got, revision)
			}
			got := map[string]bool{
				"new-checkout": resp.GetResults()[0].GetVariant() == "on",
				"banner":       resp.GetResults()[1].GetVariant() == "new",
			}
			ectx := eval.NewContext(c[0]).String("country", c[1])
			got["ios-app"] = rs.rulesets.Get("default", "production").Availability("ios-app", ectx, "2.3.0").Version == "2.4.0"
			for item, in := range got {
				if in != want {
					t.Fatalf("stage %d: %s (%s, bucket %d) gets the release of %s = %v, want %v",
						stage, c[0], c[1], eval.Bucket("spring", c[0]), item, in, want)
				}
			}
			if want && resp.GetResults()[0].GetRule() != "release:spring" {
				t.Fatalf("stage %d: rule %q, want release:spring", stage, resp.GetResults()[0].GetRule())
			}
			if want {
				members++
			}
			if wasIn[c[0]] && !want {
				t.Fatalf("stage %d dropped %s", stage, c[0])
			}
			wasIn[c[0]] = want
		}
		t.Logf("stage %d: %d of %d contexts in the audience", stage, members, len(contexts))
	}
	check(0, rs.revision(t))

	before := rs.revision(t)
	r := rs.mustAs(t, keys["rm"], "POST", releasePath("spring", "start"), `{"note": "go"}`)
	if r["state"] != "IN_PROGRESS" || stageOf(r) != 1 {
		t.Fatalf("after start: %v", r)
	}
	rev := rs.revision(t)
	if ev := lastEvent(t, r); fmt.Sprint(ev["revision"]) != rev || ev["from_state"] != "DRAFT" || ev["to_state"] != "IN_PROGRESS" || ev["actor_name"] != "rm" {
		t.Errorf("start event %v, want DRAFT → IN_PROGRESS by rm at revision %s", ev, rev)
	}
	if rev == before {
		t.Fatal("start did not bump the revision")
	}
	check(1, rev)
	for stage := 2; stage <= 4; stage++ {
		r = rs.mustAs(t, keys["rm"], "POST", releasePath("spring", "advance"), `{}`)
		if stageOf(r) != stage {
			t.Fatalf("after advance: stage %d, want %d", stageOf(r), stage)
		}
		rev = rs.revision(t)
		check(stage, rev)
	}

	// Completing writes the plain targeting: everyone keeps the released
	// variants and version, now served by the items' defaults.
	r = rs.mustAs(t, keys["rm"], "POST", releasePath("spring", "advance"), `{}`)
	if r["state"] != "COMPLETED" || !strings.Contains(fmt.Sprint(lastEvent(t, r)["note"]), "default serves") {
		t.Fatalf("after completion: %v", r)
	}
	if rs.revision(t) == rev {
		t.Fatal("completion did not bump the revision")
	}
	for _, c := range contexts[:50] {
		ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": c[0], "country": c[1]})
		resp, err := evalAPI.EvaluateBatch(rpcContext(rs.creds.SDKKey), &sdkpb.EvaluateBatchRequest{Flags: []string{"new-checkout", "banner"}, Context: ctx})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"on", "new"} {
			if got := resp.GetResults()[i]; got.GetVariant() != want || got.GetRule() != "default" {
				t.Fatalf("after completion %s gets %s/%s, want %s by default", c[0], got.GetVariant(), got.GetRule(), want)
			}
		}
		if got := rs.rulesets.Get("default", "production").Availability("ios-app", eval.NewContext(c[0]), "2.3.0"); got.Version != "2.4.0" || got.Rule != "default" {
			t.Fatalf("after completion %s is offered %+v, want 2.4.0 by default", c[0], got)
		}
	}
}

func TestReleaseCompletionRefusesAPartialAudience(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", partialRelease)
	rs.mustAdmin(t, "POST", releasePath("partial", "start"), `{}`)
	rs.mustAdmin(t, "POST", releasePath("partial", "advance"), `{}`)
	before, rev := rs.export(t), rs.revision(t)
	r := rs.admin(t, "POST", releasePath("partial", "advance"), `{}`)
	if r.status != http.StatusBadRequest || errorCode(t, r) != "FAILED_PRECONDITION" || !strings.Contains(string(r.body), "widen it to 100 %") {
		t.Fatalf("completing at 30 %% = %d %s, want FAILED_PRECONDITION", r.status, r.body)
	}
	if rs.export(t) != before || rs.revision(t) != rev {
		t.Error("a refused completion changed the project")
	}
}

func TestReleaseCompletionWritesPlainTargeting(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "eu", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "new-checkout", "variant": "on"}, {"component": "ios-app", "version": "2.4.0"}],
	  "plan": [{"segments": ["eu"], "weight": 5000}, {"segments": ["eu"], "weight": 100000}, {"weight": 100000}]}`)
	rs.mustAdmin(t, "POST", releasePath("eu", "start"), `{}`)
	rs.mustAdmin(t, "POST", releasePath("eu", "advance"), `{}`)
	rs.mustAdmin(t, "POST", releasePath("eu", "advance"), `{}`)
	rev := rs.revision(t)
	r := rs.mustAdmin(t, "POST", releasePath("eu", "advance"), `{}`)
	if r["state"] != "COMPLETED" {
		t.Fatalf("after the last advance: %v", r)
	}
	if got := rs.revision(t); got == rev || fmt.Sprint(lastEvent(t, r)["revision"]) != got {
		t.Errorf("completion revision %s (before %s), event %v", got, rev, lastEvent(t, r))
	}
	tg := rs.mustAdmin(t, "GET", "/api/v1/projects/default/flags/new-checkout/environments/production", nil)
	if def := tg["targeting"].(map[string]any)["default"]; fmt.Sprint(def) != "map[variant:on]" {
		t.Errorf("new-checkout default after completion = %v, want variant on", def)
	}
	ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": "anyone"})
	got, err := sdkpb.NewEvaluationServiceClient(rs.conn).Evaluate(rpcContext(rs.creds.SDKKey), &sdkpb.EvaluateRequest{Flag: "new-checkout", Context: ctx})
	if err != nil || got.GetVariant() != "on" || got.GetRule() != "default" {
		t.Errorf("Evaluate after completion = %v, %v; want on by default", got, err)
	}
}

func TestReleaseRollBackRestoresTheExport(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	before := rs.export(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", stagedRelease)
	rs.mustAdmin(t, "POST", releasePath("spring", "start"), `{}`)
	rs.mustAdmin(t, "POST", releasePath("spring", "advance"), `{}`)
	if rs.export(t) != before {
		t.Fatal("a running release changed the export: it must be an overlay")
	}
	rev := rs.revision(t)
	r := rs.mustAdmin(t, "POST", releasePath("spring", "rollback"), `{"reason": "errors up"}`)
	if r["state"] != "ROLLED_BACK" || lastEvent(t, r)["note"] != "errors up" {
		t.Fatalf("after rollback: %v", r)
	}
	if rs.revision(t) == rev {
		t.Error("rollback did not bump the revision")
	}
	if after := rs.export(t); after != before {
		t.Errorf("export after rollback:\n%s\nwant\n%s", after, before)
	}
	ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": "staff-1"})
	got, err := sdkpb.NewEvaluationServiceClient(rs.conn).Evaluate(rpcContext(rs.creds.SDKKey), &sdkpb.EvaluateRequest{Flag: "new-checkout", Context: ctx})
	if err != nil || got.GetVariant() != "off" || got.GetReason() != "STATIC" {
		t.Errorf("Evaluate after rollback = %v, %v; want off, STATIC as before", got, err)
	}
}

func TestReleaseScheduledAdvanceWhileRunning(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "timed", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "new-checkout", "variant": "on"}],
	  "plan": [{"segments": ["staff"], "weight": 100000}, {"weight": 5000, "gate": {"wait": {"duration": "2h"}}}]}`)
	r := rs.mustAdmin(t, "POST", releasePath("timed", "start"), `{}`)
	next := r["next"].(map[string]any)
	if next["gate"] != "wait" || next["due_time"] != "2030-03-01T11:00:00Z" {
		t.Fatalf("next step = %v, want the wait gate due at 11:00", next)
	}
	time.Sleep(50 * time.Millisecond) // several scheduler ticks: nothing is due
	if got := rs.mustAdmin(t, "GET", releasePath("timed", ""), nil); stageOf(got) != 1 {
		t.Fatalf("stage %d before the gate opened", stageOf(got))
	}
	rs.clock.Add(2 * time.Hour)
	r = rs.waitRelease(t, "timed", func(r map[string]any) bool { return stageOf(r) == 2 })
	ev := lastEvent(t, r)
	if ev["action"] != "advance" || ev["actor_name"] != "scheduler" || ev["planned_time"] != "2030-03-01T11:00:00Z" || ev["late"] == true {
		t.Errorf("scheduled advance event = %v, want on time by the scheduler", ev)
	}
	if fmt.Sprint(ev["revision"]) != rs.revision(t) {
		t.Errorf("event revision %v, environment %s", ev["revision"], rs.revision(t))
	}
}

func TestReleaseCatchesUpAfterRestart(t *testing.T) {
	clk := newRelClock()
	first := startRelServer(t, "", clk, bootstrap.Credentials{})
	first.seed(t)
	first.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "overnight", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "new-checkout", "variant": "on"}],
	  "plan": [{"weight": 1000}, {"weight": 50000, "gate": {"at": {"time": "2030-03-01T12:00:00Z"}}}]}`)
	first.mustAdmin(t, "POST", releasePath("overnight", "start"), `{"start_time": "2030-03-01T10:00:00Z"}`)
	if r := first.mustAdmin(t, "GET", releasePath("overnight", ""), nil); r["state"] != "SCHEDULED" {
		t.Fatalf("after a start with a start time: %v", r)
	}
	first.stop()

	// Down from 09:00 until 15:00: the start (10:00) and the advance
	// (12:00) fell due meanwhile.
	clk.Add(6 * time.Hour)
	second := startRelServer(t, first.path, clk, first.creds)
	r := second.waitRelease(t, "overnight", func(r map[string]any) bool { return stageOf(r) == 2 })
	var actions []string
	for _, e := range r["timeline"].([]any) {
		ev := e.(map[string]any)
		actions = append(actions, fmt.Sprint(ev["action"]))
		if ev["action"] == "start" || ev["action"] == "advance" {
			if ev["late"] != true || ev["delay_seconds"].(float64) < 3*3600 {
				t.Errorf("caught-up step %v, want late by hours", ev)
			}
		}
	}
	if got := strings.Join(actions, ","); got != "create,schedule,start,advance" {
		t.Errorf("timeline %s, want create,schedule,start,advance", got)
	}
}

func TestReleaseApprovalEndToEnd(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/releases", `{"id": "gated", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "new-checkout", "variant": "on"}],
	  "plan": [{"segments": ["staff"], "weight": 100000}, {"weight": 100000, "gate": {"approval": {"count": 1}}}]}`)
	rs.mustAs(t, keys["rm"], "POST", releasePath("gated", "start"), `{}`)
	if r := rs.as(t, keys["rm"], "POST", releasePath("gated", "advance"), `{}`); errorCode(t, r) != "FAILED_PRECONDITION" {
		t.Errorf("advance before approval = %d %s, want FAILED_PRECONDITION", r.status, r.body)
	}
	if r := rs.as(t, keys["rm"], "POST", releasePath("gated", "approve"), `{}`); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "requester") {
		t.Errorf("approval by the requester = %d %s, want 403", r.status, r.body)
	}
	if r := rs.as(t, keys["editor"], "POST", releasePath("gated", "approve"), `{}`); r.status != http.StatusForbidden {
		t.Errorf("approval by an editor = %d %s, want 403", r.status, r.body)
	}
	r := rs.mustAs(t, keys["rm2"], "POST", releasePath("gated", "approve"), `{"comment": "metrics fine"}`)
	approvals := r["approvals"].([]any)
	if len(approvals) != 1 || approvals[0].(map[string]any)["by_name"] != "rm2" || lastEvent(t, r)["action"] != "approve" {
		t.Fatalf("after approval: %v", r)
	}
	if next := r["next"].(map[string]any); next["approvals_given"] != float64(1) {
		t.Errorf("next = %v", next)
	}
	r = rs.mustAs(t, keys["rm"], "POST", releasePath("gated", "advance"), `{}`)
	if stageOf(r) != 2 {
		t.Errorf("after approval and advance: stage %d", stageOf(r))
	}
}

func TestReleaseConflictsAreRefusedWithoutChanges(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", stagedRelease)
	rs.mustAdmin(t, "POST", releasePath("spring", "start"), `{}`)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "clash", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "sidebar", "variant": "on"}, {"flag": "banner", "variant": "new"}], "plan": [{"weight": 100000}]}`)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "ghost", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "sidebar", "variant": "maybe"}], "plan": [{"weight": 100000}]}`)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", `{"id": "bare", "environment": "production",
	  "items": [{"flag": "sidebar", "variant": "on"}], "plan": [{"weight": 100000}]}`)
	exportBefore, revBefore := rs.export(t), rs.revision(t)

	tests := []struct {
		name, method, path, body, want string
	}{
		{"item in another active release", "POST", releasePath("clash", "start"), `{}`, "flags/banner is in release spring"},
		{"unknown variant", "POST", releasePath("ghost", "start"), `{}`, `no variant \"maybe\"`},
		{"no release notes", "POST", releasePath("bare", "start"), `{}`, "release_notes"},
		{"deleting a released flag", "DELETE", "/api/v1/projects/default/flags/banner?override_release=spring", "", "roll it back or complete it first"},
		{"editing a running release", "PATCH", releasePath("spring", ""), `{"title": "x"}`, "only a draft"},
		{"deleting a running release", "DELETE", releasePath("spring", ""), "", "only a draft"},
		{"cancelling a running release", "POST", releasePath("spring", "cancel"), `{}`, "roll it back instead"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rs.admin(t, tc.method, tc.path, tc.body)
			if r.status != http.StatusBadRequest || errorCode(t, r) != "FAILED_PRECONDITION" || !strings.Contains(string(r.body), tc.want) {
				t.Errorf("%s %s = %d %s, want FAILED_PRECONDITION containing %q", tc.method, tc.path, r.status, r.body, tc.want)
			}
		})
	}
	if rs.export(t) != exportBefore || rs.revision(t) != revBefore {
		t.Error("a refused request changed the project")
	}
	for _, id := range []string{"clash", "ghost", "bare"} {
		if r := rs.mustAdmin(t, "GET", releasePath(id, ""), nil); r["state"] != "DRAFT" {
			t.Errorf("release %s is %v after a refused start", id, r["state"])
		}
	}
	// A stale etag is a conflict.
	if r := rs.admin(t, "POST", releasePath("spring", "pause"), `{"etag": "stale"}`); r.status != http.StatusConflict {
		t.Errorf("pause with a stale etag = %d %s, want 409", r.status, r.body)
	}
}

func TestReleaseDriftIsShownAndBlocksAdvance(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", stagedRelease)
	rs.mustAdmin(t, "POST", releasePath("spring", "start"), `{}`)
	rs.mustAdmin(t, "PATCH", "/api/v1/projects/default/flags/banner/environments/production?override_release=spring", `{"default": {"variant": "new"}}`)
	r := rs.mustAdmin(t, "GET", releasePath("spring", ""), nil)
	if fmt.Sprint(r["drifted"]) != "[flags/banner]" {
		t.Fatalf("drifted = %v, want [flags/banner]", r["drifted"])
	}
	if r := rs.admin(t, "POST", releasePath("spring", "advance"), `{}`); errorCode(t, r) != "FAILED_PRECONDITION" || !strings.Contains(string(r.body), "acknowledge_drift") {
		t.Errorf("advance of a drifted release = %d %s", r.status, r.body)
	}
	r = rs.mustAdmin(t, "POST", releasePath("spring", "advance"), `{"acknowledge_drift": true}`)
	if stageOf(r) != 2 || r["drifted"] != nil {
		t.Errorf("after an acknowledged advance: stage %d, drifted %v", stageOf(r), r["drifted"])
	}
}

// TestReleaseRoleMatrix calls every release RPC with every role: viewers
// read, editors draft, release managers and admins run releases.
func TestReleaseRoleMatrix(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	api := pb.NewReleaseServiceClient(rs.conn)
	id := &pb.Release{Id: "m", Environment: "production"}
	calls := []struct {
		name string
		need string // the least role allowed
		call func(key string) error
	}{
		{"ListReleases", "viewer", func(k string) error {
			_, err := api.ListReleases(rpcContext(k), &pb.ListReleasesRequest{Project: "default"})
			return err
		}},
		{"GetRelease", "viewer", func(k string) error {
			_, err := api.GetRelease(rpcContext(k), &pb.GetReleaseRequest{Project: "default", Id: "m"})
			return err
		}},
		{"CreateRelease", "editor", func(k string) error {
			_, err := api.CreateRelease(rpcContext(k), &pb.CreateReleaseRequest{Project: "default", Release: id})
			return err
		}},
		{"UpdateRelease", "editor", func(k string) error {
			_, err := api.UpdateRelease(rpcContext(k), &pb.UpdateReleaseRequest{Project: "default", Release: id})
			return err
		}},
		{"DeleteRelease", "editor", func(k string) error {
			_, err := api.DeleteRelease(rpcContext(k), &pb.DeleteReleaseRequest{Project: "default", Id: "none"})
			return err
		}},
		{"StartRelease", "release-manager", func(k string) error {
			_, err := api.StartRelease(rpcContext(k), &pb.StartReleaseRequest{Project: "default", Id: "m"})
			return err
		}},
		{"AdvanceRelease", "release-manager", func(k string) error {
			_, err := api.AdvanceRelease(rpcContext(k), &pb.AdvanceReleaseRequest{Project: "default", Id: "m"})
			return err
		}},
		{"ApproveRelease", "release-manager", func(k string) error {
			_, err := api.ApproveRelease(rpcContext(k), &pb.ApproveReleaseRequest{Project: "default", Id: "m"})
			return err
		}},
		{"PauseRelease", "release-manager", func(k string) error {
			_, err := api.PauseRelease(rpcContext(k), &pb.PauseReleaseRequest{Project: "default", Id: "m"})
			return err
		}},
		{"ResumeRelease", "release-manager", func(k string) error {
			_, err := api.ResumeRelease(rpcContext(k), &pb.ResumeReleaseRequest{Project: "default", Id: "m"})
			return err
		}},
		{"RollBackRelease", "release-manager", func(k string) error {
			_, err := api.RollBackRelease(rpcContext(k), &pb.RollBackReleaseRequest{Project: "default", Id: "m"})
			return err
		}},
		{"CancelRelease", "release-manager", func(k string) error {
			_, err := api.CancelRelease(rpcContext(k), &pb.CancelReleaseRequest{Project: "default", Id: "none"})
			return err
		}},
	}
	rank := map[string]int{"viewer": 1, "editor": 2, "release-manager": 3, "rm": 3, "admin": 4}
	for _, c := range calls {
		for _, role := range []string{"viewer", "editor", "rm", "admin"} {
			t.Run(c.name+"/"+role, func(t *testing.T) {
				err := c.call(keys[role])
				denied := strings.Contains(fmt.Sprint(err), "PermissionDenied") && strings.Contains(fmt.Sprint(err), "needs role")
				if wantDenied := rank[role] < rank[c.need]; denied != wantDenied {
					t.Errorf("%s as %s = %v, want denied = %v", c.name, role, err, wantDenied)
				}
			})
		}
	}
	if _, err := api.ListReleases(rpcContext(rs.creds.SDKKey), &pb.ListReleasesRequest{Project: "default"}); !strings.Contains(fmt.Sprint(err), "PermissionDenied") {
		t.Errorf("ListReleases with an SDK key = %v, want PermissionDenied", err)
	}
}

func TestReleaseDraftEditing(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	created := rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", stagedRelease)
	r := rs.mustAdmin(t, "PATCH", releasePath("spring", ""), `{"title": "Renamed", "etag": "`+created["etag"].(string)+`"}`)
	if r["title"] != "Renamed" || len(r["items"].([]any)) != 3 || len(r["plan"].([]any)) != 4 {
		t.Errorf("after PATCH title: %v, want the title changed and the rest kept", r)
	}
	if r := rs.admin(t, "PATCH", releasePath("spring", ""), `{"title": "x", "etag": "`+created["etag"].(string)+`"}`); r.status != http.StatusConflict {
		t.Errorf("PATCH with a stale etag = %d %s, want 409", r.status, r.body)
	}
	bad := rs.admin(t, "POST", "/api/v1/projects/default/releases", `{"id": "bad", "environment": "production", "plan": [{"weight": 100001}]}`)
	if bad.status != http.StatusBadRequest || bad.json(t)["field"] != "release.plan[0].weight" {
		t.Errorf("an invalid release = %d %s, want 400 naming release.plan[0].weight", bad.status, bad.body)
	}
	list := rs.mustAdmin(t, "GET", "/api/v1/projects/default/releases?state=DRAFT", nil)
	if n := len(list["releases"].([]any)); n != 1 {
		t.Errorf("listed %d draft releases, want 1", n)
	}
	rs.mustAdmin(t, "DELETE", releasePath("spring", ""), nil)
	if r := rs.admin(t, "GET", releasePath("spring", ""), nil); r.status != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d", r.status)
	}
}

// TestPushReleaseRequiresTheUpdate releases a version in push mode: over
// the availability API the audience must update, everyone else is not
// asked to.
func TestPushReleaseRequiresTheUpdate(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	keys := rs.roleKeys(t)
	rs.mustAs(t, keys["editor"], "POST", "/api/v1/projects/default/releases", `{"id": "fix", "environment": "production",
	  "release_notes": "Security fix", "mode": "push", "items": [{"component": "ios-app", "version": "2.4.0"}],
	  "plan": [{"name": "staff", "segments": ["staff"], "weight": 100000}]}`)
	rs.mustAs(t, keys["rm"], "POST", releasePath("fix", "start"), `{}`)
	for _, tc := range []struct {
		key, wantVersion, wantUpdate string
	}{
		{"staff-1", "2.4.0", "REQUIRED"},
		{"user-1", "2.3.0", "NONE"},
	} {
		r := rs.call(t, "GET", "/api/v1/components/ios-app/availability?current_version=2.3.0&context.targetingKey="+tc.key,
			"Authorization", rs.creds.SDKKey, nil)
		got := r.json(t)
		if got["version"] != tc.wantVersion || got["update"] != tc.wantUpdate {
			t.Errorf("availability for %s = %s, want version %s with update %s", tc.key, r.body, tc.wantVersion, tc.wantUpdate)
		}
	}
}

func TestReleaseHoldsItsItemsUnlessOverridden(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", stagedRelease)
	rs.mustAdmin(t, "POST", releasePath("spring", "start"), `{}`)
	before := rs.mustAdmin(t, "GET", releasePath("spring", ""), nil)
	targeting := "/api/v1/projects/default/flags/banner/environments/production"
	edit := `{"default": {"variant": "new"}}`
	refused := []struct {
		name, method, path string
		body               any
	}{
		{"targeting", "PATCH", targeting, edit},
		{"variants", "PATCH", "/api/v1/projects/default/flags/banner?update_mask=variants",
			`{"variants": [{"key": "old", "value": "o"}, {"key": "new", "value": "n"}, {"key": "newer", "value": "nn"}]}`},
		{"delete", "DELETE", "/api/v1/projects/default/flags/banner", nil},
		{"version", "POST", "/api/v1/projects/default/components/ios-app/versions", `{"version": "2.5.0"}`},
		{"import", "POST", "/api/v1/documents:import", strings.Replace(releaseDoc, `"default": {"variant": "old"}`, `"default": {"variant": "new"}`, 1)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := rs.admin(t, tc.method, tc.path, tc.body)
			if r.status != http.StatusConflict || !strings.Contains(string(r.body), `release \"spring\"`) {
				t.Errorf("%s %s during the release = %d %s, want 409 naming release spring", tc.method, tc.path, r.status, r.body)
			}
		})
	}
	if got := rs.mustAdmin(t, "GET", releasePath("spring", ""), nil); fmt.Sprint(got["timeline"]) != fmt.Sprint(before["timeline"]) {
		t.Errorf("refused edits changed the timeline: %v", got["timeline"])
	}

	// The override is accepted and recorded: who, when, why, what.
	rs.mustAdmin(t, "PATCH", targeting+"?override_release=spring&override_reason=INC-7", edit)
	ev := lastEvent(t, rs.mustAdmin(t, "GET", releasePath("spring", ""), nil))
	if ev["action"] != "override" || ev["actor_name"] == nil || ev["time"] == nil ||
		!strings.Contains(fmt.Sprint(ev["note"]), "INC-7") || !strings.Contains(fmt.Sprint(ev["note"]), "flags/banner") {
		t.Errorf("last timeline event = %v, want the override with who, when, why and what", ev)
	}
	// Rolling back removes the release's audience and keeps the edit.
	rs.mustAdmin(t, "POST", releasePath("spring", "rollback"), `{"reason": "done"}`)
	if got := rs.mustAdmin(t, "GET", targeting, nil); fmt.Sprint(got["targeting"].(map[string]any)["default"]) != "map[variant:new]" {
		t.Errorf("targeting after rollback = %v, want the overridden edit kept", got["targeting"])
	}
	rs.mustAdmin(t, "DELETE", "/api/v1/projects/default/flags/banner", nil)
}
