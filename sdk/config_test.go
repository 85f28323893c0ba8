package sdk_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/sdk"
)

func TestConfigValidate(t *testing.T) {
	doc := []byte("version: 1\nproject: p\nenvironments: [production]\n")
	tests := []struct {
		name string
		cfg  sdk.Config
		ok   bool
	}{
		{"address and key", sdk.Config{Address: "127.0.0.1:9090", SDKKey: "k"}, true},
		{"bootstrap alone", sdk.Config{Bootstrap: doc}, true},
		{"nothing", sdk.Config{}, false},
		{"no key", sdk.Config{Address: "127.0.0.1:9090"}, false},
		{"negative backoff", sdk.Config{Address: "a:1", SDKKey: "k", Backoff: sdk.Backoff{Initial: -1}}, false},
		{"initial above max", sdk.Config{Address: "a:1", SDKKey: "k", Backoff: sdk.Backoff{Initial: time.Minute, Max: time.Second}}, false},
		{"environment without bootstrap", sdk.Config{Address: "a:1", SDKKey: "k", BootstrapEnvironment: "production"}, false},
		{"negative message size", sdk.Config{Address: "a:1", SDKKey: "k", MaxMessageBytes: -1}, false},
		{"negative event batch", sdk.Config{Address: "a:1", SDKKey: "k", Events: sdk.EventsConfig{BatchSize: -1}}, false},
		{"negative close timeout", sdk.Config{Address: "a:1", SDKKey: "k", Events: sdk.EventsConfig{CloseTimeout: -1}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestNewRefusesABadBootstrap(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		env  string
	}{
		{"not a document", "{", ""},
		{"invalid", "version: 1\nproject: p\nenvironments: [production]\nflags: [{key: f, type: nope}]\n", ""},
		{"two environments, none chosen", "version: 1\nproject: p\nenvironments: [a, b]\n", ""},
		{"unknown environment", "version: 1\nproject: p\nenvironments: [a]\n", "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sdk.New(context.Background(), sdk.Config{Bootstrap: []byte(tc.doc), BootstrapEnvironment: tc.env})
			if err == nil {
				c.Close()
				t.Error("New = nil error, want the bootstrap document refused")
			}
		})
	}
}

func TestTLSFilesRefusesMissingFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name           string
		ca, cert, key  string
		wantInTheError string
	}{
		{"missing CA", missing, "", "", "missing.pem"},
		{"certificate without key", "", missing, "", "key"},
		{"missing certificate", "", missing, missing, "missing.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := sdk.TLSFiles(tc.ca, tc.cert, tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.wantInTheError) {
				t.Errorf("TLSFiles(%q, %q, %q) = %v, %v; want an error with %q", tc.ca, tc.cert, tc.key, cfg, err, tc.wantInTheError)
			}
		})
	}
}

func TestTLSFilesSystemRootsByDefault(t *testing.T) {
	cfg, err := sdk.TLSFiles("", "", "")
	if err != nil || cfg == nil || cfg.RootCAs != nil || cfg.GetClientCertificate != nil {
		t.Errorf("TLSFiles(\"\", \"\", \"\") = %+v, %v; want a config with the system roots and no client certificate", cfg, err)
	}
}
