package main

import (
	"slices"
	"strings"
	"testing"
)

func TestServeStoreFlags(t *testing.T) {
	t.Setenv("SWITCHYARD_ETCD_PASSWORD", "secret")
	cfg, err := parseServeConfig([]string{"--store", "etcd", "--etcd-endpoints", "http://10.0.0.1:2379,http://10.0.0.2:2379",
		"--etcd-prefix", "/sy", "--etcd-username", "sy", "--secret-key-file", "k"})
	if err != nil {
		t.Fatalf("serve --store etcd … = %v", err)
	}
	e := cfg.Store.Etcd
	if cfg.Store.Engine != "etcd" || !slices.Equal(e.Endpoints, []string{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}) ||
		e.Prefix != "/sy" || e.Username != "sy" || e.Password != "secret" {
		t.Errorf("store config = %+v", cfg.Store)
	}
	if cfg, _ := parseServeConfig(nil); cfg.Store.Engine != "bolt" || cfg.Store.Etcd.Prefix != "/switchyard" {
		t.Errorf("default store config = %+v, want bolt (etcd prefix /switchyard)", cfg.Store)
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServeConfig(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve %v = %v, want an error naming %s", tc.args, err, tc.want)
			}
		})
	}
}
