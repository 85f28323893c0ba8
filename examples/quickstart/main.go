// Command quickstart evaluates a flag of a running Switchyard server with
// the Go SDK and prints every change:
//
//	switchyard serve --demo            # prints an SDK key once
//	SWITCHYARD_SDK_KEY=sys_... go run ./examples/quickstart
//
// Then change the flag over REST or the CLI and watch the output.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/switchyard/switchyard/sdk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	addr := os.Getenv("SWITCHYARD_GRPC_ADDR")
	if addr == "" {
		addr = "127.0.0.1:9090"
	}
	client, err := sdk.New(ctx, sdk.Config{
		Address:   addr,
		SDKKey:    os.Getenv("SWITCHYARD_SDK_KEY"),
		CacheFile: os.TempDir() + "/switchyard-quickstart.cache",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	defer client.Close()

	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.WaitReady(waitCtx); err != nil {
		fmt.Printf("not ready (status %s): %v; evaluating on what the client has\n", client.Status(), err)
	}

	user := sdk.NewContext("user-1").String("country", "DE").String("email", "ann@shop.example")
	show := func() {
		d := client.BoolDetail("new-checkout", user, false)
		fmt.Printf("revision %d: new-checkout = %v (variant %q, reason %s, rule %q%s)\n",
			d.Revision, d.Value, d.Variant, d.Reason, d.Rule, errorSuffix(d.ErrorCode))
	}
	show()
	client.OnChange(func(ch sdk.Change) {
		fmt.Printf("changed flags %v\n", ch.Flags)
		show()
	})
	client.OnStatusChange(func(s sdk.Status, err error) {
		fmt.Printf("status %s %v\n", s, err)
	})
	client.OnRelease(func(ev sdk.ReleaseEvent) {
		fmt.Printf("release %q: %s → %s (stage %d): %s\n", ev.Title, ev.From, ev.To, ev.Stage, ev.ReleaseNotes)
	})
	<-ctx.Done()
	return nil
}

func errorSuffix(code sdk.ErrorCode) string {
	if code == "" {
		return ""
	}
	return ", error " + string(code)
}
