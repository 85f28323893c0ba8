package main

import (
	"slices"
	"testing"
)

func TestResourceCommandsCompleteKeysFromTheServer(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	createDE(t, s, "spring")
	server := []string{"--server", s.url, "--token", s.token}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"flag get", []string{"flag", "get", ""}, "new-checkout"},
		{"flag toggle", []string{"flag", "toggle", "new-"}, "new-checkout"},
		{"flag set --environment", []string{"flag", "set", "new-checkout", "--environment", ""}, "staging"},
		{"flag delete", []string{"flag", "delete", ""}, "new-checkout"},
		{"evaluate", []string{"evaluate", ""}, "new-checkout"},
		{"evaluate --environment", []string{"evaluate", "new-checkout", "-e", ""}, "production"},
		{"key create --environment", []string{"key", "create", "app", "--kind", "sdk", "-e", ""}, "production"},
		{"segment get", []string{"segment", "get", ""}, "germany"},
		{"segment delete", []string{"segment", "delete", ""}, "staff"},
		{"environment delete", []string{"environment", "delete", ""}, "staging"},
		{"project delete", []string{"project", "delete", ""}, "default"},
		{"version withdraw", []string{"version", "withdraw", ""}, "ios-app"},
		{"release incident", []string{"release", "incident", ""}, "spring"},
		{"release review", []string{"release", "review", "spr"}, "spring"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := completions(t, append(slices.Clone(server), tc.args...)...); !slices.Contains(got, tc.want) {
				t.Errorf("__complete %q = %q, want %q among them", tc.args, got, tc.want)
			}
		})
	}
	if got := completions(t, append(slices.Clone(server), "flag", "get", "new-checkout", "")...); len(got) > 0 {
		t.Errorf("__complete flag get new-checkout '' = %q, want nothing past the key", got)
	}
}
