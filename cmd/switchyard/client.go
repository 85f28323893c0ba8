package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard/switchyard/internal/certs"
	"github.com/switchyard/switchyard/internal/model"
)

// clientConfig is how the client commands reach a running server.
type clientConfig struct {
	Server string
	Token  string
	// TLS is the CA to trust and the client certificate to present when
	// Server is an https:// URL.
	TLS certs.ClientFiles
}

// apiClient calls the REST admin API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func (c clientConfig) client() (*apiClient, error) {
	if c.Token == "" {
		return nil, errors.New("no admin token: pass --token or set SWITCHYARD_TOKEN")
	}
	u, err := url.Parse(c.Server)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not an http(s) URL", c.Server)
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	if c.TLS != (certs.ClientFiles{}) {
		if u.Scheme != "https" {
			return nil, fmt.Errorf("--tls-ca, --tls-cert and --tls-key need an https:// --server, not %q", c.Server)
		}
		cfg, err := certs.Client(c.TLS)
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg
		hc.Transport = tr
	}
	return &apiClient{base: strings.TrimRight(c.Server, "/"), token: c.Token, http: hc}, nil
}

// do sends a request and decodes a JSON answer into out; an error answer
// becomes an *apiError with the server's message. A body that is a
// protobuf message is encoded as the gateway expects (protojson, proto
// field names).
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		var data []byte
		var err error
		if m, ok := body.(proto.Message); ok {
			data, err = protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
		} else {
			data, err = json.Marshal(body)
		}
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	return c.send(c.http, req, out)
}

// send sends req with hc and decodes a JSON answer into out, as do.
func (c *apiClient) send(hc *http.Client, req *http.Request, out any) error {
	method, path := req.Method, strings.TrimPrefix(req.URL.String(), c.base)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{Method: method, Path: path, Status: resp.Status, Body: data}
		if json.Unmarshal(data, e) != nil {
			e.Message = ""
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// apiError is an error answer of the REST API.
type apiError struct {
	Method string `json:"-"`
	Path   string `json:"-"`
	// Status is the HTTP status line, e.g. "409 Conflict".
	Status string `json:"-"`
	// Body is the answer as the server sent it.
	Body []byte `json:"-"`
	// Code, Message and Details are the gateway's error body, when the
	// answer is one.
	Code    string `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Field       string `json:"field"`
		Description string `json:"description"`
	} `json:"details"`
}

// Error is the server's message with the offending fields, or the HTTP
// status when the answer carries no message.
func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s %s: %s", e.Method, e.Path, e.Status)
	}
	if len(e.Details) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%s:", e.Code)
		for _, d := range e.Details {
			fmt.Fprintf(&b, "\n  %s: %s", d.Field, d.Description)
		}
		return b.String()
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// readDocument parses and validates a document file, printing every
// problem with its path.
func readDocument(path string, stderr io.Writer) (*model.Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := model.Parse(data)
	if err == nil {
		err = model.Validate(doc)
	}
	var fes model.Errors
	if errors.As(err, &fes) {
		for _, fe := range fes {
			fmt.Fprintf(stderr, "%s: %s\n", path, fe)
		}
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", path, len(fes))
		return nil, exitError(1)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

func newValidateCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:               "validate FILE",
		Short:             "Check a document offline; prints every problem with its path",
		Long:              "Check a YAML or JSON document without a server. Every problem is printed on\nstandard error with its path, e.g. flags[0].environments.production.rules[1].id.",
		Example:           "  switchyard validate my-project.yaml",
		Args:              argsNamed("FILE"),
		ValidArgsFunction: c.completeArgs(kindFile),
		Annotations:       map[string]string{noProfile: "true"},
		RunE: func(_ *cobra.Command, args []string) error {
			doc, err := readDocument(args[0], c.stderr)
			if err != nil {
				return err
			}
			raw, _ := json.Marshal(map[string]any{"file": args[0], "valid": true, "project": doc.Project,
				"environments": len(doc.Environments), "segments": len(doc.Segments), "flags": len(doc.Flags), "components": len(doc.Components)})
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "%s: valid (project %s: %d environments, %d segments, %d flags, %d components)\n",
					args[0], doc.Project, len(doc.Environments), len(doc.Segments), len(doc.Flags), len(doc.Components))
			})
		},
	}
	withoutGlobalFlags(cmd, "output")
	return cmd
}

func newImportCmd(c *cli) *cobra.Command {
	var prune, dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Apply a YAML or JSON document to a running server",
		Long: `Apply a document to a running server in one transaction: all or nothing.
The document names its project (--project does not apply).`,
		Example: `  switchyard import my-project.yaml
  switchyard import --dry-run --prune my-project.yaml`,
		Args:              argsNamed("FILE"),
		ValidArgsFunction: c.completeArgs(kindFile),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := readDocument(args[0], c.stderr)
			if err != nil {
				return err
			}
			var out struct {
				Created   int `json:"created"`
				Updated   int `json:"updated"`
				Deleted   int `json:"deleted"`
				Unchanged int `json:"unchanged"`
			}
			body := map[string]any{"document": doc, "prune": prune, "dry_run": dryRun}
			raw, err := c.call(cmd.Context(), http.MethodPost, "/api/v1/documents:import", body, nil)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				return fmt.Errorf("import: decode answer: %w", err)
			}
			verb := "imported"
			if dryRun {
				verb = "would import"
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "%s %s into project %s: %d created, %d updated, %d deleted, %d unchanged\n",
					verb, args[0], doc.Project, out.Created, out.Updated, out.Deleted, out.Unchanged)
			})
		},
	}
	cmd.Flags().BoolVar(&prune, "prune", false, "delete segments, flags, components and environments the document no longer has")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate on the server, change nothing")
	return cmd
}

func newExportCmd(c *cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print a project's document from a running server",
		Long: `Print the document of --project as 'import' takes it: YAML, or JSON with
--output json.`,
		Example: `  switchyard export --project shop > shop.yaml
  switchyard export --project shop --output json`,
		Args: argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format == "" {
				format = c.output
			}
			switch format {
			case outputTable, outputYAML:
				format = outputYAML
			case outputJSON:
			default:
				return usageError{fmt.Errorf("--format %q: want yaml or json", format)}
			}
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path()+":export", nil, nil)
			if err != nil {
				return err
			}
			doc, err := model.Parse(raw)
			if err != nil {
				return fmt.Errorf("decode exported document: %w", err)
			}
			out, err := model.Encode(doc, format)
			if err != nil {
				return err
			}
			_, err = c.stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "yaml or json")
	cmd.Flags().MarkDeprecated("format", "use --output yaml|json")
	return cmd
}
