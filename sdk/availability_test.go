package sdk_test

import (
	"slices"
	"testing"

	"github.com/switchyard/switchyard/sdk"
)

const componentsDoc = `
version: 1
project: shop
environments: [production]
segments:
  - {key: beta, include: [tester]}
components:
  - key: ios-app
    min_supported: 2.0.0
    versions:
      - {version: 2.0.0}
      - {version: 2.1.0, notes: "Security fix", required: true}
      - {version: 2.2.0, notes: "New checkout"}
      - {version: 2.3.0, notes: "Beta"}
    environments:
      production:
        rules: [{id: beta, segments: [beta], serve: {version: 2.3.0}}]
        default: {version: 2.2.0}
`

func TestAvailability(t *testing.T) {
	c := newClient(t, sdk.Config{Bootstrap: []byte(componentsDoc)})
	tests := []struct {
		name    string
		key     string
		unit    string
		current string
		version string
		update  sdk.Update
		notes   []string
		code    sdk.ErrorCode
	}{
		{"below a required version", "ios-app", "u1", "2.0.0", "2.2.0", sdk.UpdateRequired, []string{"2.1.0", "2.2.0"}, ""},
		{"optional", "ios-app", "u1", "2.1.0", "2.2.0", sdk.UpdateOptional, []string{"2.2.0"}, ""},
		{"up to date", "ios-app", "u1", "2.2.0", "2.2.0", sdk.UpdateNone, nil, ""},
		{"beta rule", "ios-app", "tester", "2.2.0", "2.3.0", sdk.UpdateOptional, []string{"2.3.0"}, ""},
		{"not a version", "ios-app", "u1", "two", "", "", nil, sdk.ErrorInvalidContext},
		{"unknown component", "android-app", "u1", "1.0.0", "", "", nil, sdk.ErrorFlagNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := c.Availability(tc.key, sdk.NewContext(tc.unit), tc.current)
			var notes []string
			for _, n := range a.Notes {
				notes = append(notes, n.Version)
			}
			if a.Version != tc.version || a.Update != tc.update || !slices.Equal(notes, tc.notes) || a.ErrorCode != tc.code {
				t.Errorf("Availability(%q, %s) = %+v, want version %q, update %q, notes %v, error %q",
					tc.key, tc.current, a, tc.version, tc.update, tc.notes, tc.code)
			}
		})
	}
}

func TestAvailabilityNotReady(t *testing.T) {
	c := newClient(t, sdk.Config{Address: "127.0.0.1:1", SDKKey: "k"})
	if a := c.Availability("ios-app", sdk.NewContext("u1"), "1.0.0"); a.ErrorCode != sdk.ErrorProviderNotReady {
		t.Errorf("Availability before any ruleset = %+v, want PROVIDER_NOT_READY", a)
	}
}
