package main

import (
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			db := filepath.Join(t.TempDir(), "s.db")
			err := runServe(t.Context(), append([]string{"--db", db}, tc.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("serve %v = %v, want an error about %s", tc.args, err, tc.want)
			}
		})
	}
}
