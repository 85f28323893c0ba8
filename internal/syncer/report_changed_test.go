package syncer_test

import (
	"errors"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/syncer"
)

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// reportChanged returns the channel of the hub's report of shop/production.
func reportChanged(t *testing.T, h *syncer.Hub) <-chan struct{} {
	t.Helper()
	_, changed, err := h.Report("shop", "production")
	if err != nil {
		t.Fatalf("Report: %v", err)
	}
	return changed
}

func TestReportChangesOnlyWithTheStreams(t *testing.T) {
	h := relayHub(t)
	_, changed, err := h.Report("shop", "production")
	if !errors.Is(err, domain.ErrNotFound) || changed == nil {
		t.Fatalf("Report before any revision = %v with channel %v, want ErrNotFound and a channel", err, changed)
	}
	h.Publish(syncer.NewRevision("shop", "production", 1, nil))
	if !closed(changed) {
		t.Fatal("the first revision did not change the report")
	}

	// Nothing the report counts: a new revision, a key set, a notice, a
	// stream's wake.
	changed = reportChanged(t, h)
	h.Publish(syncer.NewRevision("shop", "production", 2, nil))
	h.PublishKeys(&sdkpb.KeySet{Project: "shop", Environment: "production", Keys: []*sdkpb.KeyHash{{Id: "k"}}})
	h.Announce("shop", "production", &sdkpb.ReleaseNotice{Revision: 2})
	if closed(changed) {
		t.Fatal("the report changed without a change of its streams")
	}

	sdkStream, err := h.Join("shop", "production", syncer.Info{KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if !closed(changed) {
		t.Fatal("a stream joined: the report did not change")
	}
	changed = reportChanged(t, h)
	sdkStream.MarkSent(sdkStream.Latest())
	sdkStream.Ack(2)
	if !closed(changed) {
		t.Fatal("an SDK acknowledged a revision: the report did not change")
	}
	changed = reportChanged(t, h)
	sdkStream.Ack(2)
	sdkStream.Ack(1)
	if closed(changed) {
		t.Fatal("an acknowledgement of no newer revision changed the report")
	}

	relayStream, err := h.Join("shop", "production", syncer.Info{KeyID: "k", Relay: "edge"})
	if err != nil {
		t.Fatal(err)
	}
	changed = reportChanged(t, h)
	relayStream.MarkSent(relayStream.Latest())
	relayStream.Ack(2)
	if closed(changed) {
		t.Fatal("a relay's own acknowledgement changed the report")
	}
	if err := relayStream.SetReport(&sdkpb.RelayReport{Acked: []*sdkpb.RevisionStreams{{Revision: 2, Streams: 4}}}); err != nil {
		t.Fatal(err)
	}
	if !closed(changed) {
		t.Fatal("a relay behind reported: the report did not change")
	}
	changed = reportChanged(t, h)
	h.Leave(sdkStream)
	if !closed(changed) {
		t.Fatal("a stream left: the report did not change")
	}
	h.Leave(relayStream)
}
