package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/switchyard/switchyard/internal/bootstrap"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// iosRelease releases ios-app 2.4.0 to staff, then to everyone, with
// notes in English (the default), German and French.
const iosRelease = `{"id": "ios-24", "environment": "production", "release_notes": "New checkout",
  "release_notes_by_language": {"de": "Neuer Checkout", "fr": "Nouveau paiement"},
  "items": [{"component": "ios-app", "version": "2.4.0"}],
  "plan": [{"name": "staff", "segments": ["staff"], "weight": 100000}, {"name": "all", "weight": 100000}]}`

// releaseNotesOf lists an answer's release notes as release@version/language:notes.
func releaseNotesOf(a *sdkpb.Availability) string {
	var out []string
	for _, n := range a.GetReleaseNotes() {
		out = append(out, n.GetRelease()+"@"+n.GetVersion()+"/"+n.GetLanguage()+":"+n.GetNotes())
	}
	return strings.Join(out, ",")
}

func TestAvailabilityCarriesTheReleaseNotesInTheClientsLanguage(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	client := rs.newKey(t, map[string]any{"name": "app", "kind": "client", "project": "default", "environment": "production"})
	rs.mustAdmin(t, "POST", "/api/v1/projects/default/releases", iosRelease)
	rs.mustAdmin(t, "POST", releasePath("ios-24", "start"), `{}`)

	get := func(key, accept string, q url.Values) *sdkpb.Availability {
		t.Helper()
		var extra []string
		if accept != "" {
			extra = []string{"Accept-Language", accept}
		}
		r := rs.availabilityGET(t, client, "ios-app", q, extra...)
		if r.status != http.StatusOK {
			t.Fatalf("availability = %d %s", r.status, r.body)
		}
		if !strings.Contains(r.header.Get("Vary"), "Accept-Language") {
			t.Errorf("Vary = %q, want Accept-Language in it", r.header.Get("Vary"))
		}
		return availabilityAnswer(t, r)
	}
	query := func(key string) url.Values {
		return url.Values{"current_version": {"2.3.0"}, "context.targetingKey": {key}}
	}
	tests := []struct {
		name, key, accept string
		q                 url.Values
		want              string
	}{
		{"staff in the running release, German first", "staff-1", "de-CH, en;q=0.5", nil, "ios-24@2.4.0/de:Neuer Checkout"},
		{"staff, French preferred over German by q", "staff-1", "de;q=0.4, fr;q=0.8", nil, "ios-24@2.4.0/fr:Nouveau paiement"},
		{"staff, a language without a translation: the default", "staff-1", "ja", nil, "ios-24@2.4.0/:New checkout"},
		{"staff, no language asked: the default", "staff-1", "", nil, "ios-24@2.4.0/:New checkout"},
		{"the query parameter wins over the header", "staff-1", "de", url.Values{"accept_language": {"fr"}}, "ios-24@2.4.0/fr:Nouveau paiement"},
		{"outside the audience: no release brought a version", "user-1", "de", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := query(tc.key)
			for k, v := range tc.q {
				q[k] = v
			}
			if got := releaseNotesOf(get(tc.key, tc.accept, q)); got != tc.want {
				t.Errorf("release notes = %q, want %q", got, tc.want)
			}
		})
	}

	grpcClient := sdkpb.NewAvailabilityServiceClient(rs.conn)
	ctx, err := structpb.NewStruct(map[string]any{"targetingKey": "staff-2"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := grpcClient.GetAvailability(rpcContext(client), &sdkpb.GetAvailabilityRequest{
		Component: "ios-app", CurrentVersion: "2.3.0", Context: ctx, AcceptLanguage: "fr-CA, de;q=0.5"})
	if err != nil {
		t.Fatal(err)
	}
	if got := releaseNotesOf(a); got != "ios-24@2.4.0/fr:Nouveau paiement" {
		t.Errorf("gRPC release notes = %q", got)
	}

	// Completed, the release's notes reach everyone it brought 2.4.0 to.
	rs.mustAdmin(t, "POST", releasePath("ios-24", "advance"), `{}`)
	rs.mustAdmin(t, "POST", releasePath("ios-24", "advance"), `{}`)
	if got := releaseNotesOf(get("user-1", "de", query("user-1"))); got != "ios-24@2.4.0/de:Neuer Checkout" {
		t.Errorf("after completion: release notes = %q", got)
	}
	up := url.Values{"current_version": {"2.4.0"}, "context.targetingKey": {"user-1"}}
	if got := releaseNotesOf(get("user-1", "de", up)); got != "" {
		t.Errorf("up to date: release notes = %q, want none", got)
	}
	de := rs.availabilityGET(t, client, "ios-app", query("user-1"), "Accept-Language", "de")
	fr := rs.availabilityGET(t, client, "ios-app", query("user-1"), "Accept-Language", "fr")
	if de.header.Get("ETag") == fr.header.Get("ETag") {
		t.Errorf("the German and French answers share the ETag %s", de.header.Get("ETag"))
	}
}

func TestReleaseNotesAndLanguagesAreValidated(t *testing.T) {
	rs := startRelServer(t, "", newRelClock(), bootstrap.Credentials{})
	rs.seed(t)
	client := rs.newKey(t, map[string]any{"name": "app", "kind": "client", "project": "default", "environment": "production"})
	r := rs.admin(t, "POST", "/api/v1/projects/default/releases",
		`{"id": "bad", "environment": "production", "release_notes": "n", "release_notes_by_language": {"not a tag": "x", "de": ""}}`)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `release.release_notes_by_language[\"not a tag\"]`) ||
		!strings.Contains(string(r.body), `release.release_notes_by_language[\"de\"]`) {
		t.Errorf("create with bad translations = %d %s, want 400 naming both", r.status, r.body)
	}
	q := url.Values{"current_version": {"2.3.0"}, "context.targetingKey": {"u"}}
	if r := rs.availabilityGET(t, client, "ios-app", q, "Accept-Language", "de;q=x"); r.status != http.StatusBadRequest || r.json(t)["field"] != "Accept-Language" {
		t.Errorf("a malformed Accept-Language = %d %s, want 400 naming it", r.status, r.body)
	}
	q.Set("accept_language", "??")
	if r := rs.availabilityGET(t, client, "ios-app", q); r.status != http.StatusBadRequest || r.json(t)["field"] != "accept_language" {
		t.Errorf("a malformed accept_language = %d %s, want 400 naming it", r.status, r.body)
	}
}
