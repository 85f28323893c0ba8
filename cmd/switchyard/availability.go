package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

func runAvailability(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("availability", "availability [flags] COMPONENT", stdout, stderr)
	var current, env, clientKey, language string
	var contextArgs listFlag
	fs.StringVar(&current, "current-version", "", "the version the client runs (required)")
	fs.StringVar(&clientKey, "client-key", "", "a client or SDK key, used instead of --token: its environment is asked")
	fs.StringVar(&env, "environment", "", "the environment to ask, with an admin token (with --project)")
	fs.StringVar(&language, "language", "", "the languages to read release notes in, as an Accept-Language value (de-CH, de;q=0.9, en;q=0.5)")
	fs.Var(&contextArgs, "context", "a context attribute, repeated: KEY=STRING, or KEY:=JSON for a number, bool or array (targetingKey=u1, age:=42)")
	args, err := arguments(fs, args, "COMPONENT")
	if err != nil {
		return err
	}
	switch {
	case clientKey != "":
		a.cc.Token = clientKey
	case a.cc.Token == "":
		return errors.New("availability: no key: pass --client-key (or an admin --token with --environment)")
	}
	if a.client, err = a.cc.client(); err != nil {
		return err
	}
	if current == "" {
		return errors.New("availability: --current-version is required")
	}
	evalCtx, err := parseContext(contextArgs)
	if err != nil {
		return err
	}
	body := map[string]any{"current_version": current, "context": evalCtx, "accept_language": language}
	if env != "" {
		body["project"], body["environment"] = a.project, env
	}
	var out pb.Availability
	err = a.fetch(ctx, http.MethodPost, "/api/v1/components/"+url.PathEscape(args[0])+"/availability", body, &out)
	var ae *apiError
	answered := errors.As(err, &ae) && protojson.Unmarshal(ae.Body, &out) == nil && out.GetErrorCode() != ""
	switch {
	case answered:
		a.raw = ae.Body
	case err != nil:
		return err
	}
	if err := a.show(func(w io.Writer) { writeAvailability(w, &out) }); err != nil {
		return err
	}
	if answered {
		return exitError(1)
	}
	return nil
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
func writeAvailability(w io.Writer, av *pb.Availability) {
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
