package sdk_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/sdk"
	"github.com/switchyard/switchyard/server/servertest"
)

func TestRESTChangeReachesSDK(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", flagJSON("new-checkout"))
	setEnabled(t, srv, "new-checkout", false)

	c := connect(t, srv, srv.Creds.SDKKey)
	user := sdk.NewContext("user-1")
	if got := c.BoolDetail("new-checkout", user, true); got.Value || got.Variant != "off" || got.Reason != sdk.ReasonDisabled {
		t.Fatalf("BoolDetail before the change = %+v, want off/DISABLED", got)
	}

	var mu sync.Mutex
	var changes []sdk.Change
	c.OnChange(func(ch sdk.Change) {
		mu.Lock()
		changes = append(changes, ch)
		mu.Unlock()
	})
	setEnabled(t, srv, "new-checkout", true)
	eventually(t, "the change to reach the SDK", func() bool { return c.Bool("new-checkout", user, false) })

	got := c.BoolDetail("new-checkout", user, false)
	if got.Variant != "on" || got.Reason != sdk.ReasonStatic || got.Revision == 0 {
		t.Errorf("BoolDetail after the change = %+v, want on/STATIC with a revision", got)
	}
	eventually(t, "OnChange", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(changes) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	last := changes[len(changes)-1]
	if last.Revision != got.Revision || !slices.Equal(last.Flags, []string{"new-checkout"}) {
		t.Errorf("OnChange got %+v, want revision %d and flags [new-checkout]", last, got.Revision)
	}
	if st := c.Status(); st != sdk.StatusReady {
		t.Errorf("Status() = %s, want READY", st)
	}
}
