package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// apiCommand holds what every admin command against one project shares:
// where the server is and who calls (clientConfig), the project, and
// whether to print the API's answer as it came (--json) or as text.
type apiCommand struct {
	cc      clientConfig
	project string
	json    bool
	stdout  io.Writer
	client  *apiClient
	// raw is the last answer read by fetch.
	raw json.RawMessage
}

// newAPICommand returns a flag set for a command with the shared flags
// registered on it.
func newAPICommand(name, synopsis string, stdout, stderr io.Writer) (*apiCommand, *flag.FlagSet) {
	a := &apiCommand{project: "default", stdout: stdout}
	fs := newFlagSet(name, synopsis, stderr)
	a.cc.register(fs)
	fs.StringVar(&a.project, "project", a.project, "project")
	fs.BoolVar(&a.json, "json", false, "print the API's JSON answer instead of text")
	return a, fs
}

// parse parses args, checks the arguments against names (see arguments)
// and connects the client. It returns the arguments given.
func (a *apiCommand) parse(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	rest, err := arguments(fs, args, names...)
	if err != nil {
		return nil, err
	}
	if a.client, err = a.cc.client(); err != nil {
		return nil, err
	}
	return rest, nil
}

// arguments parses args and checks the arguments that remain against
// names: one for each name, except that a name in brackets, such as
// "[ID]", is optional (and last). It returns the arguments given.
func arguments(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	rest, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	required := 0
	for _, n := range names {
		if !strings.HasPrefix(n, "[") {
			required++
		}
	}
	switch {
	case len(rest) < required:
		fs.Usage()
		return nil, fmt.Errorf("%s: missing %s", fs.Name(), names[len(rest)])
	case len(rest) > len(names):
		fs.Usage()
		return nil, fmt.Errorf("%s: unexpected argument %q", fs.Name(), rest[len(names)])
	}
	return rest, nil
}

// path is the REST path of a project resource: "/api/v1/projects/{project}"
// followed by the escaped segments, joined by "/".
func (a *apiCommand) path(segments ...string) string {
	p := "/api/v1/projects/" + url.PathEscape(a.project)
	for _, s := range segments {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// fetch calls the API, keeps the answer for show and decodes it into out.
func (a *apiCommand) fetch(ctx context.Context, method, path string, body any, out proto.Message) error {
	a.raw = nil
	if err := a.client.do(ctx, method, path, body, &a.raw); err != nil {
		return err
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(a.raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// show prints the last answer: indented JSON with --json, else what
// render writes, its tab-separated columns aligned by a tabwriter.
func (a *apiCommand) show(render func(w io.Writer)) error {
	if a.json {
		var b bytes.Buffer
		if err := json.Indent(&b, a.raw, "", "  "); err != nil {
			return fmt.Errorf("indent answer: %w", err)
		}
		b.WriteByte('\n')
		_, err := a.stdout.Write(b.Bytes())
		return err
	}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	render(tw)
	if err := tw.Flush(); err != nil {
		return err
	}
	// An empty last column leaves the padding of the one before it.
	var out strings.Builder
	for line := range strings.Lines(b.String()) {
		text, nl := strings.CutSuffix(line, "\n")
		out.WriteString(strings.TrimRight(text, " "))
		if nl {
			out.WriteByte('\n')
		}
	}
	_, err := io.WriteString(a.stdout, out.String())
	return err
}
