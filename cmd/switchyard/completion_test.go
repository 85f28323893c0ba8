package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCompletionScripts(t *testing.T) {
	tests := []struct {
		shell string
		want  []string
	}{
		{"bash", []string{"# bash completion V2 for switchyard", "__start_switchyard", "__complete"}},
		{"zsh", []string{"#compdef switchyard", "compdef _switchyard switchyard", "__complete"}},
		{"fish", []string{"# fish completion for switchyard", "complete -c switchyard", "__complete"}},
	}
	for _, tc := range tests {
		t.Run(tc.shell, func(t *testing.T) {
			out := mustRun(t, "completion", tc.shell)
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("completion %s lacks %q:\n%.400s", tc.shell, want, out)
				}
			}
		})
	}
}

func TestCompletionScriptNeedsNoProfile(t *testing.T) {
	writeFile(t, withConfigHome(t), "current: gone\n")
	if out := mustRun(t, "completion", "bash"); !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash with a broken config file printed %.200q", out)
	}
}

// completions runs 'switchyard __complete args…' and returns the values
// it offers, without their descriptions.
func completions(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"__complete"}, args...), &out, &errOut); err != nil {
		t.Fatalf("__complete %q: %v\n%s", args, err, errOut.String())
	}
	var got []string
	for line := range strings.Lines(out.String()) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, ":") { // the directive ends the list
			break
		}
		key, _, _ := strings.Cut(line, "\t")
		got = append(got, key)
	}
	return got
}

func TestCompletionOfResourceKeysFromTheServer(t *testing.T) {
	url, _ := serveInBackground(t, filepath.Join(t.TempDir(), "s.db"), "--webhook-allow-private")
	s := &cliServer{url: url, token: "sya_test_admin"}
	s.must(t, "import", "testdata/region.yaml")
	createDE(t, s, "ios-240-de")
	createDE(t, s, "ios-250-de")
	s.must(t, "metric create", "purchase")
	s.must(t, "metric create", "order-value", "--kind", "mean", "--event", "purchase")
	s.must(t, "experiment create", "testdata/experiment.yaml")
	api, err := clientConfig{Server: s.url, Token: s.token}.client()
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []struct{ path, body string }{
		{"/api/v1/projects/default/webhooks", `{"id":"ops","url":"http://127.0.0.1:1/hook","secret":"0123456789abcdef0123","events":["flag.*"]}`},
		{"/api/v1/projects", `{"key":"shop"}`},
	} {
		if err := api.do(context.Background(), http.MethodPost, call.path, json.RawMessage(call.body), nil); err != nil {
			t.Fatalf("POST %s: %v", call.path, err)
		}
	}
	server := []string{"--server", s.url, "--token", s.token}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"releases", []string{"release", "status", ""}, []string{"ios-240-de", "ios-250-de"}},
		{"releases by prefix", []string{"release", "start", "ios-25"}, []string{"ios-250-de"}},
		{"only one release", []string{"release", "status", "ios-240-de", ""}, nil},
		{"segments", []string{"segment", "keys", "add", ""}, []string{"germany", "staff"}},
		{"components", []string{"version", "list", ""}, []string{"ios-app"}},
		{"experiments", []string{"experiment", "results", ""}, []string{"checkout-ab"}},
		{"webhooks", []string{"webhook", "deliveries", ""}, []string{"ops"}},
		{"environments", []string{"release", "list", "--environment", ""}, []string{"production", "staging"}},
		{"projects", []string{"export", "--project", ""}, []string{"default", "shop"}},
		{"flags and components as items", []string{"release", "create", "r9", "--item", ""}, []string{"new-checkout=", "ios-app="}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The client flags go first, after "__complete".
			got := completions(t, append(slices.Clone(server), tc.args...)...)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("__complete %q = %q, want %q among them", tc.args, got, w)
				}
			}
			if len(tc.want) == 0 && len(got) > 0 {
				t.Errorf("__complete %q = %q, want nothing", tc.args, got)
			}
		})
	}
	t.Run("with the profile's credentials", func(t *testing.T) {
		withConfigHome(t)
		mustRun(t, "profile", "set", "local", "--server", s.url, "--token", s.token)
		if got := completions(t, "release", "status", ""); !slices.Contains(got, "ios-240-de") {
			t.Errorf("__complete release status with a profile = %q, want ios-240-de", got)
		}
	})
	t.Run("quietly nothing when the server refuses", func(t *testing.T) {
		if got := completions(t, "release", "status", "--server", s.url, "--token", "sya_wrong", ""); len(got) > 0 {
			t.Errorf("__complete with a bad token = %q, want nothing", got)
		}
	})
}

func TestCompletionOfProfileNames(t *testing.T) {
	writeFile(t, withConfigHome(t), twoProfiles)
	if got := completions(t, "profile", "use", ""); !slices.Equal(got, []string{"prod", "staging"}) {
		t.Errorf("__complete profile use = %q, want prod, staging", got)
	}
	if got := completions(t, "--profile", "st"); !slices.Equal(got, []string{"staging"}) {
		t.Errorf("__complete --profile st = %q, want staging", got)
	}
}
