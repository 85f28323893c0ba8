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
	"slices"
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
	// profile names the profile of the CLI config file to use;
	// configFile is that file when not the default (see configPath).
	profile    string
	configFile string
	// given holds the names of the flags the command line set.
	given  map[string]bool
	stdout io.Writer
	stderr io.Writer
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
running server. The client flags (--server, --token, --tls-*, --project) come
from, first to last: the command line, SWITCHYARD_<FLAG> variables, the
profile (see 'switchyard profile'), the default. --output (-o) prints a
table, or the API's answer as json or yaml. 'switchyard completion SHELL'
prints the completion script of bash, zsh or fish.

Errors go to standard error. Exit status: 0 on success, 1 when the command
failed (the server refused, a file is invalid, …), 2 when the command line
is wrong (unknown command or flag, missing argument, bad flag value).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return c.prepare(cmd)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if cmd != root {
			err = fmt.Errorf("%s: %w", commandName(cmd), err)
		}
		return usageError{err}
	})

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
	pf.StringVar(&c.profile, "profile", "", "profile of the CLI config file to use (default: its current one); see 'switchyard profile'")
	pf.StringVar(&c.configFile, "cli-config", "", "CLI config file of the profiles (default: $XDG_CONFIG_HOME/switchyard/config.yaml or ~/.config/switchyard/config.yaml)")

	root.AddCommand(
		newServeCmd(c),
		newImportCmd(c),
		newExportCmd(c),
		newValidateCmd(c),
		newReleaseCmd(c),
		newModelCmd(c),
		newVersionCmd(c),
		newAvailabilityCmd(c),
		newExperimentCmd(c),
		newMetricCmd(c),
		newWebhookCmd(c),
		newSegmentCmd(c),
		newFlagCmd(c),
		newProfileCmd(c),
		newFreezeCmd(c), newCalendarCmd(c),
		newRelayCmd(c),
	)
	c.completeFlag(root, "project", kindProjects)
	root.RegisterFlagCompletionFunc("profile", c.completeProfiles)
	// Help and completion scripts need no server: no profile applies.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() == "help" || cmd.Name() == "completion" {
			for _, sub := range append(cmd.Commands(), cmd) {
				sub.Annotations = map[string]string{noProfile: "true"}
			}
		}
	}
	root.AddCommand(newResourceCmds(c)...)
	return root, c
}

// groupCmd returns a command that only holds subcommands. Run without
// one, or with one it does not have, it is a usage error.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: noCommand}
	run := func(cmd *cobra.Command, _ []string) error {
		names := make([]string, 0, len(cmd.Commands()))
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		return usageError{fmt.Errorf("%s: missing command (one of %s); see '%s --help'",
			commandName(cmd), strings.Join(names, ", "), cmd.CommandPath())}
	}
	cmd.RunE = run
	cmd.AddCommand(subs...)
	// The usage shows "switchyard release [command]" alone: the group
	// runs only to report a missing or unknown command. Its subcommands
	// inherit this function, which passes them on.
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		if c == cmd {
			cmd.RunE = nil
			defer func() { cmd.RunE = run }()
		}
		return cmd.Parent().UsageFunc()(c)
	})
	return cmd
}

// withoutGlobalFlags leaves the flags cmd inherits out of its usage, but
// those named keep: cmd reaches no server, so the client's do not apply.
func withoutGlobalFlags(cmd *cobra.Command, keep ...string) {
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		if c == cmd {
			var hidden []*pflag.Flag
			cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) {
				if !f.Hidden && !slices.Contains(keep, f.Name) {
					f.Hidden = true
					hidden = append(hidden, f)
				}
			})
			defer func() {
				for _, f := range hidden {
					f.Hidden = false
				}
			}()
		}
		return cmd.Parent().UsageFunc()(c)
	})
}

// noCommand refuses arguments, as an unknown command of cmd.
func noCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s: unknown command %q", commandName(cmd), args[0])
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
	}
	return usageError{fmt.Errorf("%s; see '%s --help'", msg, cmd.CommandPath())}
}

// commandName is cmd's path without the program's name: "release start".
func commandName(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// argsNamed checks a command's arguments against names: one for each
// name, except that a name in brackets, such as "[ID]", is optional (and
// last). Its errors are usage errors naming the command and the argument.
func argsNamed(names ...string) cobra.PositionalArgs {
	required := 0
	for _, n := range names {
		if !strings.HasPrefix(n, "[") {
			required++
		}
	}
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < required:
			return usageError{fmt.Errorf("%s: missing %s", commandName(cmd), names[len(args)])}
		case len(args) > len(names):
			return usageError{fmt.Errorf("%s: unexpected argument %q", commandName(cmd), args[len(names)])}
		}
		return nil
	}
}

// prepare fills the flags the command line did not set from SWITCHYARD_*
// variables, then the client flags still unset from the profile (unless
// cmd is annotated noProfile), and checks --output. It runs before every
// command.
func (c *cli) prepare(cmd *cobra.Command) error {
	if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
		return nil // the completion functions prepare the command completed
	}
	if err := c.fromEnvironment(cmd); err != nil {
		return err
	}
	if cmd.Annotations[noProfile] == "" {
		if err := c.applyProfile(cmd); err != nil {
			return err
		}
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

// yaml11Bool are the words YAML 1.1 reads as booleans, lower-cased.
var yaml11Bool = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true, "true": true, "false": true}

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
		// yaml.v3 quotes a string that YAML 1.2 would read as another
		// type; YAML 1.1 readers also read these words as booleans.
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && yaml11Bool[strings.ToLower(n.Value)] {
			n.Style = yaml.DoubleQuotedStyle
		}
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

// fromEnvironment notes the flags the command line set, then sets those
// it did not from their SWITCHYARD_* variables.
func (c *cli) fromEnvironment(cmd *cobra.Command) error {
	c.given = map[string]bool{}
	cmd.Flags().Visit(func(f *pflag.Flag) { c.given[f.Name] = true })
	var bad error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || bad != nil {
			return
		}
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			// Set through the flag set so that the flag counts as given:
			// a config file or profile does not override it.
			if err := cmd.Flags().Set(f.Name, v); err != nil {
				bad = usageError{fmt.Errorf("%s=%q: %w", name, v, err)}
			}
		}
	})
	return bad
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
