package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitStatusAndErrors runs the binary and checks the exit status the
// root help documents for each class of outcome, with errors on standard
// error and nothing on standard output.
func TestExitStatusAndErrors(t *testing.T) {
	bin := buildBinary(t)
	url, _ := serveInBackground(t, filepath.Join(t.TempDir(), "s.db"))
	server := []string{"--server", url, "--token", "sya_test_admin"}
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantStatus int
		wantStderr string // "" means stderr must be empty
		wantStdout string // "" means stdout must be empty
	}{
		{"success", []string{"version"}, nil, 0, "", "commit"},
		{"help", []string{"--help"}, nil, 0, "", "Exit status: 0 on success, 1 when the command\nfailed"},
		{"a client command", append([]string{"model", "list"}, server...), nil, 0, "", "KEY"},
		{"no command", nil, nil, exitUsage, "Usage:", ""},
		{"unknown command", []string{"frobnicate"}, nil, exitUsage, `unknown command "frobnicate"`, ""},
		{"unknown subcommand", []string{"release", "frobnicate"}, nil, exitUsage, `release: unknown command "frobnicate"`, ""},
		{"unknown flag subcommand", []string{"flag", "frobnicate"}, nil, exitUsage, `flag: unknown command "frobnicate"`, ""},
		{"group without a command", []string{"segment", "keys"}, nil, exitUsage, "segment keys: missing command", ""},
		{"unknown flag", []string{"release", "list", "--bogus"}, nil, exitUsage, "unknown flag: --bogus", ""},
		{"missing argument", []string{"release", "status"}, nil, exitUsage, "release status: missing ID", ""},
		{"bad flag value", []string{"flag", "stale", "--days", "many"}, nil, exitUsage, `invalid argument "many"`, ""},
		{"bad --output", []string{"version", "--output", "xml"}, nil, exitUsage, `--output "xml"`, ""},
		{"bad variable", []string{"version"}, []string{"SWITCHYARD_JSON=maybe"}, exitUsage, "SWITCHYARD_JSON", ""},
		{"the server refuses", append([]string{"release", "status", "nope"}, server...), nil, exitFailure, "NOT_FOUND", ""},
		{"no server", []string{"release", "list", "--server", "http://127.0.0.1:1", "--token", "t"}, nil, exitFailure, "connect", ""},
		{"invalid file", []string{"validate", "testdata/broken.yaml"}, nil, exitFailure, "problem(s)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			status := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				status = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tc.wantStatus {
				t.Errorf("switchyard %q exited %d, want %d\n%s%s", tc.args, status, tc.wantStatus, stdout.String(), stderr.String())
			}
			check := func(stream, got, want string) {
				if want == "" && got != "" || !strings.Contains(got, want) {
					t.Errorf("switchyard %q wrote on %s:\n%s\nwant %q", tc.args, stream, got, want)
				}
			}
			check("stderr", stderr.String(), tc.wantStderr)
			check("stdout", stdout.String(), tc.wantStdout)
		})
	}
}
