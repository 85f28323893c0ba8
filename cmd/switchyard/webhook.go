package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// newWebhookCmd is "switchyard webhook": webhooks and their deliveries.
func newWebhookCmd(c *cli) *cobra.Command {
	cmd := groupCmd("webhook", "Webhooks and their deliveries: list, create, delete, deliveries, redeliver",
		newWebhookDeliveriesCmd(c), newWebhookRedeliverCmd(c))
	cmd.AddCommand(newWebhookCRUDCmds(c)...)
	return cmd
}

func newWebhookDeliveriesCmd(c *cli) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:               "deliveries WEBHOOK",
		Short:             "List a webhook's latest deliveries with their states",
		Example:           "  switchyard webhook deliveries --project shop ops --limit 20",
		Args:              argsNamed("WEBHOOK"),
		ValidArgsFunction: c.completeArgs(kindWebhooks),
		RunE: func(cmd *cobra.Command, args []string) error {
			var resp pb.ListWebhookDeliveriesResponse
			raw, err := c.call(cmd.Context(), http.MethodGet, c.path("webhooks", args[0], "deliveries")+fmt.Sprintf("?page_size=%d", limit), nil, &resp)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintln(w, "DELIVERY\tEVENT\tTYPE\tSTATE\tATTEMPTS\tNEXT RETRY\tREDELIVERY OF\tLAST ERROR")
				for _, d := range resp.GetDeliveries() {
					next := "-"
					if d.GetNextRetryTime() != nil {
						next = d.GetNextRetryTime().AsTime().Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.GetId(), d.GetEventId(), d.GetEventType(), d.GetState(),
						len(d.GetAttempts()), next, orDash(d.GetRedeliveryOf()), d.GetLastError())
				}
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many deliveries, newest first (0: all kept)")
	return cmd
}

func newWebhookRedeliverCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:               "redeliver WEBHOOK DELIVERY",
		Short:             "Deliver the event of a finished delivery again, as a new delivery",
		Example:           "  switchyard webhook redeliver --project shop ops 01J…",
		Args:              argsNamed("WEBHOOK", "DELIVERY"),
		ValidArgsFunction: c.completeArgs(kindWebhooks),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out pb.WebhookDelivery
			raw, err := c.call(cmd.Context(), http.MethodPost, c.path("webhooks", args[0], "deliveries", args[1])+":redeliver", struct{}{}, &out)
			if err != nil {
				return err
			}
			return c.print(raw, func(w io.Writer) {
				fmt.Fprintf(w, "redelivering event %s (%s) as delivery %s: %s\n", out.GetEventId(), out.GetEventType(), out.GetId(), out.GetState())
			})
		},
	}
}
