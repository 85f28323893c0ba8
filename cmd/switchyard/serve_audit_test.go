package main

import (
	"strings"
	"testing"
	"time"
)

func TestServeAuditRetention(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want time.Duration
		err  string // "" for valid
	}{
		{"default 400 days", nil, 400 * 24 * time.Hour, ""},
		{"a year", []string{"--audit-retention", "8760h"}, 8760 * time.Hour, ""},
		{"0 keeps everything", []string{"--audit-retention", "0"}, 0, ""},
		{"negative", []string{"--audit-retention", "-1h"}, -time.Hour, "--audit-retention"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultServeConfig()
			if err := cfg.flagSet().Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := cfg.validate()
			switch {
			case cfg.AuditRetention != tc.want:
				t.Errorf("AuditRetention(%v) = %s, want %s", tc.args, cfg.AuditRetention, tc.want)
			case tc.err == "" && err != nil:
				t.Errorf("validate(%v) = %v, want nil", tc.args, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("validate(%v) = %v, want an error naming %s", tc.args, err, tc.err)
			}
		})
	}
}

func TestServeAuditRetentionVariable(t *testing.T) {
	t.Setenv("SWITCHYARD_AUDIT_RETENTION", "720h")
	cfg, err := parseServeConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AuditRetention != 720*time.Hour {
		t.Errorf("AuditRetention = %s, want 720h from SWITCHYARD_AUDIT_RETENTION", cfg.AuditRetention)
	}
}
