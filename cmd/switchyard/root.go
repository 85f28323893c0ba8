package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
)

// Exit codes, as the help documents them.
const (
	exitFailure = 1 // the command ran and failed: the server refused, a file is bad, …
	exitUsage   = 2 // the command line is wrong: unknown command or flag, missing argument
)

// usageError is a wrong command line; it ends the program with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// cli is what every client command shares: how to reach the server
// (flags, SWITCHYARD_* variables), the project, the output format and
// where to write.
type cli struct {
	cc      clientConfig
	project string
	output  string
	json    bool // --json, kept from before --output
	stdout  io.Writer
	stderr  io.Writer
	// prepared is set once the command line parsed and the command runs.
	prepared bool
}

// Output formats of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

// newRootCmd returns the switchyard command with every subcommand, and
// what they share.
func newRootCmd(stdout, stderr io.Writer) (*cobra.Command, *cli) {
	c := &cli{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "switchyard",
		Short: "Feature flags and staged releases",
		Long: `switchyard — feature flags and staged releases

Run the server with 'switchyard serve'; every other command is a client of a
running server (--server, --token; each flag also as SWITCHYARD_<FLAG>).

Exit status: 0 on success, 1 when the command failed (the server refused, a
file is invalid, …), 2 when the command line is wrong.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return c.prepare(cmd)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	pf := root.PersistentFlags()
	pf.StringVar(&c.cc.Server, "server", "http://127.0.0.1:8080", "URL of the server's HTTP port")
	pf.StringVar(&c.cc.Token, "token", "", "admin token")
	pf.StringVar(&c.cc.TLS.CA, "tls-ca", "", "PEM CA bundle to trust for an https:// --server (default: the system's)")
	pf.StringVar(&c.cc.TLS.Cert, "tls-cert", "", "PEM client certificate for a server that requires one (mutual TLS)")
	pf.StringVar(&c.cc.TLS.Key, "tls-key", "", "PEM private key of --tls-cert")
	pf.StringVarP(&c.project, "project", "p", "default", "project")
	pf.StringVarP(&c.output, "output", "o", outputTable, "output format: table, json or yaml")
	pf.BoolVar(&c.json, "json", false, "the same as --output json")
	pf.MarkHidden("json")

	root.AddCommand(
		legacyCommand("serve", "Run the server", runServe),
		legacyCommand("import", "Apply a YAML or JSON document to a running server", runImport),
		legacyCommand("export", "Print a project's document from a running server", runExport),
		legacyCommand("validate", "Check a document offline; prints every problem with its path",
			func(_ context.Context, args []string, stdout, stderr io.Writer) error {
				return runValidate(args, stdout, stderr)
			}),
		legacyCommand("release", "Create, run and inspect staged releases", runRelease),
		legacyCommand("model", "Release models: list, create", runModel),
		legacyCommand("version", "This binary's version; component versions: register, list", runVersion),
		legacyCommand("availability", "The version available to a client, and whether to update", runAvailability),
		legacyCommand("experiment", "A/B experiments: create, list, start, stop, results", runExperiment),
		legacyCommand("metric", "Experiment metrics: create, list", runMetric),
		legacyCommand("webhook", "Webhook deliveries: deliveries, redeliver", runWebhook),
		legacyCommand("segment", "Segments and their key lists", runSegment),
		newFlagCmd(c),
		newRelayCmd(c),
	)
	return root, c
}

// legacyCommand runs a command that still parses its own flags with the
// standard library's flag package (help included).
//
// Deprecated: each is being rewritten as a cobra command using cli.
func legacyCommand(name, short string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) *cobra.Command {
	return &cobra.Command{
		Use:                name,
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

// prepare fills the flags the command line did not set from SWITCHYARD_*
// variables and checks --output. It runs before every command.
func (c *cli) prepare(cmd *cobra.Command) error {
	var bad error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || bad != nil {
			return
		}
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil {
				bad = usageError{fmt.Errorf("%s=%q: %w", name, v, err)}
			}
		}
	})
	if bad != nil {
		return bad
	}
	if c.json {
		c.output = outputJSON
	}
	switch c.output {
	case outputTable, outputJSON, outputYAML:
	default:
		return usageError{fmt.Errorf("--output %q: want table, json or yaml", c.output)}
	}
	c.prepared = true
	return nil
}

// client connects to the server the flags name.
func (c *cli) client() (*apiClient, error) { return c.cc.client() }

// path is the REST path of a resource of the current project:
// "/api/v1/projects/{project}" followed by the escaped segments.
func (c *cli) path(segments ...string) string {
	p := "/api/v1/projects/" + url.PathEscape(c.project)
	for _, s := range segments {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// call sends a request to the REST API and decodes the answer into out
// (when out is not nil). It returns the answer as the server sent it, for
// print. A body that is a proto.Message is encoded as the gateway expects.
func (c *cli) call(ctx context.Context, method, path string, body any, out proto.Message) (json.RawMessage, error) {
	api, err := c.client()
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := api.do(ctx, method, path, body, &raw); err != nil {
		return nil, err
	}
	if out != nil && len(raw) > 0 {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return raw, nil
}

// print writes an answer in the --output format: the API's JSON indented,
// the same as YAML, or, as a table, what table writes, its tab-separated
// columns aligned.
func (c *cli) print(raw json.RawMessage, table func(w io.Writer)) error {
	switch c.output {
	case outputJSON:
		var b bytes.Buffer
		if len(raw) == 0 {
			raw = json.RawMessage("{}")
		}
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return fmt.Errorf("indent answer: %w", err)
		}
		b.WriteByte('\n')
		_, err := c.stdout.Write(b.Bytes())
		return err
	case outputYAML:
		data, err := jsonToYAML(raw)
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(data)
		return err
	}
	return writeTable(c.stdout, table)
}

// writeTable writes what render writes, its tab-separated columns aligned
// and no trailing spaces.
func writeTable(w io.Writer, render func(w io.Writer)) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	render(tw)
	if err := tw.Flush(); err != nil {
		return err
	}
	var out strings.Builder
	for line := range strings.Lines(b.String()) {
		text, nl := strings.CutSuffix(line, "\n")
		out.WriteString(strings.TrimRight(text, " "))
		if nl {
			out.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// jsonToYAML re-encodes a JSON document as block-style YAML, keeping the
// order of its keys.
func jsonToYAML(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("answer as YAML: %w", err)
	}
	var plain func(n *yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		for _, k := range n.Content {
			plain(k)
		}
	}
	plain(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("answer as YAML: %w", err)
	}
	return b.Bytes(), enc.Close()
}

// exactArgs is cobra.ExactArgs whose error is a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// exitCode is the status the program ends with after err.
func exitCode(err error) int {
	var exit exitError
	var use usageError
	switch {
	case errors.As(err, &exit):
		return int(exit)
	case errors.As(err, &use):
		return exitUsage
	}
	return exitFailure
}
