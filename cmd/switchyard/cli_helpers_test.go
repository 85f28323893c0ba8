package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// cliServer is a server started by serveInBackground with the document of
// testdata/region.yaml imported, and the admin token to call it with.
type cliServer struct {
	url   string
	token string
}

// startCLIServer serves a new database and imports testdata/region.yaml
// through the CLI.
func startCLIServer(t *testing.T) *cliServer {
	t.Helper()
	url, _ := serveInBackground(t, filepath.Join(t.TempDir(), "s.db"))
	s := &cliServer{url: url, token: "sya_test_admin"}
	s.must(t, "import", "testdata/region.yaml")
	return s
}

// run runs the client command named by cmd ("release start") with the
// server's address, a token and args, and returns what it printed.
func (s *cliServer) run(t *testing.T, token, cmd string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	full := append(strings.Fields(cmd), "--server", s.url, "--token", token)
	var out, errOut bytes.Buffer
	err = run(context.Background(), append(full, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

// must runs a client command as admin and fails the test unless it
// succeeds; it returns what the command printed.
func (s *cliServer) must(t *testing.T, cmd string, args ...string) string {
	t.Helper()
	return s.mustAs(t, s.token, cmd, args...)
}

// mustAs runs a client command with a token and fails the test unless it
// succeeds.
func (s *cliServer) mustAs(t *testing.T, token, cmd string, args ...string) string {
	t.Helper()
	out, errOut, err := s.run(t, token, cmd, args...)
	if err != nil {
		t.Fatalf("switchyard %s %s: %v\n%s%s", cmd, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// newToken creates an admin token of a role, held by the person name, over
// the REST API and returns its secret.
func (s *cliServer) newToken(t *testing.T, name, role string) string {
	t.Helper()
	c, err := clientConfig{Server: s.url, Token: s.token}.client()
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Secret string `json:"secret"`
	}
	key := map[string]string{"name": name, "kind": "admin", "role": role, "principal": name}
	if err := c.do(context.Background(), http.MethodPost, "/api/v1/keys", key, &out); err != nil {
		t.Fatalf("create %s token: %v", role, err)
	}
	return out.Secret
}

// decodeJSON decodes a command's --json output into a map.
func decodeJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	return v
}

// lineWith returns the first line of out that starts with prefix (after
// leading spaces), or "".
func lineWith(out, prefix string) string {
	for line := range strings.Lines(out) {
		if strings.HasPrefix(strings.TrimLeft(line, " "), prefix) {
			return strings.TrimRight(line, "\n")
		}
	}
	return ""
}
