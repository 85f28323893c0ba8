package release

import (
	"errors"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
)

// TestReason pins that a refused step's note carries the reason of the
// precondition error, found by type, and any other error whole.
func TestReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"precondition", domain.FailedPrecondition("release shop/r", "gate closed"), "gate closed"},
		{"wrapped precondition", fmt.Errorf("stage 2: %w", domain.FailedPrecondition("release shop/r", "gate closed")), "gate closed"},
		{"other error quoting the sentinel", errors.New("upstream: failed precondition: quota"), "upstream: failed precondition: quota"},
		{"plain", errors.New("waits for convergence"), "waits for convergence"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := reason(tc.err); got != tc.want {
				t.Errorf("reason(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
