package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/relay/spool"
	"github.com/switchyard/switchyard/server"
	"github.com/switchyard/switchyard/server/servertest"
)

func TestRelayCommandRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no upstream", []string{"relay", "--relay-key", "syr_x"}, "--upstream"},
		{"no key", []string{"relay", "--upstream", "127.0.0.1:9090"}, "--relay-key"},
		{"bad upstream", []string{"relay", "--upstream", "primary", "--relay-key", "syr_x"}, "--upstream"},
		{"bad listen address", []string{"relay", "--upstream", "127.0.0.1:9090", "--relay-key", "syr_x", "--http-addr", "8081"}, "--http-addr"},
		{"bad log level", []string{"relay", "--upstream", "127.0.0.1:9090", "--relay-key", "syr_x", "--log-level", "loud"}, "--log-level"},
		{"an argument", []string{"relay", "--upstream", "127.0.0.1:9090", "--relay-key", "syr_x", "extra"}, ""},
		{"negative stream limit", []string{"relay", "--upstream", "127.0.0.1:9090", "--relay-key", "syr_x", "--max-streams-per-key", "-1"}, "--max-streams-per-key"},
		{"no spool bytes", []string{"relay", "--upstream", "127.0.0.1:9090", "--relay-key", "syr_x", "--spool-max-bytes", "0"}, "--spool-max-bytes"},
		{"negative spool batches", []string{"relay", "--upstream", "127.0.0.1:9090", "--relay-key", "syr_x", "--spool-max-batches", "-2"}, "--spool-max-batches"},
		{"spool bytes not a number", []string{"relay", "--upstream", "127.0.0.1:9090", "--relay-key", "syr_x", "--spool-max-bytes", "64MiB"}, "spool-max-bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, io.Discard, &out)
			if !errors.As(err, new(usageError)) || exitCode(err) != exitUsage {
				t.Fatalf("run(%q) = %v, want a usage error", tc.args, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want it to name %s", tc.args, err, tc.want)
			}
		})
	}
}

// TestRelayCommandServes runs 'switchyard relay' with its upstream and key
// from SWITCHYARD_* variables: it serves OFREP for the primary's SDK key.
func TestRelayCommandServes(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	t.Setenv("SWITCHYARD_UPSTREAM", primary.GRPCAddr)
	t.Setenv("SWITCHYARD_RELAY_KEY", newRelayKey(t, primary))
	httpAddr := freeAddr(t)
	relayInBackground(t, httpAddr, primary.Creds.SDKKey,
		"--http-addr", httpAddr, "--grpc-addr", freeAddr(t), "--data-dir", t.TempDir(), "--log-level", "warn")
}

// TestRelayCommandFollowsOverMutualTLS follows a primary that requires
// client certificates, with --tls-ca, --tls-cert and --tls-key.
func TestRelayCommandFollowsOverMutualTLS(t *testing.T) {
	s := startTLSServer(t)
	req, err := http.NewRequest("POST", s.url+"/api/v1/keys", strings.NewReader(
		`{"name":"edge","kind":"relay","project":"default","environments":["production"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sya_test_admin")
	resp, err := s.httpClient(t, true).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Secret string }
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || created.Secret == "" {
		t.Fatalf("POST /api/v1/keys = %d, %v: no secret", resp.StatusCode, err)
	}
	httpAddr := freeAddr(t)
	relayInBackground(t, httpAddr, tlsTestSDKKey, "--upstream", s.grpcAddr, "--relay-key", created.Secret,
		"--tls-ca", s.ca.CertFile, "--tls-cert", s.client.CertFile, "--tls-key", s.client.KeyFile,
		"--http-addr", httpAddr, "--grpc-addr", freeAddr(t), "--data-dir", t.TempDir(), "--log-level", "warn")
}

// ofrepAnswers reports whether the server at addr answers an OFREP
// evaluation of an unknown flag with key: 404 FLAG_NOT_FOUND.
func ofrepAnswers(addr, key string) bool {
	req, err := http.NewRequest("POST", "http://"+addr+"/ofrep/v1/evaluate/flags/missing", strings.NewReader(`{"context":{}}`))
	if err != nil {
		return false
	}
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusNotFound && strings.Contains(string(body), "FLAG_NOT_FOUND")
}

// parseRelayConfig runs 'relay' with args as far as the relay would start,
// and returns the configuration it would start with.
func parseRelayConfig(args []string) (relayConfig, error) {
	root, c := newRootCmd(io.Discard, io.Discard)
	if relay, _, err := root.Find([]string{"relay"}); err == nil {
		root.RemoveCommand(relay)
	}
	var got relayConfig
	root.AddCommand(relayCommand(c, func(_ context.Context, cfg relayConfig, _ io.Writer) error {
		got = cfg
		return nil
	}))
	root.SetArgs(append([]string{"relay"}, args...))
	err := root.Execute()
	return got, err
}

func TestRelayConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `upstream: 127.0.0.1:9090
relay-key: syr_file
max-streams-per-key: 5
spool-max-bytes: 1000
spool-max-batches: 7
tls-ca: /etc/ca.pem
`)
	type limits struct {
		Streams int
		Bytes   int64
		Batches int
		CA      string
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want limits
	}{
		{"defaults", []string{"--upstream", "127.0.0.1:9090", "--relay-key", "syr_x"}, nil,
			limits{server.DefaultMaxStreamsPerKey, spool.DefaultMaxBytes, spool.DefaultMaxBatches, ""}},
		{"file over default", []string{"--config", file}, nil, limits{5, 1000, 7, "/etc/ca.pem"}},
		{"file named by SWITCHYARD_CONFIG", nil, map[string]string{"SWITCHYARD_CONFIG": file}, limits{5, 1000, 7, "/etc/ca.pem"}},
		{"variables over file", []string{"--config", file}, map[string]string{
			"SWITCHYARD_MAX_STREAMS_PER_KEY": "6", "SWITCHYARD_SPOOL_MAX_BYTES": "2000", "SWITCHYARD_SPOOL_MAX_BATCHES": "8", "SWITCHYARD_TLS_CA": "/ca.pem",
		}, limits{6, 2000, 8, "/ca.pem"}},
		{"flags over variables and file", []string{"--config", file, "--max-streams-per-key", "0", "--spool-max-bytes", "3000", "--spool-max-batches", "9", "--tls-ca", "/flag-ca.pem"},
			map[string]string{"SWITCHYARD_MAX_STREAMS_PER_KEY": "6", "SWITCHYARD_SPOOL_MAX_BATCHES": "8"}, limits{0, 3000, 9, "/flag-ca.pem"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := parseRelayConfig(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := (limits{cfg.MaxStreamsPerKey, cfg.SpoolMaxBytes, cfg.SpoolMaxBatches, cfg.TLS.CA}); got != tc.want {
				t.Errorf("relay config = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRelayConfigFileRefusesBadContent(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"a key of serve", "upstream: 127.0.0.1:9090\nrelay-key: syr_x\ndb: x.db\n", `unknown key "db"`},
		{"a client flag", "upstream: 127.0.0.1:9090\nrelay-key: syr_x\nserver: http://x\n", `unknown key "server"`},
		{"config names a config", "config: other.yaml\n", `unknown key "config"`},
		{"bad number", "spool-max-batches: many\n", "spool-max-batches"},
		{"invalid after merge", "upstream: 127.0.0.1:9090\nrelay-key: syr_x\nspool-max-bytes: -1\n", "--spool-max-bytes -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRelayConfig([]string{"--config", writeConfig(t, tc.text)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("config %q = %v, want an error with %q", tc.text, err, tc.want)
			}
		})
	}
}

// relayInBackground runs 'switchyard relay' with args until the test ends
// and waits until it answers OFREP at httpAddr with key.
func relayInBackground(t *testing.T, httpAddr, key string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out syncBuffer
	go func() { done <- run(ctx, append([]string{"relay"}, args...), io.Discard, &out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v\n%s", err, out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !ofrepAnswers(httpAddr, key) {
		if time.Now().After(deadline) {
			t.Fatalf("the relay does not answer OFREP after 10 s\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newRelayKey creates a relay key of production on the primary.
func newRelayKey(t *testing.T, primary *servertest.Server) string {
	t.Helper()
	return primary.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": "edge", "kind": "relay", "project": "default", "environments": []string{"production"},
	})["secret"].(string)
}

// TestRelayCommandReadsItsConfigFile runs a relay configured by a --config
// file alone, with max-streams-per-key 1: it follows the primary the file
// names, listens where the file says, and refuses a second sync stream of
// one key with RESOURCE_EXHAUSTED.
func TestRelayCommandReadsItsConfigFile(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	file := writeConfig(t, fmt.Sprintf("upstream: %s\nrelay-key: %s\nhttp-addr: %s\ngrpc-addr: %s\ndata-dir: %s\nlog-level: warn\nmax-streams-per-key: 1\n",
		primary.GRPCAddr, newRelayKey(t, primary), httpAddr, grpcAddr, t.TempDir()))
	relayInBackground(t, httpAddr, primary.Creds.SDKKey, "--config", file)

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	open := func() (*sdkpb.SyncResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+primary.Creds.SDKKey)
		s, err := sdkpb.NewSyncServiceClient(conn).Sync(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.Send(&sdkpb.SyncRequest{Message: &sdkpb.SyncRequest_Hello{Hello: &sdkpb.Hello{SdkName: "test"}}}); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return s.Recv()
	}
	if resp, err := open(); err != nil || resp.GetRuleset() == nil {
		t.Fatalf("first sync stream at the relay = %v, %v, want a ruleset", resp, err)
	}
	if _, err := open(); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("second sync stream of the key at the relay = %v, want RESOURCE_EXHAUSTED", err)
	}
}

// TestRelayCommandBoundsItsSpool runs two relays, one with
// SWITCHYARD_SPOOL_MAX_BATCHES=2 and one with --spool-max-bytes 1, and
// sends each three batches of one event while the primary is down: the
// first keeps the last two and drops one, the second keeps none.
func TestRelayCommandBoundsItsSpool(t *testing.T) {
	primary := servertest.Start(t, servertest.Options{})
	key := newRelayKey(t, primary)
	byBatches, byBytes := freeAddr(t), freeAddr(t)
	t.Setenv("SWITCHYARD_SPOOL_MAX_BATCHES", "2")
	relayInBackground(t, byBatches, primary.Creds.SDKKey, "--upstream", primary.GRPCAddr, "--relay-key", key,
		"--http-addr", byBatches, "--grpc-addr", freeAddr(t), "--data-dir", t.TempDir(), "--log-level", "error")
	os.Unsetenv("SWITCHYARD_SPOOL_MAX_BATCHES") // t.Setenv restores it
	relayInBackground(t, byBytes, primary.Creds.SDKKey, "--upstream", primary.GRPCAddr, "--relay-key", key, "--spool-max-bytes", "1",
		"--http-addr", byBytes, "--grpc-addr", freeAddr(t), "--data-dir", t.TempDir(), "--log-level", "error")
	primary.Stop()

	for _, addr := range []string{byBatches, byBytes} {
		for i := range 3 {
			r := servertest.Do(t, "POST", "http://"+addr+"/api/v1/events",
				fmt.Sprintf(`{"events": [{"track": {"key": "purchase", "unit": "u%d"}}]}`, i), "Authorization", "Bearer "+primary.Creds.SDKKey)
			if r.Status != http.StatusOK {
				t.Fatalf("POST /api/v1/events at the relay = %d %s, want 200", r.Status, r.Body)
			}
		}
	}
	tests := []struct {
		addr string
		want []string
	}{
		{byBatches, []string{"switchyard_relay_spool_batches 2", "switchyard_relay_events_dropped_total 1"}},
		{byBytes, []string{"switchyard_relay_spool_batches 0", "switchyard_relay_spool_bytes 0", "switchyard_relay_events_dropped_total 3"}},
	}
	for _, tc := range tests {
		metrics := servertest.Do(t, "GET", "http://"+tc.addr+"/metrics", nil)
		for _, line := range tc.want {
			if !strings.Contains(string(metrics.Body), "\n"+line+"\n") {
				t.Errorf("metrics of the relay at %s lack %q", tc.addr, line)
			}
		}
	}
}
