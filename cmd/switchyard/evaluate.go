package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// newEvaluateCmd is "switchyard evaluate": one flag for one context, as
// the server evaluates it.
func newEvaluateCmd(c *cli) *cobra.Command {
	var env, contextArg, sdkKey string
	cmd := &cobra.Command{
		Use:   "evaluate FLAG --context JSON|- (--environment E | --sdk-key KEY)",
		Short: "Evaluate a flag for a context: the variant, value, reason and matching rule",
		Long: `Evaluate a flag for a context (a JSON object: targetingKey and attributes;
- reads it from standard input) and print the variant, the value, the reason
and the rule that matched.

With an admin token (--token) name the environment (--environment) and the
project (--project); with a server SDK or client key (--sdk-key or
SWITCHYARD_SDK_KEY) they are the key's. The exit status is 1 when the
evaluation answers with an error code (FLAG_NOT_FOUND, INVALID_CONTEXT, …).`,
		Args:              argsNamed("FLAG"),
		ValidArgsFunction: c.completeArgs(kindFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			text := []byte(contextArg)
			if contextArg == "-" {
				var err error
				if text, err = io.ReadAll(cmd.InOrStdin()); err != nil {
					return fmt.Errorf("read the context from standard input: %w", err)
				}
			}
			var ctxValue structpb.Struct
			if err := (protojson.UnmarshalOptions{}).Unmarshal(text, &ctxValue); err != nil {
				return usageError{fmt.Errorf("--context: want a JSON object such as '{\"targetingKey\": \"user-1\"}'")}
			}
			req := &sdkpb.EvaluateRequest{Flag: args[0], Context: &ctxValue}
			cc := c.cc
			if sdkKey != "" {
				cc.Token = sdkKey
			} else {
				if env == "" {
					return usageError{fmt.Errorf("--environment is required with an admin token (or pass --sdk-key)")}
				}
				req.Project, req.Environment = c.project, env
			}
			api, err := cc.client()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := api.do(cmd.Context(), http.MethodPost, "/api/v1/evaluate", req, &raw); err != nil {
				return err
			}
			var res sdkpb.EvaluationResult
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("POST /api/v1/evaluate: decode answer: %w", err)
			}
			err = c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "flag\t%s\n", res.GetFlag())
				if res.GetErrorCode() != "" {
					fmt.Fprintf(w, "error\t%s\nmessage\t%s\n", res.GetErrorCode(), res.GetErrorMessage())
				}
				value := "-"
				if res.GetValue() != nil {
					value = jsonText(res.GetValue())
				}
				fmt.Fprintf(w, "variant\t%s\nvalue\t%s\nreason\t%s\nrule\t%s\n", orDash(res.GetVariant()), value, res.GetReason(), orDash(res.GetRule()))
				if res.GetExperiment() != "" {
					fmt.Fprintf(w, "experiment\t%s\n", res.GetExperiment())
				}
				fmt.Fprintf(w, "revision\t%d\n", res.GetRevision())
			})
			if err == nil && res.GetErrorCode() != "" {
				err = exitError(exitFailure)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&contextArg, "context", "{}", "the evaluation context, a JSON object; - reads it from standard input")
	fl.StringVarP(&env, "environment", "e", "", "the environment (with an admin token)")
	fl.StringVar(&sdkKey, "sdk-key", "", "evaluate as this server SDK or client key instead of the admin token")
	c.completeFlag(cmd, "environment", kindEnvironments)
	return cmd
}
