package sdk_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

// BenchmarkGetterEvents measures a typed getter of a connected client with
// and without events: with them, every call records its exposure (a
// deduplication hit once the unit has been seen).
func BenchmarkGetterEvents(b *testing.B) {
	srv := servertest.Start(b, servertest.Options{})
	srv.Admin(b, "POST", "/api/v1/documents:import", releaseProject)
	users := make([]*sdk.Context, 100)
	for i := range users {
		users[i] = sdk.NewContext(fmt.Sprintf("user-%d", i)).String("country", "DE")
	}
	for _, disabled := range []bool{false, true} {
		name := "events"
		if disabled {
			name = "no-events"
		}
		b.Run(name, func(b *testing.B) {
			c := newClient(b, sdk.Config{Address: srv.GRPCAddr, SDKKey: srv.Creds.SDKKey,
				Events: sdk.EventsConfig{Disabled: disabled, FlushInterval: time.Hour}})
			waitReady(b, c)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.Bool("new-checkout", users[i%len(users)], false)
				i++
			}
		})
	}
}
