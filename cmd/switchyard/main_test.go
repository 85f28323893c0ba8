package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/model"
)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serveInBackground runs 'switchyard serve' until the test ends and waits
// until it is ready.
func serveInBackground(t *testing.T, db string, extra ...string) (httpURL string, stop func() error) {
	t.Helper()
	httpURL, _, stop = serveWith(t, http.DefaultClient, db, extra...)
	return httpURL, stop
}

// serveWith is serveInBackground that asks for readiness with client,
// over https when extra has --tls-cert; it also returns the gRPC address.
func serveWith(t *testing.T, client *http.Client, db string, extra ...string) (httpURL, grpcAddr string, stop func() error) {
	t.Helper()
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	args := append([]string{"serve", "--db", db, "--http-addr", httpAddr, "--grpc-addr", grpcAddr,
		"--bootstrap-admin-token", "sya_test_admin", "--log-level", "warn"}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- run(ctx, args, &out, &out) }()
	url := "http://" + httpAddr
	if slices.Contains(extra, "--tls-cert") {
		url = "https://" + httpAddr
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready after 10 s\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15 s of cancellation")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return url, grpcAddr, stop
}

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"validate", "testdata/broken.yaml"}, &stdout, &stderr)
	if code, ok := err.(exitError); !ok || code != 1 {
		t.Fatalf("validate broken.yaml = %v, want exit status 1", err)
	}
	for _, want := range []string{
		"flags[0].environments.production.rules[0].serve.rollout",
		"flags[0].environments.production.rules[1].id",
		"flags[0].environments.production.rules[1].segments[0]",
		"flags[0].environments.production.rules[1].serve.variant",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("validate output lacks %s:\n%s", want, stderr.String())
		}
	}
}

func TestValidateAcceptsAGoodDocument(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"validate", "testdata/shop.yaml"}, &stdout, &stderr); err != nil {
		t.Fatalf("validate shop.yaml = %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "valid") {
		t.Errorf("validate output = %q", stdout.String())
	}
}

func TestImportThenExportGivesTheSameDocument(t *testing.T) {
	dir := t.TempDir()
	url, _ := serveInBackground(t, filepath.Join(dir, "s.db"))
	client := []string{"--server", url, "--token", "sya_test_admin"}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(append([]string{"import"}, client...), "testdata/shop.yaml"), &out, &errOut); err != nil {
		t.Fatalf("import: %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), append(append([]string{"export"}, client...), "--project", "shop"), &out, &errOut); err != nil {
		t.Fatalf("export: %v\n%s", err, errOut.String())
	}
	exported, err := model.Parse(out.Bytes())
	if err != nil {
		t.Fatalf("exported document does not parse: %v\n%s", err, out.String())
	}
	data, _ := os.ReadFile("testdata/shop.yaml")
	want, _ := model.Parse(data)
	if !reflect.DeepEqual(exported, want) {
		t.Errorf("export after import differs:\n%s", out.String())
	}
}

func TestExportOutputFormats(t *testing.T) {
	s := startCLIServer(t)
	tests := []struct {
		name string
		args []string
		json bool
	}{
		{"default is YAML", nil, false},
		{"--output yaml", []string{"--output", "yaml"}, false},
		{"--output json", []string{"--output", "json"}, true},
		{"-o json", []string{"-o", "json"}, true},
		{"--json", []string{"--json"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := s.must(t, "export", tc.args...)
			if isJSON := json.Valid([]byte(out)); isJSON != tc.json {
				t.Errorf("export %v printed JSON %v, want %v:\n%s", tc.args, isJSON, tc.json, out)
			}
			doc, err := model.Parse([]byte(out))
			if err != nil || len(doc.Flags) == 0 {
				t.Errorf("export %v = %v, %v; want the document with its flags\n%s", tc.args, doc, err, out)
			}
		})
	}
}

func TestServeBootstrapsAndShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "s.db")
	url, stop := serveInBackground(t, db, "--demo")
	resp, err := http.Get(url + "/api/v1/projects/default/flags")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("admin API without a key = %d, want 401", resp.StatusCode)
	}
	info, err := os.Stat(db + ".credentials.json")
	if err != nil {
		t.Fatalf("no credentials file: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("credentials file mode = %o, want 600", perm)
	}
	if err := stop(); err != nil {
		t.Errorf("serve returned %v after cancellation, want nil", err)
	}
	// The database was closed: it opens again at once.
	url, _ = serveInBackground(t, db)
	if _, err := http.Get(url + "/healthz"); err != nil {
		t.Fatal(err)
	}
}

func TestServeRefusesALockedDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	serveInBackground(t, db)
	var out bytes.Buffer
	start := time.Now()
	err := run(context.Background(), []string{"serve", "--db", db, "--http-addr", freeAddr(t), "--grpc-addr", freeAddr(t)}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second serve on the same file = %v, want an error saying it is locked", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("second serve took %v to fail", took)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &out, &out); err == nil {
		t.Error("unknown command succeeded")
	}
}

func TestServeRefusesANonPositiveBodyReadTimeout(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--db", filepath.Join(t.TempDir(), "s.db"), "--body-read-timeout", "0s"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--body-read-timeout") {
		t.Fatalf("serve --body-read-timeout 0s = %v, want an error naming the flag", err)
	}
}
