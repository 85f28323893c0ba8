package server_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/domain"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/server/servertest"
)

// relayKey creates a relay key for environments of the default project
// and returns its id and secret.
func relayKey(t *testing.T, srv *servertest.Server, envs ...string) (id, secret string) {
	t.Helper()
	resp := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": "edge-eu", "kind": "relay", "project": "default", "environments": envs,
	})
	key, _ := resp["key"].(map[string]any)
	id, _ = key["id"].(string)
	secret, _ = resp["secret"].(string)
	return id, secret
}

func TestCreateRelayKey(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	resp := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{
		"name": "edge-eu", "kind": "relay", "project": "default", "environments": []string{"production", "staging"},
	})
	secret, _ := resp["secret"].(string)
	if !strings.HasPrefix(secret, domain.PrefixRelay) {
		t.Errorf("secret = %q, want prefix %q", secret, domain.PrefixRelay)
	}
	key := resp["key"].(map[string]any)
	if got := key["environments"]; !slices.Equal(toStrings(got), []string{"production", "staging"}) {
		t.Errorf("key.environments = %v, want [production staging]", got)
	}
	if key["kind"] != "relay" {
		t.Errorf("key.kind = %v, want relay", key["kind"])
	}
}

func TestCreateRelayKeyRefusesBadInput(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantField  string
	}{
		{"no environments", map[string]any{"kind": "relay", "project": "default"}, http.StatusBadRequest, "key.environments"},
		{"no project", map[string]any{"kind": "relay", "environments": []string{"production"}}, http.StatusBadRequest, "key.project"},
		{"environment instead", map[string]any{"kind": "relay", "project": "default", "environment": "production"}, http.StatusBadRequest, "key.environment"},
		{"role", map[string]any{"kind": "relay", "project": "default", "environments": []string{"production"}, "role": "admin"}, http.StatusBadRequest, "key.role"},
		{"listed twice", map[string]any{"kind": "relay", "project": "default", "environments": []string{"production", "production"}}, http.StatusBadRequest, "key.environments[1]"},
		{"unknown environment", map[string]any{"kind": "relay", "project": "default", "environments": []string{"production", "moon"}}, http.StatusNotFound, ""},
		{"unknown project", map[string]any{"kind": "relay", "project": "nope", "environments": []string{"production"}}, http.StatusNotFound, ""},
		{"sdk key with environments", map[string]any{"kind": "sdk", "project": "default", "environment": "production", "environments": []string{"staging"}}, http.StatusBadRequest, "key.environments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := srv.Call(t, "POST", "/api/v1/keys", srv.Creds.AdminToken, tc.body)
			if r.Status != tc.wantStatus {
				t.Fatalf("POST /api/v1/keys = %d %s, want %d", r.Status, r.Body, tc.wantStatus)
			}
			if got := r.JSON(t)["field"]; tc.wantField != "" && got != tc.wantField {
				t.Errorf("field = %v, want %s", got, tc.wantField)
			}
		})
	}
	keys := srv.Admin(t, "GET", "/api/v1/keys", nil)["keys"].([]any)
	for _, k := range keys {
		if k.(map[string]any)["kind"] == "relay" {
			t.Errorf("a refused relay key was created: %v", k)
		}
	}
}

// A relay key may follow the sync streams of its environments and nothing
// else.
func TestRelayKeyMayOnlySync(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	_, secret := relayKey(t, srv, "production")

	for _, tc := range []struct{ method, path string }{
		{"POST", "/ofrep/v1/evaluate/flags"},
		{"POST", "/ofrep/v1/evaluate/flags/any"},
		{"GET", "/api/v1/keys"},
		{"GET", "/api/v1/projects/default/flags"},
		{"POST", "/api/v1/evaluate"},
	} {
		r := srv.Call(t, tc.method, tc.path+"?project=default&environment=production", secret, map[string]any{"context": map[string]any{"targetingKey": "u"}})
		if r.Status != http.StatusForbidden {
			t.Errorf("%s %s with a relay key = %d %s, want 403", tc.method, tc.path, r.Status, r.Body)
		}
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret)
	_, err := sdkpb.NewEvaluationServiceClient(srv.Conn).Evaluate(ctx, &sdkpb.EvaluateRequest{Project: "default", Environment: "production", Flag: "x"})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("Evaluate with a relay key = %v, want PermissionDenied", err)
	}

	// Another environment of the project is refused.
	s := syncStream(t, srv, secret, &sdkpb.Hello{SdkName: "relay", Project: "default", Environment: "staging"})
	if _, err := s.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Sync of staging with a production relay key = %v, want PermissionDenied", err)
	}
	// Its own is served, with the key set before the ruleset.
	s = syncStream(t, srv, secret, &sdkpb.Hello{SdkName: "relay", Project: "default", Environment: "production"})
	if rs := recvRuleset(t, s); rs.GetEnvironment() != "production" {
		t.Errorf("ruleset of %q, want production", rs.GetEnvironment())
	}
}

// An SDK key may not name another environment in its Hello.
func TestSyncSDKKeyNamesOnlyItsEnvironment(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	s := syncStream(t, srv, srv.Creds.SDKKey, &sdkpb.Hello{SdkName: "test", Project: "default", Environment: "staging"})
	if _, err := s.Recv(); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Sync naming staging with a production SDK key = %v, want PermissionDenied", err)
	}
}

// A relay key's stream carries the hashes of its environment's keys, never
// their secrets, and a revoked key is gone from the next key set.
func TestRelayStreamCarriesKeyHashes(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	_, secret := relayKey(t, srv, "production")
	clientSecret := keyOf(t, srv, "client", "production")
	stagingSecret := srv.SDKKey(t, "default", "staging")

	s := syncStream(t, srv, secret, &sdkpb.Hello{SdkName: "relay"})
	ks := recvKeys(t, s)
	hashes := map[string]string{}
	for _, k := range ks.GetKeys() {
		hashes[k.GetHash()] = k.GetKind()
		for _, secret := range []string{srv.Creds.SDKKey, clientSecret, secret, stagingSecret} {
			if strings.Contains(k.String(), secret) {
				t.Errorf("key set carries a secret: %v", k)
			}
		}
	}
	want := map[string]string{
		domain.HashSecret(srv.Creds.SDKKey): "sdk",
		domain.HashSecret(clientSecret):     "client",
		domain.HashSecret(secret):           "relay",
	}
	if !maps.Equal(hashes, want) {
		t.Errorf("key set hashes = %v, want %v (production's sdk, client and relay keys)", hashes, want)
	}

	// Revoke the client key: the next key set lacks it.
	clientID := keyIDByHash(t, srv, domain.HashSecret(clientSecret))
	srv.Admin(t, "DELETE", "/api/v1/keys/"+clientID, nil)
	ks = recvKeys(t, s)
	for _, k := range ks.GetKeys() {
		if k.GetId() == clientID {
			t.Errorf("revoked key %s still in the key set", clientID)
		}
	}
	if len(ks.GetKeys()) != 2 {
		t.Errorf("key set after revocation has %d keys, want 2", len(ks.GetKeys()))
	}
}

// A key set that changed goes out before the ruleset of a revision made
// after it: a commit that creates a key and changes a flag reaches a relay
// as the new key set, then the new ruleset.
func TestRelayStreamSendsKeysBeforeTheRevision(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	srv.Admin(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "x", "type": "bool"})
	_, secret := relayKey(t, srv, "production")
	s := syncStream(t, srv, secret, &sdkpb.Hello{SdkName: "relay", Project: "default", Environment: "production"})
	var first *sdkpb.KeySet
	for rs := (*sdkpb.Ruleset)(nil); first == nil || rs == nil; {
		resp, err := s.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		first, rs = cmp.Or(resp.GetKeys(), first), cmp.Or(resp.GetRuleset(), rs)
	}

	commit, err := srv.Store.Update(context.Background(), domain.Actor{Name: "test"}, func(tx *domain.Tx) error {
		if _, err := tx.CreateAPIKey(domain.APIKey{Name: "late", Kind: domain.KindSDK, Project: "default", Environment: "production", Hash: domain.HashSecret("late")}); err != nil {
			return err
		}
		return tx.SetFlagTargeting("default", "x", "production", &model.Targeting{Enabled: true}, "")
	})
	if err != nil {
		t.Fatal(err)
	}
	want := commit.Revisions[domain.EnvRef{Project: "default", Environment: "production"}]
	var got []string
	for len(got) < 2 {
		resp, err := s.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		switch {
		case resp.GetKeys() != nil:
			got = append(got, fmt.Sprintf("keys of %d", len(resp.GetKeys().GetKeys())))
		case resp.GetRuleset() != nil:
			got = append(got, fmt.Sprintf("ruleset %d", resp.GetRuleset().GetRevision()))
		}
	}
	if wantSeq := []string{fmt.Sprintf("keys of %d", len(first.GetKeys())+1), fmt.Sprintf("ruleset %d", want)}; !slices.Equal(got, wantSeq) {
		t.Errorf("messages after the commit = %v, want %v", got, wantSeq)
	}
}

// recvKeys receives messages until a key set, acknowledging rulesets.
func recvKeys(t *testing.T, s sdkpb.SyncService_SyncClient) *sdkpb.KeySet {
	t.Helper()
	for {
		resp, err := s.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if ks := resp.GetKeys(); ks != nil {
			return ks
		}
		if rs := resp.GetRuleset(); rs != nil {
			ack(t, s, rs.GetRevision())
		}
	}
}

func keyIDByHash(t *testing.T, srv *servertest.Server, hash string) string {
	t.Helper()
	k, ok := srv.Store.State().KeyByHash(hash)
	if !ok {
		t.Fatalf("no key with hash %s", hash)
	}
	return k.ID
}

func toStrings(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

// Deleting an environment revokes the relay keys that cover it, as it
// revokes its SDK and client keys.
func TestDeleteEnvironmentRevokesItsRelayKeys(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	_, both := relayKey(t, srv, "production", "staging")
	_, prodOnly := relayKey(t, srv, "production")
	srv.Admin(t, "DELETE", "/api/v1/projects/default/environments/staging", nil)
	if _, ok := srv.Store.State().KeyByHash(domain.HashSecret(both)); ok {
		t.Error("a relay key of the deleted environment survived")
	}
	if _, ok := srv.Store.State().KeyByHash(domain.HashSecret(prodOnly)); !ok {
		t.Error("a relay key of production only was revoked")
	}
}
