package openfeature_test

import (
	"context"
	"fmt"
	"log"
	"os"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/switchyard/switchyard/sdk"
	swof "github.com/switchyard/switchyard/sdk/openfeature"
)

// An application that evaluates through OpenFeature: the provider creates
// the Switchyard client at initialization and closes it at shutdown.
func Example() {
	provider := swof.New(sdk.Config{
		Address: "127.0.0.1:9090",
		SDKKey:  os.Getenv("SWITCHYARD_SDK_KEY"),
	})
	// Waits for the server's rules (at most swof.DefaultInitTimeout).
	if err := of.SetProviderAndWait(provider); err != nil {
		log.Printf("switchyard: %v (evaluating on what the client has)", err)
	}
	defer of.Shutdown() // closes the client, sending its queued events

	client := of.NewClient("checkout")
	client.AddHandler(of.ProviderConfigChange, ptr(func(d of.EventDetails) {
		log.Printf("flags changed: %v", d.FlagChanges)
	}))

	ctx := context.Background()
	user := of.NewEvaluationContext("user-1", map[string]any{"country": "DE", "plan": "pro"})
	d, err := client.BooleanValueDetails(ctx, "new-checkout", false, user)
	if err != nil {
		log.Printf("new-checkout: %v", err) // the default was served
	}
	fmt.Println(d.Value, d.Variant, d.Reason)
	client.Track(ctx, "checkout-completed", user, of.NewTrackingEventDetails(42.5))
}

func ptr[T any](v T) *T { return &v }
