package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newWebhookCRUDCmds returns the commands of "switchyard webhook" that
// list, create and delete webhooks.
func newWebhookCRUDCmds(c *cli) []*cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the project's webhooks",
		Args:  argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp pb.ListWebhooksResponse
			raw, err := c.listAll(cmd.Context(), c.path("webhooks"), "webhooks", &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				if len(resp.GetWebhooks()) == 0 {
					fmt.Fprintf(w, "no webhooks in %s\n", c.project)
					return
				}
				fmt.Fprintln(w, "WEBHOOK\tURL\tEVENTS\tSTATE\tDESCRIPTION")
				for _, h := range resp.GetWebhooks() {
					state := "enabled"
					if h.GetDisabled() {
						state = "disabled"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", h.GetId(), h.GetUrl(), orDash(strings.Join(h.GetEvents(), ",")), state, h.GetDescription())
				}
			})
		},
	}
	var id, url, secret, description string
	var events []string
	create := &cobra.Command{
		Use:   "create --url URL [--event TYPE]... [--secret S] [--id ID]",
		Short: "Create a webhook; without --secret one is made and printed, once",
		Long: `Create a webhook: the server POSTs each event of the project to --url,
signed with the secret. --event filters the events: "*", a kind and ".*"
(release.*, flag.*, segment.*) or one type (release.roll_back); none: every
event. Without --secret a random one is made and printed, only this once.`,
		Args: argsNamed(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			made := secret == ""
			if made {
				b := make([]byte, 32)
				rand.Read(b)
				secret = hex.EncodeToString(b)
			}
			h := &pb.Webhook{Id: id, Url: url, Secret: secret, Events: events, Description: description}
			var out pb.Webhook
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("webhooks"), h, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "created webhook %s to %s\n", out.GetId(), out.GetUrl())
				if made {
					fmt.Fprintf(w, "secret %s (shown only now: store it)\n", secret)
				}
			})
		},
	}
	fl := create.Flags()
	fl.StringVar(&url, "url", "", "where the events are POSTed: http or https")
	fl.StringArrayVar(&events, "event", nil, "an event filter, repeated (none: every event)")
	fl.StringVar(&secret, "secret", "", "the signing secret, 16 to 256 bytes (default: a random one, printed once)")
	fl.StringVar(&id, "id", "", "the webhook's ID (default: one the server makes)")
	fl.StringVar(&description, "description", "", "what the webhook is for")
	remove := newDeleteCmd(c, "webhook", "Delete a webhook", kindWebhooks, func(id string) string { return c.path("webhooks", id) })
	remove.Use = "delete ID"
	return []*cobra.Command{list, create, remove}
}
