package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// TestStoppedLeaderResigns: a leader replica that stops (SIGTERM, not
// kill -9) resigns before it returns: its election record is gone when
// serve has returned, so the next replica leads at once instead of after
// the lease's TTL.
func TestStoppedLeaderResigns(t *testing.T) {
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
	for i, ep := range cluster.Endpoints()[:2] {
		url, grpcAddr, stop := serveWith(t, http.DefaultClient, filepath.Join(dir, "replica"+string(rune('a'+i))+".db"),
			"--store", "etcd", "--etcd-endpoints", ep, "--etcd-prefix", "/sy", "--secret-key-file", keyFile)
		rs = append(rs, replica{url, grpcAddr, stop})
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints(), DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	records := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, "/sy/"+etcdstore.LeaderElem+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	at := -1
	within(t, time.Minute, "one leader and two campaigns", func() bool {
		for i, r := range rs {
			if leading(t, r) == 1 {
				at = i
			}
		}
		return at >= 0 && records() == 2
	})
	if err := rs[at].stop(); err != nil {
		t.Fatalf("stop the leader: %v", err)
	}
	if n := records(); n != 1 {
		t.Errorf("after the leader stopped, %d election records remain, want 1 (the other replica's): it did not resign", n)
	}
}
