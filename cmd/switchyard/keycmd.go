package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newKeyCmd is "switchyard key": admin tokens, server SDK keys and client
// keys.
func newKeyCmd(c *cli) *cobra.Command {
	cmd := groupCmd("key", "API keys: create, list, revoke")
	cmd.AddCommand(newKeyCreateCmd(c), newKeyListCmd(c), newKeyRevokeCmd(c))
	return cmd
}

func newKeyCreateCmd(c *cli) *cobra.Command {
	var kind, role, principal, principalKind string
	var envs []string
	cmd := &cobra.Command{
		Use:   "create NAME --kind admin|sdk|client|relay [--role R] [--environment E]...",
		Short: "Create a key and print its secret, which is shown only this once",
		Long: `Create a key and print its secret, which is shown only this once.

An admin token (--kind admin) has a --role: admin, release-manager, editor
or viewer. A server SDK key (sdk) or client key (client) belongs to one
environment of --project; each --environment creates one key. A relay key
(relay) follows all the --environment of --project with one key. With
--output json or yaml the answer is the API's (key and secret), a list of
them when several keys were created.`,
		Args: argsNamed("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind == "admin" && len(envs) > 0 {
				return usageError{fmt.Errorf("--environment: an admin token belongs to no environment")}
			}
			var keys []*pb.ApiKey
			switch {
			case kind == "relay":
				keys = append(keys, &pb.ApiKey{Environments: envs})
			case len(envs) == 0:
				keys = append(keys, &pb.ApiKey{}) // an admin token; else the server says what is missing
			}
			for _, env := range envs {
				if kind != "relay" {
					keys = append(keys, &pb.ApiKey{Environment: env})
				}
			}
			var answers []json.RawMessage
			var created []*pb.CreateApiKeyResponse
			for _, key := range keys {
				key.Name, key.Kind, key.Role, key.Principal, key.PrincipalKind = args[0], kind, role, principal, principalKind
				if kind != "admin" {
					key.Project = c.project
				}
				var out pb.CreateApiKeyResponse
				raw, err := c.call(cmd.Context(), http.MethodPost, "/api/v1/keys", key, &out)
				if err != nil {
					return err
				}
				answers = append(answers, raw)
				created = append(created, &out)
			}
			raw := answers[0]
			if len(answers) > 1 {
				var err error
				if raw, err = json.Marshal(answers); err != nil {
					return err
				}
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tKIND\tROLE\tENVIRONMENT\tSECRET")
				for _, k := range created {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.GetKey().GetId(), k.GetKey().GetName(), k.GetKey().GetKind(),
						orDash(k.GetKey().GetRole()), orDash(keyScope(k.GetKey())), k.GetSecret())
				}
				fmt.Fprintln(w, "\nThe secret is shown only now: store it.")
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", "", "admin, sdk, client or relay")
	fl.StringVar(&role, "role", "", "an admin token's role: admin, release-manager, editor or viewer")
	fl.StringArrayVarP(&envs, "environment", "e", nil, "the environment of an sdk or client key, repeated for one key each")
	fl.StringVar(&principal, "principal", "", "the person or service holding the key (default: yours)")
	fl.StringVar(&principalKind, "principal-kind", "", "person or service (default: as your key)")
	c.completeFlag(cmd, "environment", kindEnvironments)
	return cmd
}

// keyScope is "project/environment" of an SDK or client key, "" for an
// admin token.
func keyScope(k *pb.ApiKey) string {
	switch {
	case k.GetProject() == "":
		return ""
	case len(k.GetEnvironments()) > 0:
		return k.GetProject() + "/" + strings.Join(k.GetEnvironments(), ",")
	}
	return k.GetProject() + "/" + k.GetEnvironment()
}

func newKeyListCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every key (never a secret)",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp pb.ListApiKeysResponse
			raw, err := c.listAll(cmd.Context(), "/api/v1/keys", "keys", &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tKIND\tROLE\tENVIRONMENT\tPRINCIPAL\tCREATED\tCREATED BY")
				for _, k := range resp.GetKeys() {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.GetId(), k.GetName(), k.GetKind(), orDash(k.GetRole()),
						orDash(keyScope(k)), orDash(k.GetPrincipal()), k.GetCreateTime().AsTime().UTC().Format(time.RFC3339), orDash(k.GetCreatedBy()))
				}
			})
		},
	}
}

func newKeyRevokeCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key: it is refused from now on",
		Args:  argsNamed("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := c.call(cmd.Context(), http.MethodDelete, "/api/v1/keys/"+url.PathEscape(args[0]), nil, nil)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) { fmt.Fprintf(w, "revoked key %s\n", args[0]) })
		},
	}
}
