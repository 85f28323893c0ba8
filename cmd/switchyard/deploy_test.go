package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDeploySampleConfigParses(t *testing.T) {
	cfg, err := parseServeConfig([]string{"--config", "../../deploy/switchyard.yaml"})
	if err != nil {
		t.Fatalf("deploy/switchyard.yaml: %v", err)
	}
	want := defaultServeConfig()
	want.DB, want.GRPCAddr, want.HTTPAddr = "/var/lib/switchyard/switchyard.db", "0.0.0.0:9090", "0.0.0.0:8080"
	want.SyncMaxAge, want.LogLevel, want.MaxStreamsPerKey = 10*time.Minute, "info", 1000
	want.TLS, want.AuthThrottle, want.Config = cfg.TLS, cfg.AuthThrottle, cfg.Config
	if !reflect.DeepEqual(cfg, want) || cfg.TLS.Cert == "" || cfg.TLS.Key == "" {
		t.Errorf("deploy/switchyard.yaml = %+v, want %+v with TLS files", cfg, want)
	}
}

// TestDeploySystemdUnitVerifies checks deploy/switchyard.service with
// systemd-analyze verify (where it is installed), with the binary path
// pointed at an executable that exists here.
func TestDeploySystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile("../../deploy/switchyard.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=/usr/local/bin/switchyard serve --config /etc/switchyard/switchyard.yaml",
		"StateDirectory=switchyard", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
		"SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("deploy/switchyard.service lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "switchyard.service")
	text := strings.Replace(string(unit), "/usr/local/bin/switchyard", self, 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 on unknown keys and bad values but reports them.
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify deploy/switchyard.service: %v\n%s", err, out)
	}
}
