package sdk_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/switchyard/switchyard/sdk"
)

// A client that evaluates a document without a server: the bootstrap
// document alone (in production, it keeps the service working until the
// server answers).
func Example() {
	doc := []byte(`
version: 1
project: shop
environments: [production]
segments:
  - key: eu-users
    conditions: [{attribute: country, op: in, values: [DE, FR]}]
flags:
  - key: new-checkout
    type: bool
    environments:
      production:
        enabled: true
        rules: [{id: eu, segments: [eu-users], serve: {variant: "on"}}]
        default: {variant: "off"}
`)
	client, err := sdk.New(context.Background(), sdk.Config{Bootstrap: doc})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Prepare contexts once per request; evaluating them does not allocate.
	user := sdk.NewContext("user-1").String("country", "DE")
	fmt.Println(client.Bool("new-checkout", user, false))

	d := client.BoolDetail("new-checkout", sdk.NewContext("user-2").String("country", "US"), false)
	fmt.Println(d.Value, d.Variant, d.Reason, d.Rule)

	d = client.BoolDetail("no-such-flag", user, true)
	fmt.Println(d.Value, d.ErrorCode)
	// Output:
	// true
	// false off DEFAULT default
	// true FLAG_NOT_FOUND
}

// A client of a running server (`switchyard serve --demo` prints an SDK
// key): it returns at once and evaluates locally on the streamed ruleset.
func ExampleNew() {
	client, err := sdk.New(context.Background(), sdk.Config{
		Address:   "127.0.0.1:9090",
		SDKKey:    os.Getenv("SWITCHYARD_SDK_KEY"),
		CacheFile: "/var/cache/myservice/switchyard.cache", // evaluate at start even if the server is down
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Optional: wait for the server's ruleset (getters answer anyway).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.WaitReady(ctx); err != nil {
		log.Printf("switchyard not ready (%s): %v", client.Status(), err)
	}
	client.OnChange(func(ch sdk.Change) {
		log.Printf("revision %d changed %v", ch.Revision, ch.Flags)
	})

	user := sdk.ContextFromMap(map[string]any{"targetingKey": "user-1", "country": "DE", "plan": "pro"})
	if client.Bool("new-checkout", &user, false) {
		fmt.Println("new checkout")
	}
}
