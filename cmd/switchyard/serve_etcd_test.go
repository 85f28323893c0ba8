package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
	"github.com/switchyard/switchyard/sdk"
)

// replica is one 'serve --store etcd' of startReplicas; stop stops it
// (again at the end of the test: a no-op).
type replica struct {
	url, grpc string
	stop      func() error
}

// startReplicas starts a 3-member etcd cluster and three 'serve --store
// etcd' replicas, replica i connected to member i only; the first
// bootstraps the shared store (admin token sya_test_admin, SDK key
// sys_replicas_sdk_key). Everything stops when the test ends.
func startReplicas(t *testing.T, extra ...string) []replica {
	t.Helper()
	cluster, err := etcdtest.Start(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "secret.key")
	if err := domain.CreateSecretKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	var rs []replica
	for i, ep := range cluster.Endpoints() {
		args := append([]string{"--store", "etcd", "--etcd-endpoints", ep, "--etcd-prefix", "/sy", "--secret-key-file", keyFile,
			"--bootstrap-sdk-key", "sys_replicas_sdk_key"}, extra...)
		url, grpcAddr, stop := serveWith(t, http.DefaultClient, filepath.Join(dir, "replica"+string(rune('a'+i))+".db"), args...)
		t.Cleanup(func() {
			if err := stop(); err != nil {
				t.Errorf("replica %d: serve returned %v", i, err)
			}
		})
		rs = append(rs, replica{url, grpcAddr, stop})
	}
	return rs
}

// TestServeReplicasOnEtcd: three 'serve --store etcd' replicas, each
// connected to its own member of a 3-member etcd cluster. The first
// bootstraps the shared store; a flag created through replica A reaches
// an SDK streaming from replica C.
func TestServeReplicasOnEtcd(t *testing.T) {
	rs := startReplicas(t)

	client, err := sdk.New(t.Context(), sdk.Config{Address: rs[2].grpc, SDKKey: "sys_replicas_sdk_key", Name: "replica-c"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	changed := make(chan struct{}, 1)
	client.OnChange(func(sdk.Change) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := client.WaitReady(ctx); err != nil {
		t.Fatalf("SDK on replica C: WaitReady = %v", err)
	}

	req, _ := http.NewRequest("POST", rs[0].url+"/api/v1/projects/default/flags", strings.NewReader(
		`{"key":"replicated","type":"bool","environments":{"production":{"enabled":true,"default":{"variant":"on"}}}}`))
	req.Header.Set("Authorization", "Bearer sya_test_admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create flag through replica A = %d, want 200", resp.StatusCode)
	}
	for !client.Bool("replicated", sdk.NewContext("u1"), false) {
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatal("the flag written through replica A never reached the SDK on replica C")
		}
	}
}

// leading reads the switchyard_leader gauge of a replica: 1 when it runs
// the singletons; -1 if the replica does not answer.
func leading(t *testing.T, r replica) int {
	t.Helper()
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "switchyard_leader "); ok {
			if v == "1" {
				return 1
			}
			return 0
		}
	}
	return -1
}

// TestReplicasOnEtcdElectOneLeader: of three replicas exactly one runs the
// singletons; when it stops, another takes over.
func TestReplicasOnEtcdElectOneLeader(t *testing.T) {
	rs := startReplicas(t)
	leaderOf := func(rs []replica) (int, int) {
		n, at := 0, -1
		for i, r := range rs {
			if leading(t, r) == 1 {
				n, at = n+1, i
			}
		}
		return n, at
	}
	var at int
	within(t, time.Minute, "one leader of three replicas", func() bool {
		var n int
		n, at = leaderOf(rs)
		return n == 1
	})
	if err := rs[at].stop(); err != nil {
		t.Fatalf("stop the leader: %v", err)
	}
	rest := append(append([]replica{}, rs[:at]...), rs[at+1:]...)
	within(t, time.Minute, "a new leader among the other two", func() bool {
		n, _ := leaderOf(rest)
		return n == 1
	})
}

// within polls cond until it holds, failing the test after bound (a bound
// for a hang: leadership moves within the lease's TTL).
func within(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
