package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
	resp := primary.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": "edge", "kind": "relay", "project": "default", "environments": []string{"production"},
	})
	t.Setenv("SWITCHYARD_UPSTREAM", primary.GRPCAddr)
	t.Setenv("SWITCHYARD_RELAY_KEY", resp["secret"].(string))
	httpAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- run(ctx, []string{"relay", "--http-addr", httpAddr, "--grpc-addr", freeAddr(t), "--data-dir", t.TempDir(), "--log-level", "warn"}, io.Discard, &out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v\n%s", err, out.String())
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !ofrepAnswers(httpAddr, primary.Creds.SDKKey) {
		if time.Now().After(deadline) {
			t.Fatalf("the relay does not answer OFREP after 10 s\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- run(ctx, []string{"relay", "--upstream", s.grpcAddr, "--relay-key", created.Secret,
			"--tls-ca", s.ca.CertFile, "--tls-cert", s.client.CertFile, "--tls-key", s.client.KeyFile,
			"--http-addr", httpAddr, "--grpc-addr", freeAddr(t), "--data-dir", t.TempDir(), "--log-level", "warn"}, io.Discard, &out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay: %v\n%s", err, out.String())
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !ofrepAnswers(httpAddr, tlsTestSDKKey) {
		if time.Now().After(deadline) {
			t.Fatalf("the relay does not answer OFREP after 10 s\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
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
