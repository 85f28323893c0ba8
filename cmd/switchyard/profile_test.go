package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestMain keeps the tests away from the CLI config file of whoever runs
// them. In a child process of startChild (childEnv set) it is the
// switchyard command itself instead: it runs main with the arguments and
// exits, never running a test.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "switchyard-cli-config-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// withConfigHome points $XDG_CONFIG_HOME at a new directory for the test
// and returns the CLI config file's path in it.
func withConfigHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	return filepath.Join(dir, "switchyard", "config.yaml")
}

// clientSettings runs args with a probe command added to the root and
// returns the client settings the probe saw.
func clientSettings(t *testing.T, args ...string) (clientConfig, string, error) {
	t.Helper()
	root, c := newRootCmd(io.Discard, io.Discard)
	var cc clientConfig
	var project string
	root.AddCommand(&cobra.Command{Use: "probe", RunE: func(*cobra.Command, []string) error {
		cc, project = c.cc, c.project
		return nil
	}})
	root.SetArgs(append([]string{"probe"}, args...))
	err := root.ExecuteContext(context.Background())
	return cc, project, err
}

const twoProfiles = `current: prod
profiles:
  prod:
    server: http://prod.example:1
    token: sya_prod
    project: shop
  staging:
    server: http://staging.example:2
    token: sya_staging
`

func TestProfilePrecedence(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantServer  string
		wantToken   string
		wantProject string
	}{
		{"the current profile", nil, nil, "http://prod.example:1", "sya_prod", "shop"},
		{"--profile", []string{"--profile", "staging"}, nil, "http://staging.example:2", "sya_staging", "default"},
		{"SWITCHYARD_PROFILE", nil, map[string]string{"SWITCHYARD_PROFILE": "staging"}, "http://staging.example:2", "sya_staging", "default"},
		{"variable over profile", nil, map[string]string{"SWITCHYARD_SERVER": "http://env:3"}, "http://env:3", "sya_prod", "shop"},
		{"flag over variable and profile", []string{"--server", "http://flag:4", "-p", "p2"}, map[string]string{"SWITCHYARD_SERVER": "http://env:3"},
			"http://flag:4", "sya_prod", "p2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := withConfigHome(t)
			writeFile(t, path, twoProfiles)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cc, project, err := clientSettings(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Server != tc.wantServer || cc.Token != tc.wantToken || project != tc.wantProject {
				t.Errorf("server, token, project = %s, %s, %s; want %s, %s, %s", cc.Server, cc.Token, project, tc.wantServer, tc.wantToken, tc.wantProject)
			}
		})
	}
}

func TestProfileDefaultsWithoutAConfigFile(t *testing.T) {
	withConfigHome(t)
	cc, project, err := clientSettings(t)
	if err != nil || cc.Server != "http://127.0.0.1:8080" || cc.Token != "" || project != "default" {
		t.Errorf("without a config file: %+v, %s, %v; want the defaults", cc, project, err)
	}
}

func TestProfileFileNamedByFlagOrVariable(t *testing.T) {
	withConfigHome(t)
	path := filepath.Join(t.TempDir(), "elsewhere.yaml")
	writeFile(t, path, twoProfiles)
	if cc, _, err := clientSettings(t, "--cli-config", path); err != nil || cc.Token != "sya_prod" {
		t.Errorf("--cli-config: token %q, %v; want sya_prod", cc.Token, err)
	}
	t.Setenv("SWITCHYARD_CLI_CONFIG", path)
	if cc, _, err := clientSettings(t, "--profile", "staging"); err != nil || cc.Token != "sya_staging" {
		t.Errorf("SWITCHYARD_CLI_CONFIG: token %q, %v; want sya_staging", cc.Token, err)
	}
}

func TestProfileErrors(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		want       string
		wantCode   int
	}{
		{"unknown --profile", twoProfiles, []string{"--profile", "nope"}, `--profile "nope": no such profile`, exitUsage},
		{"current names no profile", "current: gone\n", nil, `current profile "gone" does not exist`, exitFailure},
		{"unknown key", "profiles:\n  p:\n    sever: x\n", nil, "field sever not found", exitFailure},
		{"not YAML", "profiles: [\n", nil, "CLI config file", exitFailure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, withConfigHome(t), tc.file)
			_, _, err := clientSettings(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != tc.wantCode {
				t.Errorf("error = %v (exit %d), want one containing %q (exit %d)", err, exitCode(err), tc.want, tc.wantCode)
			}
		})
	}
}

func TestProfileCommandsAgainstAServer(t *testing.T) {
	s := startCLIServer(t)
	path := withConfigHome(t)
	cli := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	if _, errOut, err := cli("profile", "set", "local", "--server", s.url, "--token", s.token); err != nil {
		t.Fatalf("profile set: %v\n%s", err, errOut)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("profile set wrote no %s: %v", path, err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("config file mode = %o, want 600", perm)
	}
	if _, errOut, err := cli("profile", "set", "tls", "--server", "https://x.example", "--tls-ca", "testdata/ca.pem"); err != nil {
		t.Fatalf("profile set tls: %v\n%s", err, errOut)
	}
	data, _ := os.ReadFile(path)
	if want, _ := filepath.Abs("testdata/ca.pem"); !strings.Contains(string(data), "tls-ca: "+want) {
		t.Errorf("config file after profile set --tls-ca:\n%s\nwant the absolute path %s", data, want)
	}
	if _, _, err := cli("profile", "delete", "tls"); err != nil {
		t.Fatal(err)
	}
	// The first profile is the current one: no --server or --token needed.
	if out, errOut, err := cli("model", "list"); err != nil || !strings.HasPrefix(out, "KEY") {
		t.Fatalf("model list with the current profile = %v\n%s%s", err, out, errOut)
	}
	if _, errOut, err := cli("profile", "set", "down", "--server", "http://127.0.0.1:1", "--token", "sya_nope"); err != nil {
		t.Fatalf("profile set down: %v\n%s", err, errOut)
	}
	if _, _, err := cli("--profile", "down", "model", "list"); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("model list --profile down = %v, want it to call 127.0.0.1:1", err)
	}
	list, _, err := cli("profile", "list")
	if err != nil || strings.Contains(list, s.token) || strings.Contains(list, "sya_nope") {
		t.Errorf("profile list = %v, printed\n%s\nwant no token", err, list)
	}
	if got := strings.Join(strings.Fields(lineWith(list, "*")), " "); got != "* local "+s.url+" - set -" {
		t.Errorf("profile list current row = %q, want local marked\n%s", got, list)
	}
	if _, _, err := cli("profile", "use", "down"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli("model", "list"); err == nil {
		t.Error("model list after 'profile use down' succeeded, want the down server")
	}
	if _, _, err := cli("profile", "use", "nope"); err == nil || exitCode(err) != exitFailure {
		t.Errorf("profile use nope = %v, want a failure", err)
	}
	// The flag wins over the profile.
	if _, _, err := cli("model", "list", "--server", s.url, "--token", s.token); err != nil {
		t.Errorf("model list with flags over the profile: %v", err)
	}
	if _, _, err := cli("profile", "delete", "down"); err != nil {
		t.Fatal(err)
	}
	js := decodeJSON(t, mustRun(t, "profile", "list", "--output", "json"))
	if js["current"] != "" || len(js["profiles"].([]any)) != 1 {
		t.Errorf("profile list --output json after delete = %v, want local alone and no current", js)
	}
}

// writeFile writes text to path, making its directory.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// mustRun runs a command and fails the test unless it succeeds; it
// returns what the command printed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("switchyard %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}
