package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestServeStoreFlags(t *testing.T) {
	t.Setenv("SWITCHYARD_ETCD_PASSWORD", "secret")
	t.Setenv("SWITCHYARD_ETCD_LEASE_TTL", "3s")
	cfg, err := parseServeConfig([]string{"--store", "etcd", "--etcd-endpoints", "http://10.0.0.1:2379,http://10.0.0.2:2379",
		"--etcd-prefix", "/sy", "--etcd-username", "sy", "--secret-key-file", "k"})
	if err != nil {
		t.Fatalf("serve --store etcd … = %v", err)
	}
	e := cfg.Store.Etcd
	if cfg.Store.Engine != "etcd" || !slices.Equal(e.Endpoints, []string{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}) ||
		e.Prefix != "/sy" || e.Username != "sy" || e.Password != "secret" || e.LeaseTTL != 3*time.Second {
		t.Errorf("store config = %+v", cfg.Store)
	}
	if d := defaultStoreConfig(); d.Engine != "bolt" || d.Etcd.Prefix != "/switchyard" || d.Etcd.LeaseTTL != 5*time.Second {
		t.Errorf("default store config = %+v, want bolt (etcd prefix /switchyard, lease TTL 5s)", d)
	}
}

func TestServeStoreRefusesBadFlags(t *testing.T) {
	etcd := []string{"--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379", "--secret-key-file", "k"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown engine", []string{"--store", "mysql"}, "--store"},
		{"etcd without endpoints", []string{"--store", "etcd"}, "--etcd-endpoints"},
		{"endpoint without scheme", []string{"--store", "etcd", "--etcd-endpoints", "127.0.0.1:2379"}, "--etcd-endpoints"},
		{"cert without key", append(etcd, "--etcd-cert", "c.pem"), "--etcd-key"},
		{"user without password", append(etcd, "--etcd-username", "u"), "--etcd-password"},
		{"prefix without slash", append(etcd, "--etcd-prefix", "sy"), "prefix"},
		{"zero dial timeout", append(etcd, "--etcd-dial-timeout", "0s"), "--etcd-dial-timeout"},
		{"etcd without a secret key file", []string{"--store", "etcd", "--etcd-endpoints", "http://127.0.0.1:2379"}, "--secret-key-file"},
		{"negative compaction", append(etcd, "--etcd-compact-keep", "-1"), "--etcd-compact-keep"},
		{"lease below a second", append(etcd, "--etcd-lease-ttl", "500ms"), "--etcd-lease-ttl"},
		{"lease not whole seconds", append(etcd, "--etcd-lease-ttl", "2500ms"), "--etcd-lease-ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServeConfig(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve %v = %v, want an error naming %s", tc.args, err, tc.want)
			}
		})
	}
}
