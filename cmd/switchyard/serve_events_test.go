package main

import (
	"strings"
	"testing"
)

func TestServeEventsFlagsAreValidated(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // "" for valid
	}{
		{"default bbolt", nil, ""},
		{"nats with urls", []string{"--events", "nats", "--nats-url", "nats://a:4222,nats://b:4222", "--nats-replicas", "3"}, ""},
		{"unknown kind", []string{"--events", "kafka"}, "--events"},
		{"nats without url", []string{"--events", "nats"}, "--nats-url"},
		{"url without nats", []string{"--nats-url", "nats://a:4222"}, "--events nats"},
		{"replicas out of range", []string{"--events", "nats", "--nats-url", "nats://a:4222", "--nats-replicas", "7"}, "--nats-replicas"},
		{"cert without key", []string{"--events", "nats", "--nats-url", "nats://a:4222", "--nats-tls-cert", "c.pem"}, "--nats-tls-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultServeConfig()
			if err := cfg.flagSet().Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := cfg.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("validate(%v) = %v, want nil", tc.args, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("validate(%v) = %v, want an error naming %s", tc.args, err, tc.want)
			}
		})
	}
}

func TestServeEventsVariables(t *testing.T) {
	t.Setenv("SWITCHYARD_EVENTS", "nats")
	t.Setenv("SWITCHYARD_NATS_URL", "nats://a:4222")
	t.Setenv("SWITCHYARD_NATS_REPLICAS", "3")
	cfg, err := parseServeConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := cfg.Events; e.Kind != "nats" || e.NATSURL != "nats://a:4222" || e.NATSReplicas != 3 {
		t.Errorf("serve events config = %+v, want nats at nats://a:4222, 3 replicas, from the variables", e)
	}
}
