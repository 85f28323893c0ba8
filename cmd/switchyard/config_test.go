package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parseServeConfig runs 'serve' with args as far as the server would
// start, and returns the configuration it would start with.
func parseServeConfig(args []string) (serveConfig, error) {
	root, c := newRootCmd(io.Discard, io.Discard)
	if serve, _, err := root.Find([]string{"serve"}); err == nil {
		root.RemoveCommand(serve)
	}
	var got serveConfig
	root.AddCommand(serveCommand(c, func(_ context.Context, cfg serveConfig, _, _ io.Writer) error {
		got = cfg
		return nil
	}))
	root.SetArgs(append([]string{"serve"}, args...))
	err := root.Execute()
	return got, err
}

// writeConfig writes a serve config file into a test directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServeConfigPrecedence(t *testing.T) {
	file := writeConfig(t, "http-addr: 127.0.0.1:1003\nsync-max-age: 3m\ndemo: true\n")
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantAddr string
	}{
		{"default", nil, nil, "127.0.0.1:8080"},
		{"file over default", []string{"--config", file}, nil, "127.0.0.1:1003"},
		{"file named by SWITCHYARD_CONFIG", nil, map[string]string{"SWITCHYARD_CONFIG": file}, "127.0.0.1:1003"},
		{"variable over file", []string{"--config", file}, map[string]string{"SWITCHYARD_HTTP_ADDR": "127.0.0.1:1002"}, "127.0.0.1:1002"},
		{"flag over variable and file", []string{"--config", file, "--http-addr", "127.0.0.1:1001"},
			map[string]string{"SWITCHYARD_HTTP_ADDR": "127.0.0.1:1002"}, "127.0.0.1:1001"},
		{"flag over file", []string{"--http-addr", "127.0.0.1:1001", "--config", file}, nil, "127.0.0.1:1001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := parseServeConfig(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.HTTPAddr != tc.wantAddr {
				t.Errorf("http-addr = %s, want %s", cfg.HTTPAddr, tc.wantAddr)
			}
		})
	}
}

func TestServeConfigFileTypes(t *testing.T) {
	file := writeConfig(t, "sync-max-age: 3m\ndemo: true\nauth-failures: 7\ntls-cert: /etc/c.pem\ntls-key: /etc/k.pem\n")
	cfg, err := parseServeConfig([]string{"--config", file})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SyncMaxAge != 3*time.Minute || !cfg.Demo || cfg.AuthThrottle.Failures != 7 || cfg.TLS.Cert != "/etc/c.pem" || cfg.TLS.Key != "/etc/k.pem" {
		t.Errorf("config from file = %+v, want sync-max-age 3m, demo, auth-failures 7, the TLS files", cfg)
	}
}

func TestServeConfigFileRefusesBadContent(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown key", "http-addr: 127.0.0.1:1\nlisten: x\n", `unknown key "listen"`},
		{"config names a config", "config: other.yaml\n", `unknown key "config"`},
		{"list value", "db: [a, b]\n", "db: want a single value"},
		{"not a mapping", "- db\n", "mapping"},
		{"bad number", "auth-failures: many\n", "auth-failures"},
		{"bad duration", "sync-max-age: soon\n", "sync-max-age"},
		{"invalid after merge", "tls-cert: c.pem\n", "--tls-cert and --tls-key"},
		{"not YAML", "db: [\n", "config file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServeConfig([]string{"--config", writeConfig(t, tc.text)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("config %q = %v, want an error with %q", tc.text, err, tc.want)
			}
		})
	}
}

func TestServeConfigMissingFile(t *testing.T) {
	_, err := parseServeConfig([]string{"--config", filepath.Join(t.TempDir(), "nope.yaml")})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing config file = %v, want an error naming it", err)
	}
}

func TestServeHelpDocumentsPrecedence(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), []string{"serve", "--help"}, &out, &out); err != nil {
		t.Fatalf("serve --help: %v", err)
	}
	for _, want := range []string{"-config", "-tls-cert", "-tls-client-ca", "the flag, the SWITCHYARD_<FLAG>"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out.String())
		}
	}
	// The client flags are not serve's.
	for _, unwanted := range []string{"--token", "--server", "--profile", "Global Flags"} {
		if strings.Contains(out.String(), unwanted) {
			t.Errorf("serve --help lists %q:\n%s", unwanted, out.String())
		}
	}
}
