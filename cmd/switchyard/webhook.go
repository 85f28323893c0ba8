package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// webhookCommands are the commands of "switchyard webhook".
func webhookCommands() []subcommand {
	return []subcommand{
		{"deliveries", "list a webhook's latest deliveries with their states", runWebhookDeliveries},
		{"redeliver", "deliver the event of a finished delivery again, as a new delivery", runWebhookRedeliver},
	}
}

func runWebhook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runGroup(ctx, "webhook", webhookCommands(), args, stdout, stderr)
}

func runWebhookDeliveries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("webhook deliveries", "webhook deliveries [flags] WEBHOOK", stdout, stderr)
	limit := fs.Int("limit", 0, "at most this many deliveries, newest first (0: all kept)")
	args, err := a.parse(fs, args, "WEBHOOK")
	if err != nil {
		return err
	}
	var resp pb.ListWebhookDeliveriesResponse
	if err := a.fetch(ctx, http.MethodGet, a.path("webhooks", args[0], "deliveries")+fmt.Sprintf("?page_size=%d", *limit), nil, &resp); err != nil {
		return err
	}
	return a.show(func(w io.Writer) {
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
}

func runWebhookRedeliver(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, fs := newAPICommand("webhook redeliver", "webhook redeliver [flags] WEBHOOK DELIVERY", stdout, stderr)
	args, err := a.parse(fs, args, "WEBHOOK", "DELIVERY")
	if err != nil {
		return err
	}
	var out pb.WebhookDelivery
	if err := a.fetch(ctx, http.MethodPost, a.path("webhooks", args[0], "deliveries", args[1])+":redeliver", struct{}{}, &out); err != nil {
		return err
	}
	return a.show(func(w io.Writer) {
		fmt.Fprintf(w, "redelivering event %s (%s) as delivery %s: %s\n", out.GetEventId(), out.GetEventType(), out.GetId(), out.GetState())
	})
}
