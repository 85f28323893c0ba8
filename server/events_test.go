package server_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

const usagePath = "/api/v1/projects/default/environments/production/usage"

// exposureEvent is an exposure of new-checkout.
func exposureEvent(variant, unit string, at time.Time) *sdkpb.Event {
	return &sdkpb.Event{Time: timestamppb.New(at), Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{
		Flag: "new-checkout", Variant: variant, Unit: unit, Rule: "default", Revision: 3,
	}}}
}

// flagUsage reads the usage of one flag over REST.
func flagUsage(t *testing.T, ts *testServer, flag string) map[string]any {
	t.Helper()
	u := ts.mustAdmin(t, "GET", usagePath+"?flag="+flag, nil)
	flags, _ := u["flags"].([]any)
	if len(flags) != 1 {
		t.Fatalf("usage of %s = %v, want one flag", flag, u)
	}
	return flags[0].(map[string]any)
}

func TestSendEventsOverGRPCIsCounted(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	events := sdkpb.NewEventServiceClient(ts.conn)
	now := time.Now().UTC()
	resp, err := events.SendEvents(rpcContext(ts.creds.SDKKey), &sdkpb.SendEventsRequest{
		SdkName: "switchyard-go", SdkVersion: "test",
		Events: []*sdkpb.Event{
			exposureEvent("on", "user-1", now),
			exposureEvent("on", "user-2", now.Add(-time.Second)),
			exposureEvent("off", "user-3", now.Add(-time.Hour)),
			{Kind: &sdkpb.Event_Track{Track: &sdkpb.TrackEvent{Key: "purchase", Unit: "user-1", Value: new(9.5)}}},
		},
	})
	if err != nil {
		t.Fatalf("SendEvents() = %v", err)
	}
	if resp.GetAccepted() != 4 || resp.GetRejected() != 0 {
		t.Fatalf("SendEvents() = %v, want 4 accepted", resp)
	}

	got := flagUsage(t, ts, "new-checkout")
	if got["count"] != "3" || got["exists"] != true {
		t.Errorf("usage = %v, want count 3 of an existing flag", got)
	}
	if last, err := time.Parse(time.RFC3339Nano, got["last_seen"].(string)); err != nil || !last.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("last_seen = %v (%v), want %v", got["last_seen"], err, now.Truncate(time.Millisecond))
	}
	variants := got["variants"].([]any)
	off, on := variants[0].(map[string]any), variants[1].(map[string]any)
	if off["variant"] != "off" || off["count"] != "1" || on["variant"] != "on" || on["count"] != "2" || on["total"] != "2" {
		t.Errorf("variants = %v, want off 1 and on 2", variants)
	}
	hours := on["hours"].([]any)
	hour := now.Truncate(time.Hour).Format(time.RFC3339)
	if len(hours) != 1 || hours[0].(map[string]any)["hour"] != hour || hours[0].(map[string]any)["count"] != "2" {
		t.Errorf("hours of on = %v, want 2 in %s", hours, hour)
	}

	batches, err := ts.events.Batches(context.Background(), 0, 10)
	if err != nil || len(batches) != 1 || len(batches[0].Events) != 4 || batches[0].SDKName != "switchyard-go" || batches[0].Environment != "production" {
		t.Errorf("stored batches = %+v, %v, want one of 4 events from switchyard-go in production", batches, err)
	}
}

func TestSendEventsOverRESTWithClientKey(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	client := ts.newKey(t, map[string]any{"name": "web", "kind": "client", "project": "default", "environment": "production"})
	body := `{"sdk_name":"curl","events":[
		{"exposure":{"flag":"new-checkout","variant":"on","unit":"user-1"}},
		{"time":"` + time.Now().UTC().Format(time.RFC3339) + `","track":{"key":"signup","unit":"user-1"}}]}`
	r := ts.call(t, "POST", "/api/v1/events", "X-API-Key", client, body)
	if r.status != http.StatusOK {
		t.Fatalf("POST /api/v1/events = %d %s", r.status, r.body)
	}
	if got := r.json(t); got["accepted"] != float64(2) {
		t.Errorf("POST /api/v1/events = %s, want 2 accepted", r.body)
	}
	if got := flagUsage(t, ts, "new-checkout"); got["count"] != "1" {
		t.Errorf("usage = %v, want count 1", got)
	}

	// Not for client keys: the usage API, and another environment.
	if r := ts.call(t, "GET", usagePath, "X-API-Key", client, nil); r.status != http.StatusForbidden {
		t.Errorf("GET usage with a client key = %d, want 403", r.status)
	}
	other := `{"project":"default","environment":"staging","events":[]}`
	if r := ts.call(t, "POST", "/api/v1/events", "X-API-Key", client, other); r.status != http.StatusForbidden {
		t.Errorf("POST events for another environment = %d %s, want 403", r.status, r.body)
	}
	// A value of the wrong JSON type makes the whole request invalid.
	wrongType := `{"events":[{"track":{"key":"buy","unit":"u","value":"lots"}}]}`
	if r := ts.call(t, "POST", "/api/v1/events", "X-API-Key", client, wrongType); r.status != http.StatusBadRequest {
		t.Errorf("POST events with a string value = %d %s, want 400", r.status, r.body)
	}
}

func TestSendEventsRejectsBadEvents(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	now := time.Now().UTC()
	track := func(key, unit string, value *float64) *sdkpb.Event {
		return &sdkpb.Event{Kind: &sdkpb.Event_Track{Track: &sdkpb.TrackEvent{Key: key, Unit: unit, Value: value}}}
	}
	exposure := func(flag, variant, unit string) *sdkpb.Event {
		return &sdkpb.Event{Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{Flag: flag, Variant: variant, Unit: unit}}}
	}
	tests := []struct {
		name     string
		event    *sdkpb.Event
		code     string
		inReason string
	}{
		{"unknown flag", exposure("nope", "on", "u"), "FLAG_NOT_FOUND", `events[0].exposure.flag: flag "nope" does not exist`},
		{"unknown variant", exposure("new-checkout", "maybe", "u"), "VARIANT_NOT_FOUND", `flag "new-checkout" has no variant "maybe"`},
		{"exposure without unit", exposure("new-checkout", "on", ""), "UNIT_MISSING", "events[0].exposure.unit"},
		{"track without unit", track("buy", "", nil), "UNIT_MISSING", "events[0].track.unit"},
		{"neither exposure nor track", &sdkpb.Event{Time: timestamppb.New(now)}, "KIND_MISSING", "neither an exposure nor a track event"},
		{"bad event key", track("no spaces", "u", nil), "INVALID_EVENT_KEY", "events[0].track.key"},
		{"NaN value", track("buy", "u", new(math.NaN())), "INVALID_VALUE", "not a finite number"},
		{"infinite value", track("buy", "u", new(math.Inf(1))), "INVALID_VALUE", "not a finite number"},
		{"unit too long", track("buy", strings.Repeat("u", 300), nil), "INVALID_UNIT", "at most 256 bytes"},
		{"bad rule id", &sdkpb.Event{Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{Flag: "new-checkout", Unit: "u", Rule: "a rule"}}}, "INVALID_FIELD", "events[0].exposure.rule"},
		{"bad release rule", &sdkpb.Event{Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{Flag: "new-checkout", Unit: "u", Rule: "release:a b"}}}, "INVALID_FIELD", "events[0].exposure.rule"},
		{"far future", &sdkpb.Event{Time: timestamppb.New(now.Add(2 * time.Hour)), Kind: exposure("new-checkout", "on", "u").Kind}, "TIME_IN_FUTURE", "ahead of the server's clock"},
		{"too old", &sdkpb.Event{Time: timestamppb.New(now.Add(-8 * 24 * time.Hour)), Kind: exposure("new-checkout", "on", "u").Kind}, "TIME_TOO_OLD", "old"},
	}
	events := sdkpb.NewEventServiceClient(ts.conn)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := events.SendEvents(rpcContext(ts.creds.SDKKey), &sdkpb.SendEventsRequest{Events: []*sdkpb.Event{tc.event}})
			if err != nil {
				t.Fatalf("SendEvents() = %v", err)
			}
			rej := resp.GetRejections()
			if resp.GetAccepted() != 0 || resp.GetRejected() != 1 || len(rej) != 1 {
				t.Fatalf("SendEvents() = %v, want one rejection", resp)
			}
			if rej[0].GetCode() != tc.code || !strings.Contains(rej[0].GetReason(), tc.inReason) {
				t.Errorf("rejection = %s: %s, want %s containing %q", rej[0].GetCode(), rej[0].GetReason(), tc.code, tc.inReason)
			}
		})
	}

	// Mixed: the good event is stored, the bad one is counted and not stored.
	resp, err := events.SendEvents(rpcContext(ts.creds.SDKKey), &sdkpb.SendEventsRequest{Events: []*sdkpb.Event{
		exposure("nope", "on", "u"), exposureEvent("on", "u", now),
	}})
	if err != nil || resp.GetAccepted() != 1 || resp.GetRejected() != 1 || resp.GetRejections()[0].GetIndex() != 0 {
		t.Fatalf("SendEvents(bad, good) = %v, %v, want event 0 rejected and 1 accepted", resp, err)
	}
	batches, err := ts.events.Batches(context.Background(), 0, 100)
	if err != nil || len(batches) != 1 || len(batches[0].Events) != 1 || batches[0].Events[0].Flag != "new-checkout" {
		t.Errorf("stored batches = %+v, %v, want only the good event", batches, err)
	}

	u := ts.mustAdmin(t, "GET", usagePath, nil)
	rejected := map[string]string{}
	for _, r := range u["rejected"].([]any) {
		m := r.(map[string]any)
		rejected[m["code"].(string)] = m["count"].(string)
	}
	want := map[string]string{
		"FLAG_NOT_FOUND": "2", "VARIANT_NOT_FOUND": "1", "UNIT_MISSING": "2", "KIND_MISSING": "1", "INVALID_EVENT_KEY": "1",
		"INVALID_VALUE": "2", "INVALID_UNIT": "1", "INVALID_FIELD": "2", "TIME_IN_FUTURE": "1", "TIME_TOO_OLD": "1",
	}
	if fmt.Sprint(rejected) != fmt.Sprint(want) {
		t.Errorf("rejected counts = %v, want %v", rejected, want)
	}
	for _, f := range u["flags"].([]any) {
		if f.(map[string]any)["flag"] == "nope" {
			t.Errorf("usage lists the unknown flag: %v", f)
		}
	}
}

func TestSendEventsRequestErrors(t *testing.T) {
	ts := startServer(t)
	events := sdkpb.NewEventServiceClient(ts.conn)
	tests := []struct {
		name string
		key  string
		req  *sdkpb.SendEventsRequest
		want codes.Code
	}{
		{"no key", "", &sdkpb.SendEventsRequest{}, codes.Unauthenticated},
		{"admin token without environment", ts.creds.AdminToken, &sdkpb.SendEventsRequest{}, codes.InvalidArgument},
		{"admin token with environment", ts.creds.AdminToken, &sdkpb.SendEventsRequest{Project: "default", Environment: "staging"}, codes.OK},
		{"unknown environment", ts.creds.AdminToken, &sdkpb.SendEventsRequest{Project: "default", Environment: "nope"}, codes.NotFound},
		{"too many events", ts.creds.SDKKey, &sdkpb.SendEventsRequest{Events: make([]*sdkpb.Event, 10_001)}, codes.InvalidArgument},
		{"sdk name too long", ts.creds.SDKKey, &sdkpb.SendEventsRequest{SdkName: strings.Repeat("x", 200)}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.key != "" {
				ctx = rpcContext(tc.key)
			}
			if _, err := events.SendEvents(ctx, tc.req); status.Code(err) != tc.want {
				t.Errorf("SendEvents() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestListFlagUsage(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", `{"key":"stale","type":"bool"}`)
	events := sdkpb.NewEventServiceClient(ts.conn)
	now := time.Now().UTC()
	if _, err := events.SendEvents(rpcContext(ts.creds.SDKKey), &sdkpb.SendEventsRequest{Events: []*sdkpb.Event{
		exposureEvent("on", "u1", now), exposureEvent("on", "u1", now.Add(-30*time.Hour)),
	}}); err != nil {
		t.Fatalf("SendEvents() = %v", err)
	}
	ts.mustAdmin(t, "DELETE", "/api/v1/projects/default/flags/new-checkout", nil)

	u := ts.mustAdmin(t, "GET", usagePath, nil)
	flags := u["flags"].([]any)
	if len(flags) != 2 {
		t.Fatalf("usage = %v, want the deleted flag with counts and the stale one", u)
	}
	gone, stale := flags[0].(map[string]any), flags[1].(map[string]any)
	if gone["flag"] != "new-checkout" || gone["exists"] == true || gone["count"] != "1" {
		t.Errorf("deleted flag = %v, want count 1 in the last 24 hours and exists false", gone)
	}
	if stale["flag"] != "stale" || stale["exists"] != true || stale["last_seen"] != nil {
		t.Errorf("stale flag = %v, want existing and never seen", stale)
	}

	from := now.Add(-31 * time.Hour).Format(time.RFC3339)
	u = ts.mustAdmin(t, "GET", usagePath+"?flag=new-checkout&from="+from, nil)
	if got := u["flags"].([]any)[0].(map[string]any)["count"]; got != "2" {
		t.Errorf("count since %s = %v, want 2", from, got)
	}

	bad := []struct{ name, query, want string }{
		{"from after to", "?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z", "from"},
		{"range too long", "?from=2025-01-01T00:00:00Z&to=2025-03-01T00:00:00Z", "from"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.admin(t, "GET", usagePath+tc.query, nil)
			if r.status != http.StatusBadRequest || r.json(t)["field"] != tc.want {
				t.Errorf("GET usage%s = %d %s, want 400 on %s", tc.query, r.status, r.body, tc.want)
			}
		})
	}
	if r := ts.admin(t, "GET", "/api/v1/projects/default/environments/nope/usage", nil); r.status != http.StatusNotFound {
		t.Errorf("usage of an unknown environment = %d, want 404", r.status)
	}
}

func TestSendEventsAllowsBrowsers(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	client := ts.newKey(t, map[string]any{"name": "web", "kind": "client", "project": "default", "environment": "production"})
	pre := ts.call(t, "OPTIONS", "/api/v1/events", "", "", nil,
		"Origin", "https://shop.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "x-api-key, content-type")
	if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "X-API-Key") {
		t.Errorf("preflight of /api/v1/events = %d %v, want 204 allowing any origin to POST with X-API-Key", pre.status, pre.header)
	}
	body := `{"events":[{"exposure":{"flag":"new-checkout","variant":"on","unit":"user-1"}},{"track":{"key":"signup","unit":"user-1"}}]}`
	r := ts.call(t, "POST", "/api/v1/events", "X-API-Key", client, body, "Origin", "https://shop.example")
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("cross-origin POST /api/v1/events = %d %v %s, want 200 with CORS headers", r.status, r.header, r.body)
	}
	if got := r.json(t); got["accepted"] != float64(2) {
		t.Errorf("cross-origin POST /api/v1/events = %s, want 2 accepted", r.body)
	}
	// The usage API beside it stays same-origin.
	usage := ts.call(t, "GET", usagePath, "Authorization", ts.creds.AdminToken, nil, "Origin", "https://shop.example")
	if usage.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the usage API answers cross-origin requests, want same-origin only")
	}
}

func TestSendEventsWithABatchIDCountsARetryOnce(t *testing.T) {
	ts := startServer(t)
	ts.mustAdmin(t, "POST", "/api/v1/projects/default/flags", demoFlag)
	events := sdkpb.NewEventServiceClient(ts.conn)
	now := time.Now().UTC()
	req := &sdkpb.SendEventsRequest{BatchId: "relay-a:17", Events: []*sdkpb.Event{
		exposureEvent("on", "user-1", now), exposureEvent("on", "user-2", now),
		{Kind: &sdkpb.Event_Exposure{Exposure: &sdkpb.ExposureEvent{Flag: "nope", Unit: "user-3"}}},
	}}
	for range 3 {
		resp, err := events.SendEvents(rpcContext(ts.creds.SDKKey), req)
		if err != nil || resp.GetAccepted() != 2 || resp.GetRejected() != 1 {
			t.Fatalf("SendEvents() = %v, %v, want 2 accepted and 1 rejected each time", resp, err)
		}
	}
	if got := flagUsage(t, ts, "new-checkout"); got["count"] != "2" {
		t.Errorf("usage = %v, want count 2: the batch counted once", got)
	}
	u := ts.mustAdmin(t, "GET", usagePath, nil)
	if rejected := fmt.Sprint(u["rejected"]); !strings.Contains(rejected, "count:1 ") {
		t.Errorf("rejected = %s, want FLAG_NOT_FOUND counted once", rejected)
	}
	if batches, err := ts.events.Batches(context.Background(), 0, 10); err != nil || len(batches) != 1 {
		t.Errorf("stored batches = %d, %v, want 1", len(batches), err)
	}

	for _, id := range []string{strings.Repeat("x", 129), "a b", "é"} {
		_, err := events.SendEvents(rpcContext(ts.creds.SDKKey), &sdkpb.SendEventsRequest{BatchId: id})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "batch_id") {
			t.Errorf("SendEvents(batch_id %q) = %v, want INVALID_ARGUMENT on batch_id", id, err)
		}
	}
}
