package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// DefaultAuditRetention is how long audit events are kept unless
// --audit-retention says otherwise: 400 days, past the year many audit
// regimes ask for.
const DefaultAuditRetention = 400 * 24 * time.Hour

// registerAuditFlags registers the serve flags of the audit log on fs.
func (c *serveConfig) registerAuditFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&c.AuditRetention, "audit-retention", c.AuditRetention,
		"how long audit events are kept (the leader deletes older ones hourly); 0 keeps every event")
}

// validateAudit checks the audit log settings.
func (c serveConfig) validateAudit() error {
	if c.AuditRetention < 0 {
		return fmt.Errorf("--audit-retention %s: must not be negative (0 keeps every event)", c.AuditRetention)
	}
	return nil
}
