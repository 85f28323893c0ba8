package server_test

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/auth"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/server"
	"github.com/switchyard/switchyard/server/servertest"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (any of 127.0.0.0/8), so the server sees another peer.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// send sends one request with c and the header name/value pairs and reads
// the answer.
func send(t *testing.T, c *http.Client, method, url, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// startThrottled serves with room for five failed authentications per
// address that refills over an hour, so nothing refills during a test.
func startThrottled(t *testing.T) *servertest.Server {
	return servertest.Start(t, servertest.Options{Server: []server.Option{
		server.WithAuthThrottle(auth.ThrottleConfig{Failures: 5, Window: time.Hour, MaxAddresses: 100}),
	}})
}

func TestFailedAuthenticationIsThrottledPerAddress(t *testing.T) {
	srv := startThrottled(t)
	local := clientFrom("127.0.0.1")
	flags := srv.HTTPURL + "/api/v1/projects/default/flags"
	// Successful authentications do not count.
	for range 30 {
		if r := send(t, local, "GET", flags, "", "Authorization", "Bearer "+srv.Creds.AdminToken); r.status != http.StatusOK {
			t.Fatalf("GET with the admin token = %d %s", r.status, r.body)
		}
	}
	for i := range 5 {
		if r := send(t, local, "GET", flags, "", "Authorization", "Bearer sya_wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong token %d = %d %s, want 401", i+1, r.status, r.body)
		}
	}

	// Now every surface refuses 127.0.0.1 before looking at the key, the
	// admin token included; X-Forwarded-For changes nothing.
	ctx, _ := structpb.NewStruct(map[string]any{"targetingKey": "u"})
	tests := []struct {
		name, method, path, body string
		header                   []string
	}{
		{"REST, a wrong token", "GET", "/api/v1/projects/default/flags", "", []string{"Authorization", "Bearer sya_wrong"}},
		{"REST, the admin token", "GET", "/api/v1/projects/default/flags", "", []string{"Authorization", "Bearer " + srv.Creds.AdminToken}},
		{"REST, another X-Forwarded-For", "GET", "/api/v1/projects/default/flags", "", []string{"Authorization", "Bearer " + srv.Creds.AdminToken, "X-Forwarded-For", "10.1.2.3"}},
		{"REST events", "POST", "/api/v1/events", `{"events": []}`, []string{"X-API-Key", srv.Creds.SDKKey}},
		{"OFREP", "POST", "/ofrep/v1/evaluate/flags", `{"context": {"targetingKey": "u"}}`, []string{"X-API-Key", srv.Creds.SDKKey}},
		{"OFREP event stream", "GET", "/ofrep/v1/events", "", []string{"X-API-Key", srv.Creds.SDKKey}},
		{"OFREP event stream token", "GET", "/ofrep/v1/events?token=bad.token", "", nil},
		{"availability", "GET", "/api/v1/components/app/availability?current_version=1.0.0", "", []string{"X-API-Key", srv.Creds.SDKKey}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, local, tc.method, srv.HTTPURL+tc.path, tc.body, tc.header...)
			secs, err := strconv.Atoi(r.header.Get("Retry-After"))
			if r.status != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 720 {
				t.Errorf("%s %s = %d (Retry-After %q) %s, want 429 with Retry-After in (0, 720] s", tc.method, tc.path, r.status, r.header.Get("Retry-After"), r.body)
			}
		})
	}
	t.Run("gRPC", func(t *testing.T) {
		_, err := sdkpb.NewEvaluationServiceClient(srv.Conn).Evaluate(rpcContext(srv.Creds.SDKKey), &sdkpb.EvaluateRequest{Flag: "x", Context: ctx})
		st := status.Convert(err)
		var delay time.Duration
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				delay = ri.GetRetryDelay().AsDuration()
			}
		}
		if st.Code() != codes.ResourceExhausted || delay <= 0 || !strings.Contains(st.Message(), "too many failed authentications") {
			t.Errorf("Evaluate = %v (retry delay %s), want RESOURCE_EXHAUSTED with RetryInfo", err, delay)
		}
	})

	// Another address is not affected.
	other := clientFrom("127.0.0.2")
	if r := send(t, other, "GET", flags, "", "Authorization", "Bearer "+srv.Creds.AdminToken); r.status != http.StatusOK {
		t.Errorf("another address with the admin token = %d %s, want 200", r.status, r.body)
	}
	if r := send(t, other, "GET", flags, "", "Authorization", "Bearer sya_wrong"); r.status != http.StatusUnauthorized {
		t.Errorf("another address with a wrong token = %d %s, want 401", r.status, r.body)
	}
}

// TestThrottleTwoThousandWrongTokens is the measurement of the closing
// note: 2,000 wrong tokens in a row from one address, with the default
// budget of 20 failures (refilling over an hour here, so that the count
// does not depend on the machine's speed).
func TestThrottleTwoThousandWrongTokens(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Server: []server.Option{
		server.WithAuthThrottle(auth.ThrottleConfig{Failures: 20, Window: time.Hour, MaxAddresses: 10_000}),
	}})
	local := clientFrom("127.0.0.1")
	counts := map[int]int{}
	first429 := 0
	start := time.Now()
	for i := range 2000 {
		r := send(t, local, "GET", srv.HTTPURL+"/api/v1/projects/default/flags", "", "Authorization", "Bearer sya_wrong"+strconv.Itoa(i))
		counts[r.status]++
		if r.status == http.StatusTooManyRequests && first429 == 0 {
			first429 = i + 1
		}
	}
	elapsed := time.Since(start)
	if counts[http.StatusUnauthorized] != 20 || counts[http.StatusTooManyRequests] != 1980 || first429 != 21 {
		t.Errorf("2,000 wrong tokens: %v, first 429 at %d; want 20 × 401 then 1,980 × 429", counts, first429)
	}
	other := clientFrom("127.0.0.2")
	r := send(t, other, "GET", srv.HTTPURL+"/api/v1/projects/default/flags", "", "Authorization", "Bearer "+srv.Creds.AdminToken)
	if r.status != http.StatusOK {
		t.Errorf("another address afterwards = %d %s, want 200", r.status, r.body)
	}
	t.Logf("2,000 wrong tokens from 127.0.0.1 in %s: %d × 401, %d × 429 (first at request %d); 127.0.0.2 with the admin token: %d",
		elapsed.Round(time.Millisecond), counts[http.StatusUnauthorized], counts[http.StatusTooManyRequests], first429, r.status)
}
