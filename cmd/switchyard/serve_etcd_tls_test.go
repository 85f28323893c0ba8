package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/certs/certstest"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// TestServeOnEtcdWithTLS: 'serve --store etcd' on a cluster serving https
// that asks clients for a certificate of its CA connects with --etcd-ca,
// --etcd-cert and --etcd-key, and a flag written through it reads back.
// Another CA, or no client certificate, fails at start within
// --etcd-dial-timeout, saying why.
func TestServeOnEtcdWithTLS(t *testing.T) {
	ca := certstest.NewCA(t)
	srv, cli := ca.Server(t, "etcd"), ca.Client(t, "switchyard")
	cluster, err := etcdtest.StartWith(3, etcdtest.Options{TLS: &etcdtest.TLS{
		CertFile: srv.CertFile, KeyFile: srv.KeyFile, CAFile: ca.CertFile, ClientCertAuth: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	endpoints := strings.Join(cluster.Endpoints(), ",")
	if !strings.HasPrefix(endpoints, "https://") {
		t.Fatalf("endpoints %s, want https", endpoints)
	}
	base := etcdServeArgs(t, endpoints)

	url, _, _ := serveWith(t, http.DefaultClient, filepath.Join(t.TempDir(), "replica.db"),
		append(base, "--etcd-ca", ca.CertFile, "--etcd-cert", cli.CertFile, "--etcd-key", cli.KeyFile)...)
	writeAndReadFlag(t, url)

	other := certstest.NewCA(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"another CA", []string{"--etcd-ca", other.CertFile, "--etcd-cert", cli.CertFile, "--etcd-key", cli.KeyFile}, "certificate"},
		{"no client certificate", []string{"--etcd-ca", ca.CertFile}, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := serveFails(t, append(base, tc.args...))
			t.Logf("serve: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve = %v, want an error naming the %s", err, tc.want)
			}
		})
	}
}

// TestServeOnEtcdWithAuth: 'serve --store etcd' on a cluster with etcd's
// auth on connects with --etcd-username and --etcd-password, and a flag
// written through it reads back; a wrong password fails at start, saying
// so.
func TestServeOnEtcdWithAuth(t *testing.T) {
	cluster, err := etcdtest.StartWith(3, etcdtest.Options{RootPassword: "s3cret-root"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	base := etcdServeArgs(t, strings.Join(cluster.Endpoints(), ","))

	url, _, _ := serveWith(t, http.DefaultClient, filepath.Join(t.TempDir(), "replica.db"),
		append(base, "--etcd-username", "root", "--etcd-password", "s3cret-root")...)
	writeAndReadFlag(t, url)

	err = serveFails(t, append(base, "--etcd-username", "root", "--etcd-password", "wrong"))
	if !strings.Contains(err.Error(), "invalid user ID or password") {
		t.Errorf("serve with a wrong password = %v, want etcd's authentication error", err)
	}
}

// etcdServeArgs are the flags of a replica on endpoints, with a secret key
// file of its own.
func etcdServeArgs(t *testing.T, endpoints string) []string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	if err := domain.CreateSecretKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	return []string{"--store", "etcd", "--etcd-endpoints", endpoints, "--etcd-prefix", "/sy", "--secret-key-file", keyFile}
}

// serveFails runs serve with args, which must fail at start, and returns
// its error. The dial timeout is short; the bound here only ends a hang.
func serveFails(t *testing.T, args []string) error {
	t.Helper()
	args = append([]string{"serve", "--db", filepath.Join(t.TempDir(), "failing.db"),
		"--http-addr", freeAddr(t), "--grpc-addr", freeAddr(t), "--etcd-dial-timeout", "10s", "--log-level", "warn"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- run(ctx, args, &out, &out) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("serve %v = nil, want an error", args)
		}
		return err
	case <-time.After(time.Minute):
		t.Fatalf("serve %v still running after a minute, want a failure at start", args)
		return nil
	}
}

// writeAndReadFlag creates a flag through the replica at url and reads it
// back.
func writeAndReadFlag(t *testing.T, url string) {
	t.Helper()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sya_test_admin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	if code, body := do("POST", "/api/v1/projects/default/flags", `{"key":"over-tls","type":"bool","description":"kept in etcd"}`); code != http.StatusOK {
		t.Fatalf("create flag = %d %s, want 200", code, body)
	}
	if code, body := do("GET", "/api/v1/projects/default/flags/over-tls", ""); code != http.StatusOK || !strings.Contains(body, "kept in etcd") {
		t.Fatalf("get flag = %d %s, want 200 with its description", code, body)
	}
}
