package main

import (
	"os"
	"strings"
	"testing"
)

func TestEvaluateWithAdminToken(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "flag set", "new-checkout", "-e", "production", "--rollout", "on=100,off=0")
	out := s.must(t, "evaluate", "new-checkout", "-e", "production", "--context", `{"targetingKey": "user-1"}`)
	for _, want := range []string{"flag new-checkout", "variant on", "value true", "reason SPLIT", "rule default"} {
		if !strings.Contains(fields(out), want) {
			t.Errorf("evaluate printed\n%s\nwant %q", out, want)
		}
	}
	js := decodeJSON(t, s.must(t, "evaluate", "new-checkout", "-e", "staging", "-o", "json"))
	if js["reason"] != "DISABLED" || js["flag"] != "new-checkout" {
		t.Errorf("evaluate in staging -o json = %v, want DISABLED", js)
	}
}

func TestEvaluateMatchingRule(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "import", "testdata/evaluate.yaml")
	out := s.must(t, "evaluate", "banner", "-e", "production", "--context", `{"targetingKey": "u", "country": "DE"}`)
	if got := fields(lineWith(out, "rule")); got != "rule germany" {
		t.Errorf("evaluate printed\n%s\nwant rule germany", out)
	}
	if got := fields(lineWith(out, "reason")); got != "reason TARGETING_MATCH" {
		t.Errorf("evaluate printed\n%s\nwant TARGETING_MATCH", out)
	}
}

func TestEvaluateWithSDKKeyFromStdin(t *testing.T) {
	s := startCLIServer(t)
	_, secret := createdKey(t, s.must(t, "key create", "app", "--kind", "sdk", "-e", "production"))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = stdin; r.Close() })
	w.WriteString(`{"targetingKey": "user-1"}`)
	w.Close()
	t.Setenv("SWITCHYARD_SDK_KEY", secret)
	// The admin token is not needed, and not used.
	out, errOut, err := s.run(t, "sya_not_a_token", "evaluate", "new-checkout", "--context", "-")
	if err != nil {
		t.Fatalf("evaluate with an SDK key: %v\n%s", err, errOut)
	}
	if fields(lineWith(out, "variant")) != "variant off" || fields(lineWith(out, "reason")) != "reason STATIC" {
		t.Errorf("evaluate with an SDK key printed\n%s\nwant off, STATIC", out)
	}
}

func TestEvaluateErrors(t *testing.T) {
	s := startCLIServer(t)
	cases := []struct {
		name string
		code int
		args []string
		want string
	}{
		{"unknown flag", exitFailure, []string{"nope", "-e", "production"}, "exit status 1"},
		{"unknown environment", exitFailure, []string{"new-checkout", "-e", "nope"}, "NOT_FOUND"},
		{"no environment", exitUsage, []string{"new-checkout"}, "--environment is required"},
		{"context not an object", exitUsage, []string{"new-checkout", "-e", "production", "--context", "[1]"}, "JSON object"},
		{"non-string targeting key", exitFailure, []string{"new-checkout", "-e", "production", "--context", `{"targetingKey": 7}`}, "exit status 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if msg := s.fails(t, tc.code, "evaluate", tc.args...); !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q, want it to contain %q", msg, tc.want)
			}
		})
	}
	out, _, _ := s.run(t, s.token, "evaluate", "nope", "-e", "production")
	if fields(lineWith(out, "error")) != "error FLAG_NOT_FOUND" {
		t.Errorf("evaluate of an unknown flag printed\n%s\nwant FLAG_NOT_FOUND", out)
	}
}
