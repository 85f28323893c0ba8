package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/eval"
)

// germanUser returns a targeting key whose bucket under the release's
// salt is below (in) or at least (out of) 5 %.
func germanUser(t *testing.T, release string, in bool) string {
	t.Helper()
	for i := range 10000 {
		key := fmt.Sprintf("de-%d", i)
		if (eval.Bucket(release, key) < 5000) == in {
			return key
		}
	}
	t.Fatal("no such user among 10000")
	return ""
}

// timelineActions reads the ACTION column of release status's timeline.
func timelineActions(status string) []string {
	_, timeline, _ := strings.Cut(status, "TIMELINE\n")
	var actions []string
	for line := range strings.Lines(timeline) {
		if f := strings.Fields(line); len(f) > 2 && f[0] != "TIME" {
			actions = append(actions, f[2])
		}
	}
	return actions
}

// availableVersion asks the availability command which ios-app version a
// German user on 2.3.1 is offered in production.
func availableVersion(t *testing.T, s *cliServer, user string) string {
	t.Helper()
	out := s.must(t, "availability", "ios-app", "--environment", "production", "--current-version", "2.3.1",
		"--context", "targetingKey="+user, "--context", "country=DE")
	return strings.Fields(lineWith(out, "version"))[1]
}

// createDE drafts the walk-through's release: iOS 2.4.0 and the new
// checkout to staff, then 5 % of Germany behind an approval, then Germany.
func createDE(t *testing.T, s *cliServer, id string) string {
	t.Helper()
	return s.must(t, "release create", id, "--environment", "production", "--title", "iOS 2.4.0 to Germany",
		"--notes", "New checkout in iOS 2.4.0", "--item", "ios-app=2.4.0", "--item", "new-checkout=on",
		"--stage", "staff:segments=staff", "--stage", "de-5:segments=germany:weight=5%:gate=approval",
		"--stage", "de:segments=germany")
}

func TestReleaseWalkThroughByCLI(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0", "--notes", "New checkout")
	rm := s.newToken(t, "alice", "release-manager")
	// Bob runs the release: the admin who minted both keys could not
	// approve, nor be approved by, either of them.
	s.token = s.newToken(t, "bob", "release-manager")
	if out := createDE(t, s, "ios-240-de"); !strings.Contains(out, "DRAFT") {
		t.Fatalf("release create printed %q, want the DRAFT state", out)
	}
	in, out := germanUser(t, "ios-240-de", true), germanUser(t, "ios-240-de", false)

	s.must(t, "release start", "ios-240-de", "--note", "go")
	if got := availableVersion(t, s, "staff-1"); got != "2.4.0" {
		t.Errorf("stage 1: staff-1 is offered %s, want 2.4.0", got)
	}
	if _, _, err := s.run(t, s.token, "release advance", "ios-240-de"); err == nil || !strings.Contains(err.Error(), "approval") {
		t.Errorf("advance before the approval = %v, want an error about the approval", err)
	}
	if _, _, err := s.run(t, s.token, "release approve", "ios-240-de"); err == nil || !strings.Contains(err.Error(), "may not approve") {
		t.Errorf("approval by the requester = %v, want it refused", err)
	}
	s.mustAs(t, rm, "release approve", "ios-240-de", "--comment", "looks good")
	if got := s.must(t, "release advance", "ios-240-de"); !strings.Contains(got, "stage 2/3 (de-5)") {
		t.Errorf("advance printed %q, want stage 2/3 (de-5)", got)
	}
	if got := availableVersion(t, s, in); got != "2.4.0" {
		t.Errorf("stage 2: %s (in the 5 %%) is offered %s, want 2.4.0", in, got)
	}
	if got := availableVersion(t, s, out); got != "2.3.1" {
		t.Errorf("stage 2: %s (outside the 5 %%) is offered %s, want 2.3.1", out, got)
	}

	status := s.must(t, "release status", "ios-240-de")
	for _, want := range []struct{ prefix, fields string }{
		{"1 ", "1 staff done staff 100% manual"},
		{"2 ", "2 de-5 current germany 5% approval"},
		{"3 ", "3 de pending germany 100% manual"},
		{"state", "state IN_PROGRESS, stage 2/3 (de-5)"},
	} {
		if got := strings.Join(strings.Fields(lineWith(status, want.prefix)), " "); !strings.HasPrefix(got, want.fields) {
			t.Errorf("status line %q, want it to start with %q\n%s", got, want.fields, status)
		}
	}
	if got, want := timelineActions(status), []string{"create", "start", "approve", "advance"}; !slices.Equal(got, want) {
		t.Errorf("status timeline actions = %v, want %v\n%s", got, want, status)
	}

	s.must(t, "release advance", "ios-240-de")
	if got := s.must(t, "release advance", "ios-240-de"); !strings.Contains(got, "COMPLETED") {
		t.Errorf("last advance printed %q, want COMPLETED", got)
	}
	if got := availableVersion(t, s, out); got != "2.4.0" {
		t.Errorf("completed: %s is offered %s, want 2.4.0", out, got)
	}
	status = s.must(t, "release status", "ios-240-de")
	if n := strings.Count(status, " done "); n != 3 {
		t.Errorf("completed status shows %d done stages, want 3:\n%s", n, status)
	}
	list := s.must(t, "release list")
	if got := strings.Fields(lineWith(list, "ios-240-de")); len(got) < 3 || got[2] != "COMPLETED" {
		t.Errorf("release list row %v, want ios-240-de production COMPLETED\n%s", got, list)
	}

	report := s.must(t, "release report", "--environment", "production")
	for _, want := range []string{"releases 1", "ended 1", "completed 1", "rolled back 0", "success rate 100.0%", "rollbacks 0"} {
		label := want[:strings.LastIndex(want, " ")]
		if got := strings.Join(strings.Fields(lineWith(report, label+" ")), " "); !strings.HasPrefix(got, want) {
			t.Errorf("report row %q, want it to start with %q\n%s", got, want, report)
		}
	}
	if got := lineWith(report, "lead time, stage 2"); got == "" {
		t.Errorf("report has no lead time of stage 2:\n%s", report)
	}
}

func TestReleaseRollbackByCLI(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	createDE(t, s, "doomed")
	s.must(t, "release start", "doomed")
	if got := availableVersion(t, s, "staff-2"); got != "2.4.0" {
		t.Fatalf("started: staff-2 is offered %s, want 2.4.0", got)
	}
	if got := s.must(t, "release rollback", "doomed", "--reason", "crash on launch"); !strings.Contains(got, "ROLLED_BACK") {
		t.Errorf("rollback printed %q, want ROLLED_BACK", got)
	}
	if got := availableVersion(t, s, "staff-2"); got != "2.3.1" {
		t.Errorf("rolled back: staff-2 is offered %s, want 2.3.1", got)
	}
	status := s.must(t, "release status", "doomed")
	for _, want := range []string{"1 staff done", "2 de-5 skipped", "3 de skipped"} {
		if got := strings.Join(strings.Fields(lineWith(status, want[:2])), " "); !strings.HasPrefix(got, want) {
			t.Errorf("status stage line %q, want it to start with %q\n%s", got, want, status)
		}
	}
	if !strings.Contains(status, "crash on launch") {
		t.Errorf("status timeline lacks the rollback reason:\n%s", status)
	}
}

func TestReleaseCreateFromFile(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	out := s.must(t, "release create", "--file", "testdata/release.yaml", "--title", "from a file", "--json")
	r := decodeJSON(t, out)
	if r["id"] != "ios-240-de" || r["title"] != "from a file" || r["state"] != "DRAFT" {
		t.Errorf("created release = %v, want ios-240-de titled from the flag", r)
	}
	if plan, _ := r["plan"].([]any); len(plan) != 3 {
		t.Errorf("created plan = %v, want the file's 3 stages", r["plan"])
	}
}

func TestReleaseFromAModelByCLI(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	out := s.must(t, "model create", "mobile-staged", "--title", "Mobile, staged", "--mode", "push",
		"--stage", "staff:segments=staff", "--stage", "canary:weight=5%:gate=approval", "--stage", "all:gate=wait=24h",
		"--resolution-check", "--approvers", "admin")
	if !strings.Contains(out, "created release model mobile-staged") {
		t.Errorf("model create printed %q", out)
	}
	list := s.must(t, "model list")
	want := "mobile-staged push staff staff 100% (manual) → canary everyone 5% (approval) → all everyone 100% (wait 24h) resolution check admin Mobile, staged"
	if got := strings.Join(strings.Fields(lineWith(list, "mobile-staged")), " "); got != want {
		t.Errorf("model list row\n%q, want\n%q", got, want)
	}
	r := decodeJSON(t, s.must(t, "release create", "app-240", "--model", "mobile-staged", "--environment", "production",
		"--notes", "2.4.0", "--item", "ios-app=2.4.0", "--json"))
	if plan, _ := r["plan"].([]any); r["model"] != "mobile-staged" || r["mode"] != "push" || len(plan) != 3 {
		t.Errorf("release created from the model = %v, want its model, mode and 3 stages", r)
	}
	status := s.must(t, "release status", "app-240")
	if got := strings.Join(strings.Fields(lineWith(status, "2 ")), " "); !strings.HasPrefix(got, "2 canary pending everyone 5% approval (admin)") {
		t.Errorf("status stage 2 = %q\n%s", got, status)
	}
	report := s.must(t, "release report")
	if header := strings.Fields(lineWith(report, "ALL")); !slices.Contains(header, "MOBILE-STAGED") {
		t.Errorf("report columns %v, want one for mobile-staged\n%s", header, report)
	}
}

func TestReleaseScheduledStartAndCancelByCLI(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	createDE(t, s, "later")
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	out := s.must(t, "release start", "later", "--at", at.Format(time.RFC3339))
	if want := "SCHEDULED, stage 0/3; next: stage 1 (staff) at " + at.Format("2006-01-02 15:04:05Z"); !strings.Contains(out, want) {
		t.Errorf("scheduled start printed %q, want %q", out, want)
	}
	if out := s.must(t, "release cancel", "later", "--reason", "postponed"); !strings.Contains(out, "CANCELLED") {
		t.Errorf("cancel printed %q, want CANCELLED", out)
	}
}
