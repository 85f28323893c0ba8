package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestVersionRegisterAndAvailabilityByCLI(t *testing.T) {
	s := startCLIServer(t)
	if out := s.must(t, "version register", "ios-app", "2.4.0", "--notes", "New checkout", "--artifact", "https://ci.example.com/2.4.0.ipa", "--label", "build=1234"); !strings.Contains(out, "registered ios-app 2.4.0: DEPLOYED") {
		t.Errorf("version register printed %q", out)
	}
	list := s.must(t, "version list", "ios-app")
	for _, want := range []string{"2.3.1 RELEASED yes production - Security fix", "2.4.0 DEPLOYED - - build=1234 New checkout"} {
		if got := strings.Join(strings.Fields(lineWith(list, want[:5])), " "); got != want {
			t.Errorf("version list row %q, want %q\n%s", got, want, list)
		}
	}
	// A client key of production asks for its own environment.
	c, err := clientConfig{Server: s.url, Token: s.token}.client()
	if err != nil {
		t.Fatal(err)
	}
	var key struct {
		Secret string `json:"secret"`
	}
	if err := c.do(context.Background(), http.MethodPost, "/api/v1/keys",
		map[string]string{"name": "app", "kind": "client", "project": "default", "environment": "production"}, &key); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"availability", "ios-app", "--server", s.url, "--client-key", key.Secret,
		"--current-version", "2.2.5", "--context", "targetingKey=u1"}, &out, &errOut)
	if err != nil {
		t.Fatalf("availability with a client key: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"version 2.3.1", "update REQUIRED", "reason STATIC (rule default)", "notes 2.3.1 Security fix"} {
		if got := strings.Join(strings.Fields(lineWith(out.String(), want[:4])), " "); got != want {
			t.Errorf("availability line %q, want %q\n%s", got, want, out.String())
		}
	}
}

func TestAvailabilityOfAnUnknownComponentExitsWithStatus1(t *testing.T) {
	s := startCLIServer(t)
	out, _, err := s.run(t, s.token, "availability", "android-app", "--environment", "production", "--current-version", "1.0.0")
	if code, ok := err.(exitError); !ok || code != 1 {
		t.Errorf("availability of an unknown component = %v, want exit status 1", err)
	}
	if !strings.Contains(out, "FLAG_NOT_FOUND") {
		t.Errorf("availability printed %q, want the error code", out)
	}
}

func TestJSONOutputParses(t *testing.T) {
	s := startCLIServer(t)
	s.must(t, "version register", "ios-app", "2.4.0")
	createDE(t, s, "r1")
	tests := []struct {
		name string
		cmd  string
		args []string
		key  string // a key the answer has
	}{
		{"release status", "release status", []string{"r1"}, "timeline"},
		{"release list", "release list", nil, "releases"},
		{"version register", "version register", []string{"ios-app", "2.5.0"}, "state"},
		{"release start", "release start", []string{"r1"}, "state"},
		{"release report", "release report", nil, "overall"},
		{"model create", "model create", []string{"m1", "--stage", "all"}, "stages"},
		{"model list", "model list", nil, "release_models"},
		{"version list", "version list", []string{"ios-app"}, "versions"},
		{"availability", "availability", []string{"ios-app", "--environment", "production", "--current-version", "2.3.1", "--context", "targetingKey=staff-1"}, "update"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := s.must(t, tc.cmd, append(tc.args, "--json")...)
			if v := decodeJSON(t, out); v[tc.key] == nil {
				t.Errorf("%s --json has no %q:\n%s", tc.cmd, tc.key, out)
			}
		})
	}
	// The read-only commands again, as YAML.
	for _, tc := range []struct {
		name, cmd string
		args      []string
		key       string
	}{
		{"release status", "release status", []string{"r1"}, "timeline"},
		{"release list", "release list", nil, "releases"},
		{"release report", "release report", nil, "overall"},
		{"model list", "model list", nil, "release_models"},
		{"version list", "version list", []string{"ios-app"}, "versions"},
	} {
		t.Run(tc.name+" -o yaml", func(t *testing.T) {
			out := s.must(t, tc.cmd, append(tc.args, "-o", "yaml")...)
			var v map[string]any
			if err := yaml.Unmarshal([]byte(out), &v); err != nil || v[tc.key] == nil {
				t.Errorf("%s -o yaml = %v, has no %q:\n%s", tc.cmd, err, tc.key, out)
			}
		})
	}
}

func TestBadCommandLinesAreReported(t *testing.T) {
	s := startCLIServer(t)
	tests := []struct {
		name string
		cmd  string
		args []string
		want string
	}{
		{"unknown flag", "release start", []string{"r1", "--bogus"}, "unknown flag: --bogus"},
		{"missing id", "release start", nil, "release start: missing ID"},
		{"extra argument", "release status", []string{"r1", "r2"}, `release status: unexpected argument "r2"`},
		{"bad stage", "release create", []string{"r1", "--environment", "production", "--stage", "x:weight=5"}, "want a percentage"},
		{"bad item", "release create", []string{"r1", "--environment", "production", "--item", "ios-app"}, "want FLAG=VARIANT or COMPONENT=VERSION"},
		{"unknown item", "release create", []string{"r1", "--environment", "production", "--item", "nope=1"}, `no flag or component "nope"`},
		{"no environment", "release create", []string{"r1"}, "no environment"},
		{"no id", "release create", []string{"--environment", "production"}, "no release id"},
		{"bad start time", "release start", []string{"r1", "--at", "soon"}, "RFC 3339"},
		{"server's field errors", "release create", []string{"r1", "--environment", "production", "--mode", "sideways"}, "release.mode: unknown mode"},
		{"unknown release", "release status", []string{"nope"}, "NOT_FOUND"},
		{"no current version", "availability", []string{"ios-app", "--environment", "production"}, "--current-version is required"},
		{"bad context", "availability", []string{"ios-app", "--current-version", "1.0.0", "--context", "age:=x"}, "is not JSON"},
		{"bad label", "version register", []string{"ios-app", "3.0.0", "--label", "nolabel"}, "want KEY=VALUE"},
		{"bad report period", "release report", []string{"--from", "yesterday"}, "RFC 3339"},
		{"model without key", "model create", []string{"--stage", "all"}, "no model key"},
		{"bad model convergence", "model create", []string{"m", "--convergence", "95"}, "want a percentage"},
		{"unknown subcommand", "release frobnicate", nil, `release: unknown command "frobnicate"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := s.run(t, s.token, tc.cmd, tc.args...)
			if err == nil || !strings.Contains(err.Error()+stderr, tc.want) {
				t.Errorf("switchyard %s %q = %v\n%s\nwant an error containing %q", tc.cmd, tc.args, err, stderr, tc.want)
			}
		})
	}
}

func TestHelpPrintsUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"release", "--help"}, "switchyard release [command]"},
		{[]string{"release", "create", "--help"}, "switchyard release create [ID] [flags]"},
		{[]string{"release", "status", "-h"}, "switchyard release status ID [flags]"},
		{[]string{"version", "register", "--help"}, "--required"},
		{[]string{"availability", "--help"}, "--current-version"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, &out, &out)
			if err != nil {
				t.Fatalf("switchyard %s = %v", strings.Join(tc.args, " "), err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("switchyard %s printed\n%s\nwant %q", strings.Join(tc.args, " "), out.String(), tc.want)
			}
		})
	}
}

func TestFlagsComeFromTheEnvironment(t *testing.T) {
	s := startCLIServer(t)
	t.Setenv("SWITCHYARD_SERVER", s.url)
	t.Setenv("SWITCHYARD_TOKEN", s.token)
	t.Setenv("SWITCHYARD_JSON", "true")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"version", "list", "ios-app"}, &out, &errOut); err != nil {
		t.Fatalf("version list with SWITCHYARD_* = %v\n%s", err, errOut.String())
	}
	if v := decodeJSON(t, out.String()); v["versions"] == nil {
		t.Errorf("version list printed %s, want the JSON answer", out.String())
	}
}

func TestYAMLOutputQuotesWordsYAML11ReadsAsBooleans(t *testing.T) {
	got, err := jsonToYAML([]byte(`{"variants": {"on": true, "off": false}, "serve": "off", "name": "Yes", "count": "12", "text": "plain"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := "variants:\n  \"on\": true\n  \"off\": false\nserve: \"off\"\nname: \"Yes\"\ncount: \"12\"\ntext: plain\n"
	if string(got) != want {
		t.Errorf("jsonToYAML =\n%s\nwant\n%s", got, want)
	}
}
