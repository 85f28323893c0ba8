package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeRefusesBadLimits(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"negative auth failures", []string{"--auth-failures", "-1"}, nil, "--auth-failures"},
		{"no window, from the environment", nil, map[string]string{"SWITCHYARD_AUTH_FAILURE_WINDOW": "0s"}, "window"},
		{"no addresses", []string{"--auth-throttle-addresses", "0"}, nil, "max addresses"},
		{"negative stream cap", []string{"--max-streams-per-key", "-1"}, nil, "--max-streams-per-key"},
		{"unknown log format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"unknown log format, from the environment", nil, map[string]string{"SWITCHYARD_LOG_FORMAT": "yaml"}, "--log-format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			db := filepath.Join(t.TempDir(), "s.db")
			err := run(t.Context(), append([]string{"serve", "--db", db}, tc.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve %v = %v, want an error about %s", tc.args, err, tc.want)
			}
		})
	}
}

func TestServeLogsJSON(t *testing.T) {
	t.Setenv("SWITCHYARD_LOG_FORMAT", "json")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", filepath.Join(t.TempDir(), "s.db"),
			"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, io.Discard, logW)
		logW.Close()
	}()
	// Every line up to "serving" is a JSON record; stopping before it
	// would cut the bootstrap short.
	lines := bufio.NewScanner(logR)
	for {
		if !lines.Scan() {
			t.Fatalf("serve stopped logging before serving: %v", <-done)
		}
		var rec map[string]any
		if err := json.Unmarshal(lines.Bytes(), &rec); err != nil || rec["msg"] == nil {
			t.Fatalf("log line %q is not a JSON record: %v", lines.Text(), err)
		}
		if rec["msg"] == "serving" {
			break
		}
	}
	cancel()
	go io.Copy(io.Discard, logR)
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
