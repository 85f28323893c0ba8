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

func (c *clientConfig) register(fs interface {
	StringVar(p *string, name, value, usage string)
}) {
	fs.StringVar(&c.Server, "server", "http://127.0.0.1:8080", "URL of the server's HTTP port")
	fs.StringVar(&c.Token, "token", "", "admin token")
	fs.StringVar(&c.TLS.CA, "tls-ca", "", "PEM CA bundle to trust for an https:// --server (default: the system's)")
	fs.StringVar(&c.TLS.Cert, "tls-cert", "", "PEM client certificate for a server that requires one (mutual TLS)")
	fs.StringVar(&c.TLS.Key, "tls-key", "", "PEM private key of --tls-cert")
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

func runValidate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", "validate FILE", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError(2)
	}
	doc, err := readDocument(fs.Arg(0), stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: valid (project %s: %d environments, %d segments, %d flags, %d components)\n",
		fs.Arg(0), doc.Project, len(doc.Environments), len(doc.Segments), len(doc.Flags), len(doc.Components))
	return nil
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cc clientConfig
	var prune, dryRun bool
	fs := newFlagSet("import", "import [flags] FILE", stderr)
	cc.register(fs)
	fs.BoolVar(&prune, "prune", false, "delete segments, flags, components and environments the document no longer has")
	fs.BoolVar(&dryRun, "dry-run", false, "validate on the server, change nothing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError(2)
	}
	doc, err := readDocument(fs.Arg(0), stderr)
	if err != nil {
		return err
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	out, err := importDocument(ctx, c, doc, prune, dryRun)
	if err != nil {
		return err
	}
	verb := "imported"
	if dryRun {
		verb = "would import"
	}
	fmt.Fprintf(stdout, "%s %s into project %s: %d created, %d updated, %d deleted, %d unchanged\n",
		verb, fs.Arg(0), doc.Project, out.Created, out.Updated, out.Deleted, out.Unchanged)
	return nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cc clientConfig
	project, format := "default", "yaml"
	fs := newFlagSet("export", "export [flags]", stderr)
	cc.register(fs)
	fs.StringVar(&project, "project", project, "project to export")
	fs.StringVar(&format, "format", format, "yaml or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if format != "yaml" && format != "json" {
		return fmt.Errorf("--format %q: want yaml or json", format)
	}
	c, err := cc.client()
	if err != nil {
		return err
	}
	return exportDocument(ctx, c, project, format, stdout)
}
