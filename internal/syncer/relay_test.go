package syncer_test

import (
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/syncer"
)

// relayHub is a hub without a source, as a relay has.
func relayHub(t *testing.T) *syncer.Hub {
	t.Helper()
	h, err := syncer.New(slog.New(slog.DiscardHandler), nil, syncer.Default())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// woken reports whether the stream's mailbox is marked, and clears it.
func woken(st *syncer.Stream) bool {
	select {
	case <-st.Wake():
		return true
	default:
		return false
	}
}

func TestRelayHubServesWhatIsPublished(t *testing.T) {
	h := relayHub(t)
	if _, err := h.Join("shop", "production", syncer.Info{KeyID: "k"}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("Join before any revision = %v, want ErrNotFound", err)
	}
	h.Publish(syncer.NewRevision("shop", "production", 3, nil))
	st, err := h.Join("shop", "production", syncer.Info{KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Leave(st)
	if got := st.Latest().Number; got != 3 {
		t.Errorf("Latest = %d, want 3", got)
	}
	h.Publish(syncer.NewRevision("shop", "production", 2, nil))
	if got := st.Latest().Number; got != 3 || woken(st) {
		t.Errorf("after publishing an older revision: Latest = %d (woken %v), want 3 and no wake", got, woken(st))
	}
	h.Publish(syncer.NewRevision("shop", "production", 4, nil))
	if got := st.Latest().Number; got != 4 || !woken(st) {
		t.Errorf("after publishing revision 4: Latest = %d, want 4 and a wake", got)
	}
	if c, err := h.Convergence("shop", "production", 0, 10); err != nil || c.Revision != 4 || c.Connected != 1 {
		t.Errorf("Convergence = %+v, %v, want revision 4 with one stream", c, err)
	}
}

func TestRelayHubKeySets(t *testing.T) {
	h := relayHub(t)
	h.Publish(syncer.NewRevision("shop", "production", 1, nil))
	st, err := h.Join("shop", "production", syncer.Info{KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Leave(st)
	ks := &sdkpb.KeySet{Project: "shop", Environment: "production", Keys: []*sdkpb.KeyHash{{Id: "k", Kind: "sdk", Hash: "00"}}}
	h.PublishKeys(ks)
	if !woken(st) || st.Keys().GetKeys() != ks {
		t.Fatalf("after PublishKeys: Keys = %v, want the set and a wake", st.Keys())
	}
	first := st.Keys()
	h.PublishKeys(&sdkpb.KeySet{Project: "shop", Environment: "production", Keys: []*sdkpb.KeyHash{{Id: "k", Kind: "sdk", Hash: "00"}}})
	if woken(st) || st.Keys() != first {
		t.Error("an equal key set woke the stream or replaced the message")
	}

	h.Revoke(func(id string) bool { return id != "k" })
	select {
	case <-st.Done():
		if !errors.Is(st.Err(), auth.ErrUnauthenticated) {
			t.Errorf("Err after Revoke = %v, want ErrUnauthenticated", st.Err())
		}
	default:
		t.Error("Revoke did not end the stream of the revoked key")
	}
}

func TestRelayHubAnnounce(t *testing.T) {
	h := relayHub(t)
	h.Publish(syncer.NewRevision("shop", "production", 5, nil))
	st, err := h.Join("shop", "production", syncer.Info{KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Leave(st)
	h.Announce("shop", "production", &sdkpb.ReleaseNotice{ReleaseId: "spring", Revision: 5})
	if !woken(st) {
		t.Error("Announce did not wake the stream")
	}
	if got := st.TakeNotices(5); len(got) != 1 || got[0].GetRelease().GetReleaseId() != "spring" {
		t.Errorf("TakeNotices = %v, want the spring notice", got)
	}
}

// TestKeySetOfAJoinIsCurrent creates a key while the environment has no
// stream: the next stream to join carries it in its key set.
func TestKeySetOfAJoinIsCurrent(t *testing.T) {
	f := newFixture(t)
	f.hub.Leave(f.join(t)) // the environment's hub has a key set and no stream
	f.update(t, func(tx *domain.Tx) error {
		_, err := tx.CreateAPIKey(domain.APIKey{Name: "late", Kind: domain.KindSDK, Project: "shop", Environment: "production", Hash: domain.HashSecret("sys_late")})
		return err
	})
	st := f.join(t)
	var names []string
	for _, k := range st.Keys().GetKeys().GetKeys() {
		names = append(names, k.GetName())
	}
	if !slices.Contains(names, "late") {
		t.Errorf("key set of a stream joined after the key was created = %v, want it to list late", names)
	}
}
