package server

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/syncer"
)

// TestToStatusSync pins the status of the sync hub's own error.
func TestToStatusSync(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	err := fmt.Errorf("join: %w", syncer.ErrClosed)
	if got := status.Code(toStatus(log, err)); got != codes.Unavailable {
		t.Errorf("toStatus(%v) = %v, want Unavailable", err, got)
	}
}
