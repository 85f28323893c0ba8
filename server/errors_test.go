package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
)

// TestToStatus pins the error → status boundary: wrapped domain errors map
// to their codes, anything unknown to Internal without its text.
func TestToStatus(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	wrap := func(err error) error { return fmt.Errorf("component shop/app: %w", err) }
	tests := []struct {
		name string
		err  error
		want codes.Code
	}{
		{"field error", wrap(model.NewFieldError("version.version", "bad")), codes.InvalidArgument},
		{"field errors", wrap(model.Errors{model.NewFieldError("a", "bad")}), codes.InvalidArgument},
		{"not found", wrap(store.ErrNotFound), codes.NotFound},
		{"already exists", wrap(store.ErrAlreadyExists), codes.AlreadyExists},
		{"stale etag", wrap(store.ErrConflict), codes.Aborted},
		{"failed precondition", wrap(errFailedPrecondition), codes.FailedPrecondition},
		{"store failed precondition", wrap(store.ErrFailedPrecondition), codes.FailedPrecondition},
		{"unauthenticated", wrap(auth.ErrUnauthenticated), codes.Unauthenticated},
		{"permission denied", wrap(auth.ErrPermissionDenied), codes.PermissionDenied},
		{"scope missing", wrap(auth.ErrScopeMissing), codes.InvalidArgument},
		{"canceled", wrap(context.Canceled), codes.Canceled},
		{"event queue full", wrap(store.ErrOverloaded), codes.ResourceExhausted},
		{"store closed", wrap(store.ErrClosed), codes.Unavailable},
		{"status passes through", status.Error(codes.OutOfRange, "x"), codes.OutOfRange},
		{"unknown", errors.New("disk on fire"), codes.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := status.Convert(toStatus(log, tc.err))
			if got.Code() != tc.want {
				t.Errorf("toStatus(%v) = %v, want %v", tc.err, got.Code(), tc.want)
			}
			if tc.want == codes.Internal && got.Message() != "internal error" {
				t.Errorf("toStatus(%v) message = %q, want it hidden", tc.err, got.Message())
			}
		})
	}
}
