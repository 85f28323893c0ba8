package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

func newAvailabilityCmd(c *cli) *cobra.Command {
	var current, env, clientKey, language string
	var contextArgs []string
	cmd := &cobra.Command{
		Use:   "availability COMPONENT",
		Short: "The version available to a client, and whether to update",
		Long: `Ask what a client of COMPONENT that runs --current-version should run, as the
client would: with its client or SDK key (--client-key), or with an admin
--token for --project and --environment. Exits with status 1 when the server
answers with an error code (e.g. an unknown component).`,
		Example: `  switchyard availability ios-app --client-key $CLIENT_KEY --current-version 2.3.1 \
    --context targetingKey=user-7 --context country=DE`,
		Args:              argsNamed("COMPONENT"),
		ValidArgsFunction: c.completeArgs(kindComponents),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case clientKey != "":
				c.cc.Token = clientKey
			case c.cc.Token == "":
				return usageError{errors.New("availability: no key: pass --client-key (or an admin --token with --environment)")}
			}
			if current == "" {
				return usageError{errors.New("availability: --current-version is required")}
			}
			evalCtx, err := parseContext(contextArgs)
			if err != nil {
				return usageError{err}
			}
			body := map[string]any{"current_version": current, "context": evalCtx, "accept_language": language}
			if env != "" {
				body["project"], body["environment"] = c.project, env
			}
			var out sdkpb.Availability
			raw, err := c.call(cmd.Context(), http.MethodPost, "/api/v1/components/"+url.PathEscape(args[0])+"/availability", body, &out)
			var ae *apiError
			answered := errors.As(err, &ae) && protojson.Unmarshal(ae.Body, &out) == nil && out.GetErrorCode() != ""
			switch {
			case answered:
				raw = ae.Body
			case err != nil:
				return err
			}
			if err := c.print(raw, func(w io.Writer) { writeAvailability(w, &out) }); err != nil {
				return err
			}
			if answered {
				return exitError(exitFailure)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&current, "current-version", "", "the version the client runs (required)")
	fs.StringVar(&clientKey, "client-key", "", "a client or SDK key, used instead of --token: its environment is asked")
	fs.StringVar(&env, "environment", "", "the environment to ask, with an admin token (with --project)")
	c.completeFlag(cmd, "environment", kindEnvironments)
	fs.StringVar(&language, "language", "", "the languages to read release notes in, as an Accept-Language value (de-CH, de;q=0.9, en;q=0.5)")
	fs.StringArrayVar(&contextArgs, "context", nil, "a context attribute, repeated: KEY=STRING, or KEY:=JSON for a number, bool or array (targetingKey=u1, age:=42)")
	return cmd
}

// parseContext builds an evaluation context from --context values.
func parseContext(args []string) (map[string]any, error) {
	out := map[string]any{}
	for _, s := range args {
		if k, raw, ok := strings.Cut(s, ":="); ok && k != "" && !strings.Contains(k, "=") {
			var v any
			if err := json.Unmarshal([]byte(raw), &v); err != nil {
				return nil, fmt.Errorf("--context %q: %s is not JSON: %w", s, raw, err)
			}
			out[k] = v
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--context %q: want KEY=STRING or KEY:=JSON", s)
		}
		out[k] = v
	}
	return out, nil
}

// writeAvailability writes an availability answer as fields, one a line.
func writeAvailability(w io.Writer, av *sdkpb.Availability) {
	field := func(name, value string) { fmt.Fprintf(w, "%s\t%s\n", name, value) }
	field("component", av.GetComponent())
	if av.GetErrorCode() != "" {
		field("error", av.GetErrorCode()+": "+av.GetErrorMessage())
		return
	}
	field("version", orDash(av.GetVersion()))
	field("update", av.GetUpdate())
	reason := av.GetReason()
	if av.GetRule() != "" {
		reason += " (rule " + av.GetRule() + ")"
	}
	field("reason", reason)
	field("revision", fmt.Sprint(av.GetRevision()))
	for i, n := range av.GetNotes() {
		name := ""
		if i == 0 {
			name = "notes"
		}
		field(name, n.GetVersion()+"  "+n.GetNotes())
	}
	writeReleaseNotes(w, av.GetReleaseNotes())
}
