package main

import (
	"strings"
	"testing"
)

// fails runs a client command as admin that must fail with the exit
// code want and an error containing each of msgs; it returns the error's
// text.
func (s *cliServer) fails(t *testing.T, want int, cmd string, args ...string) string {
	t.Helper()
	out, errOut, err := s.run(t, s.token, cmd, args...)
	if err == nil {
		t.Fatalf("switchyard %s %s succeeded, want exit %d\n%s", cmd, strings.Join(args, " "), want, out)
	}
	if got := exitCode(err); got != want {
		t.Errorf("switchyard %s %s: exit %d (%v), want %d\n%s", cmd, strings.Join(args, " "), got, err, want, errOut)
	}
	return err.Error()
}

// fields is a table line's cells, split at runs of spaces.
func fields(line string) string { return strings.Join(strings.Fields(line), " ") }

func TestFlagCreateListGetDelete(t *testing.T) {
	s := startCLIServer(t)
	out := s.must(t, "flag create", "banner-color", "--type", "string", "--variation", "blue=blue", "--variation", `red="#f00"`,
		"--description", "Banner colour", "--tag", "web")
	if !strings.Contains(out, "created string flag banner-color in default (off everywhere, default blue)") {
		t.Errorf("flag create printed %q", out)
	}
	list := s.must(t, "flag list")
	if got := fields(lineWith(list, "banner-color")); got != "banner-color string blue,red - web Banner colour" {
		t.Errorf("flag list line = %q, want the new flag\n%s", got, list)
	}
	if got := fields(lineWith(list, "new-checkout")); got != "new-checkout bool - production -" {
		t.Errorf("flag list line = %q, want new-checkout on in production\n%s", got, list)
	}
	tagged := decodeJSON(t, s.must(t, "flag list", "--tag", "web", "-o", "json"))
	if fs, _ := tagged["flags"].([]any); len(fs) != 1 || fs[0].(map[string]any)["key"] != "banner-color" {
		t.Errorf("flag list --tag web -o json = %v, want only banner-color", tagged)
	}
	if got := s.must(t, "flag list", "--query", "nothing-like-this"); got != "no flags in default\n" {
		t.Errorf("flag list --query = %q, want none", got)
	}
	get := s.must(t, "flag get", "banner-color")
	if fields(lineWith(get, "variant red")) != `variant red "#f00"` || fields(lineWith(get, "staging")) != "staging off blue blue 0 0" {
		t.Errorf("flag get printed\n%s\nwant the red variant and staging off serving blue", get)
	}
	yml := s.must(t, "flag get", "banner-color", "-o", "yaml")
	if !strings.Contains(yml, "key: banner-color\n") || !strings.Contains(yml, "off_variant: blue") {
		t.Errorf("flag get -o yaml printed\n%s", yml)
	}
	if got := s.must(t, "flag delete", "banner-color"); got != "deleted flag banner-color\n" {
		t.Errorf("flag delete printed %q", got)
	}
	if msg := s.fails(t, exitFailure, "flag get", "banner-color"); !strings.Contains(msg, "NOT_FOUND") {
		t.Errorf("flag get of a deleted flag = %q, want NOT_FOUND", msg)
	}
}

func TestFlagCreateBoolAndObject(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "flag create", "dark-mode", "--type", "bool")
	s.must(t, "flag create", "limits", "--type", "object", "--variation", `small={"n":1}`, "--variation", `big={"n":9}`, "--default", "big")
	f := decodeJSON(t, s.must(t, "flag get", "limits", "-o", "json"))
	env := f["environments"].(map[string]any)["staging"].(map[string]any)
	if f["type"] != "json" || env["off_variant"] != "big" || env["default"].(map[string]any)["variant"] != "big" {
		t.Errorf("flag get limits = %v, want a json flag serving big", f)
	}
	if got := s.must(t, "flag toggle", "dark-mode", "--environment", "staging", "--on"); !strings.HasPrefix(got, "dark-mode is on in staging (revision ") {
		t.Errorf("flag toggle printed %q", got)
	}
}

func TestFlagToggleAndSet(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "flag create", "dark-mode", "--type", "bool")
	if got := s.must(t, "flag toggle", "new-checkout", "-e", "production"); !strings.HasPrefix(got, "new-checkout is off in production") {
		t.Errorf("flag toggle (flip) printed %q, want off", got)
	}
	if got := s.must(t, "flag toggle", "new-checkout", "-e", "production", "--on"); !strings.HasPrefix(got, "new-checkout is on in production") {
		t.Errorf("flag toggle --on printed %q", got)
	}
	got := s.must(t, "flag set", "new-checkout", "-e", "production", "--rollout", "on=12.5,off=87.5", "--off-variation", "off")
	if !strings.HasPrefix(got, "new-checkout in production: on, default on 12.5%, off 87.5%, off variant off") {
		t.Errorf("flag set --rollout printed %q", got)
	}
	got = s.must(t, "flag set", "dark-mode", "-e", "staging", "--rollout", "on=5,off=95", "--on")
	if !strings.HasPrefix(got, "dark-mode in staging: on, default on 5%, off 95%") {
		t.Errorf("flag set --rollout --on printed %q", got)
	}
	js := decodeJSON(t, s.must(t, "flag set", "new-checkout", "-e", "production", "--default-variation", "on", "-o", "json"))
	tg := js["targeting"].(map[string]any)
	if tg["default"].(map[string]any)["variant"] != "on" || tg["enabled"] != true || tg["off_variant"] != "off" || js["etag"] == "" {
		t.Errorf("flag set -o json = %v, want the targeting serving on, still enabled", js)
	}
}

func TestFlagCommandErrors(t *testing.T) {
	s := startCLIServer(t)
	cases := []struct {
		name string
		code int
		args []string
		want string
	}{
		{"stale etag", exitFailure, []string{"flag toggle", "new-checkout", "-e", "production", "--etag", "stale"}, "ABORTED"},
		{"stale etag on delete", exitFailure, []string{"flag delete", "new-checkout", "--etag", "stale"}, "ABORTED"},
		{"unknown flag", exitFailure, []string{"flag toggle", "nope", "-e", "production"}, "NOT_FOUND"},
		{"unknown environment", exitFailure, []string{"flag set", "new-checkout", "-e", "nope", "--default-variation", "on"}, "NOT_FOUND"},
		{"unknown variant", exitFailure, []string{"flag set", "new-checkout", "-e", "production", "--default-variation", "maybe"}, "targeting.default"},
		{"bad type", exitFailure, []string{"flag create", "x", "--type", "colour"}, "flag.type"},
		{"duplicate", exitFailure, []string{"flag create", "new-checkout", "--type", "bool"}, "ALREADY_EXISTS"},
		{"no environment", exitUsage, []string{"flag toggle", "new-checkout"}, "--environment is required"},
		{"on and off", exitUsage, []string{"flag toggle", "new-checkout", "-e", "production", "--on", "--off"}, "exclude"},
		{"set on and off", exitUsage, []string{"flag set", "new-checkout", "-e", "production", "--on", "--off"}, "exclude"},
		{"nothing to set", exitUsage, []string{"flag set", "new-checkout", "-e", "production"}, "nothing to set"},
		{"rollout sum", exitUsage, []string{"flag set", "new-checkout", "-e", "production", "--rollout", "on=50,off=40"}, "sum to 90"},
		{"rollout decimals", exitUsage, []string{"flag set", "new-checkout", "-e", "production", "--rollout", "on=50.0001,off=49.9999"}, "three decimals"},
		{"default not a variation", exitUsage, []string{"flag create", "n", "--type", "number", "--variation", "one=1", "--default", "two"}, "not one of the variations one"},
		{"bool default not on or off", exitUsage, []string{"flag create", "b", "--type", "bool", "--default", "yes"}, "not one of the variations on, off"},
		{"variation not JSON", exitUsage, []string{"flag create", "n", "--type", "number", "--variation", "one=uno"}, "not JSON"},
		{"no key", exitUsage, []string{"flag get"}, "flag get: missing KEY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if msg := s.fails(t, tc.code, tc.args[0], tc.args[1:]...); !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q, want it to contain %q", msg, tc.want)
			}
		})
	}
	// Nothing was half-applied: the flag is as imported.
	if got := fields(lineWith(s.must(t, "flag get", "new-checkout"), "production")); got != "production on off - 0 0" {
		t.Errorf("new-checkout in production after the refusals = %q, want as imported", got)
	}
}

func TestFlagToggleOverridesARelease(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	createDE(t, s, "spring")
	s.must(t, "release start", "spring")
	if msg := s.fails(t, exitFailure, "flag toggle", "new-checkout", "-e", "production", "--off"); !strings.Contains(msg, "spring") {
		t.Errorf("flag toggle of a flag the release holds = %q, want refused naming the release", msg)
	}
	s.fails(t, exitUsage, "flag toggle", "new-checkout", "-e", "production", "--off", "--override-release", "spring")
	got := s.must(t, "flag toggle", "new-checkout", "-e", "production", "--off", "--override-release", "spring", "--reason", "checkout down")
	if !strings.HasPrefix(got, "new-checkout is off in production") {
		t.Errorf("flag toggle --override-release printed %q", got)
	}
	if status := s.must(t, "release status", "spring"); !strings.Contains(status, "checkout down") {
		t.Errorf("release status after the override printed\n%s\nwant the reason on the timeline", status)
	}
}
