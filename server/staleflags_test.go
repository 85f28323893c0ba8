package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/server/servertest"
)

// staleNames lists the flags of a stale report with "never" or their
// last-seen environments.
func staleNames(t *testing.T, report map[string]any) string {
	t.Helper()
	var out []string
	flags, _ := report["flags"].([]any)
	for _, f := range flags {
		m := f.(map[string]any)
		out = append(out, fmt.Sprintf("%v never=%v", m["flag"], m["never"] == true))
	}
	return fmt.Sprint(out)
}

func TestServerEvaluationsCountAsUsage(t *testing.T) {
	clk := newRelClock()
	first := servertest.Start(t, servertest.Options{Now: clk.Now})
	for _, f := range []string{
		`{"key":"ofrep-only","type":"bool","environments":{"production":{"enabled":true,"default":{"variant":"on"}}}}`,
		`{"key":"grpc-only","type":"bool","environments":{"production":{"enabled":true,"default":{"variant":"off"}}}}`,
		`{"key":"unused","type":"bool"}`,
	} {
		first.Admin(t, "POST", "/api/v1/projects/default/flags", f)
	}
	for range 3 {
		r := servertest.Do(t, "POST", first.HTTPURL+"/ofrep/v1/evaluate/flags/ofrep-only", `{"context":{"targetingKey":"u"}}`,
			"X-API-Key", first.Creds.SDKKey)
		if r.Status != http.StatusOK {
			t.Fatalf("OFREP = %d %s", r.Status, r.Body)
		}
	}
	ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": "u"})
	if _, err := sdkpb.NewEvaluationServiceClient(first.Conn).Evaluate(rpcContext(first.Creds.SDKKey),
		&sdkpb.EvaluateRequest{Flag: "grpc-only", Context: ctx}); err != nil {
		t.Fatal(err)
	}
	evaluated := clk.Now()
	// Counts are flushed every 10 s and at shutdown: a restart keeps them.
	second := first.Restart(t)

	u := second.Admin(t, "GET", "/api/v1/projects/default/environments/production/usage?to="+evaluated.Add(time.Hour).Format(time.RFC3339), nil)
	got := map[string]string{}
	for _, f := range u["flags"].([]any) {
		m := f.(map[string]any)
		got[m["flag"].(string)] = fmt.Sprint(m["evaluations"], " ", m["last_evaluated"])
	}
	when := evaluated.Format(time.RFC3339)
	if got["ofrep-only"] != "3 "+when || got["grpc-only"] != "1 "+when || got["unused"] != "<nil> <nil>" {
		t.Errorf("usage evaluations = %v, want ofrep-only 3 and grpc-only 1 at %s, unused none", got, when)
	}

	report := second.Admin(t, "GET", "/api/v1/projects/default/flags:stale", nil)
	if got := staleNames(t, report); got != "[unused never=true]" || report["days"] != float64(30) {
		t.Errorf("stale flags = %s (days %v), want only unused, never used, over 30 days", got, report["days"])
	}
	clk.Add(40 * 24 * time.Hour)
	report = second.Admin(t, "GET", "/api/v1/projects/default/flags:stale", nil)
	if got := staleNames(t, report); got != "[grpc-only never=false ofrep-only never=false unused never=true]" {
		t.Errorf("stale flags 40 days later = %s, want all three", got)
	}
	envs := report["flags"].([]any)[1].(map[string]any)["environments"].([]any)
	if len(envs) != 2 || fmt.Sprint(envs[0].(map[string]any)["last_seen"]) != when || envs[1].(map[string]any)["last_seen"] != nil {
		t.Errorf("environments of ofrep-only = %v, want production last seen %s, staging never", envs, when)
	}
	report = second.Admin(t, "GET", "/api/v1/projects/default/flags:stale?days=60", nil)
	if got := staleNames(t, report); got != "[unused never=true]" {
		t.Errorf("stale flags over 60 days = %s, want only unused", got)
	}
	if r := second.Call(t, "GET", "/api/v1/projects/default/flags:stale?days=-1", second.Creds.AdminToken, nil); r.Status != http.StatusBadRequest {
		t.Errorf("days=-1 = %d %s, want 400", r.Status, r.Body)
	}
}

func TestServerListFlagsStaleFilterAndUsage(t *testing.T) {
	clk := newRelClock()
	srv := servertest.Start(t, servertest.Options{Now: clk.Now})
	for _, f := range []string{
		`{"key":"used","type":"bool","environments":{"production":{"enabled":true,"default":{"variant":"on"}}}}`,
		`{"key":"unused","type":"bool"}`,
	} {
		srv.Admin(t, "POST", "/api/v1/projects/default/flags", f)
	}
	if r := servertest.Do(t, "POST", srv.HTTPURL+"/ofrep/v1/evaluate/flags/used", `{"context":{"targetingKey":"u"}}`,
		"X-API-Key", srv.Creds.SDKKey); r.Status != http.StatusOK {
		t.Fatalf("OFREP = %d %s", r.Status, r.Body)
	}
	when := clk.Now().Format(time.RFC3339)
	srv = srv.Restart(t) // flushes the evaluation counts

	keys := func(list map[string]any) string {
		var out []string
		for _, f := range list["flags"].([]any) {
			out = append(out, f.(map[string]any)["key"].(string))
		}
		return fmt.Sprint(out)
	}
	list := srv.Admin(t, "GET", "/api/v1/projects/default/flags?usage=true", nil)
	usage := list["usage"].([]any)
	if keys(list) != "[used unused]" || len(usage) != 2 {
		t.Fatalf("list with usage = %v", list)
	}
	used, unused := usage[0].(map[string]any), usage[1].(map[string]any)
	envs := used["environments"].([]any)
	if unused["flag"] != "unused" || unused["never"] != true || used["flag"] != "used" || used["last_seen"] != when ||
		envs[0].(map[string]any)["environment"] != "production" || envs[0].(map[string]any)["last_seen"] != when ||
		envs[1].(map[string]any)["last_seen"] != nil {
		t.Errorf("usage = %v, want unused never, used last seen %s in production only", usage, when)
	}
	if plain := srv.Admin(t, "GET", "/api/v1/projects/default/flags", nil); plain["usage"] != nil {
		t.Errorf("usage without asking = %v, want none", plain["usage"])
	}

	if got := keys(srv.Admin(t, "GET", "/api/v1/projects/default/flags?stale_days=30", nil)); got != "[unused]" {
		t.Errorf("stale over 30 days = %s, want [unused]", got)
	}
	clk.Add(40 * 24 * time.Hour)
	if got := keys(srv.Admin(t, "GET", "/api/v1/projects/default/flags?stale_days=30&type=bool&query=used", nil)); got != "[used unused]" {
		t.Errorf("stale over 30 days, 40 days later = %s, want both", got)
	}
	r := srv.Call(t, "GET", "/api/v1/projects/default/flags?stale_days=-1", srv.Creds.AdminToken, nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "stale_days") {
		t.Errorf("stale_days=-1 = %d %s, want 400 naming stale_days", r.Status, r.Body)
	}
}
