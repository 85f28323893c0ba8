package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestReleaseReportDeliveryByCLI: "release report --period" prints the
// delivery metrics, as JSON with --output json; with a release id it
// prints that release's record.
func TestReleaseReportDeliveryByCLI(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0", "--notes", "New checkout")
	s.must(t, "release create", "ios", "--environment", "production", "--notes", "iOS 2.4.0", "--item", "ios-app=2.4.0", "--stage", "all")
	s.must(t, "release start", "ios")
	s.must(t, "release advance", "ios")
	s.must(t, "release create", "checkout", "--environment", "production", "--notes", "n", "--item", "new-checkout=on", "--stage", "all")
	s.must(t, "release start", "checkout")
	c, err := clientConfig{Server: s.url, Token: s.token}.client()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.do(context.Background(), http.MethodPost, "/api/v1/projects/default/releases/checkout/incidents",
		map[string]string{"severity": "high", "note": "errors"}, nil); err != nil {
		t.Fatal(err)
	}
	s.must(t, "release rollback", "checkout", "--reason", "errors")

	// One completed release in 30 days is 7/30 a week; one failed change of two.
	d := decodeJSON(t, s.must(t, "release report", "--period", "30d", "--output", "json"))
	if f, _ := d["release_frequency"].(float64); f < 0.2333 || f > 0.2334 {
		t.Errorf("release_frequency = %v, want 7/30", d["release_frequency"])
	}
	if d["change_failure_rate"] != 0.5 {
		t.Errorf("change_failure_rate = %v, want 0.5", d["change_failure_rate"])
	}
	for _, field := range []string{"lead_time", "time_to_restore"} {
		if m, _ := d[field].(map[string]any); m["count"] != 1.0 {
			t.Errorf("%s = %v, want one duration", field, d[field])
		}
	}
	table := s.must(t, "release report", "--period", "4w", "--environment", "production")
	for _, want := range []string{"release frequency 0.25/week", "change failure rate 50.0% (1 of 2)", "completed 1", "rolled back 1"} {
		label := want[:strings.IndexAny(want, "0123456789")-1]
		if got := strings.Join(strings.Fields(lineWith(table, label+" ")), " "); !strings.HasPrefix(got, want) {
			t.Errorf("delivery row %q, want it to start with %q\n%s", got, want, table)
		}
	}
	if _, _, err := s.run(t, s.token, "release report", "--period", "90"); err == nil || !strings.Contains(err.Error(), "period") {
		t.Errorf("--period 90 = %v, want an error naming the period", err)
	}

	av := s.must(t, "availability", "ios-app", "--environment", "production", "--current-version", "2.3.1", "--context", "targetingKey=u1", "--language", "de")
	if got := strings.Join(strings.Fields(lineWith(av, "release notes")), " "); got != "release notes ios 2.4.0 iOS 2.4.0" {
		t.Errorf("availability release notes %q\n%s", got, av)
	}

	rec := s.must(t, "release report", "checkout")
	if got := strings.Fields(lineWith(rec, "release checkout")); len(got) < 5 || got[4] != "ROLLED_BACK" {
		t.Errorf("record header %v, want release checkout in production: ROLLED_BACK\n%s", got, rec)
	}
	if got := lineWith(rec, "incidents"); !strings.Contains(got, "high at stage 1") {
		t.Errorf("record incidents %q\n%s", got, rec)
	}
}
