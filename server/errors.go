package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
	"github.com/switchyard/switchyard/internal/syncer"
)

// errFailedPrecondition marks a well-formed request that the current state
// refuses, e.g. withdrawing a version that targeting still serves.
var errFailedPrecondition = errors.New("failed precondition")

// toStatus is the one place where domain errors become gRPC statuses,
// matched by type (errors.Is/As). An invalid request carries every problem
// as a BadRequest field violation, so REST answers can name the offending
// field path. Only an error no case knows is Internal: logged, its text
// hidden.
func toStatus(log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var fes model.Errors
	var fe *model.FieldError
	var te *auth.ThrottledError
	var fz *release.FrozenError
	switch {
	case errors.As(err, &te):
		return throttledStatus(te)
	case errors.As(err, &fes):
		return invalid(fes...)
	case errors.As(err, &fe):
		return invalid(fe)
	case errors.Is(err, domain.ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, domain.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, domain.ErrAlreadyExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.As(err, &fz):
		return status.Error(codes.Aborted, err.Error())
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrCondition):
		// ErrCondition: another replica kept writing what this write read.
		return status.Error(codes.Aborted, err.Error())
	case errors.Is(err, errFailedPrecondition):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, domain.ErrFailedPrecondition):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, auth.ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, auth.ErrScopeMissing), errors.Is(err, syncer.ErrNotRelay):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, syncer.ErrClosed), errors.Is(err, syncer.ErrMaxAge):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, syncer.ErrUpgradeRequired):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, eventlog.ErrOverloaded), errors.Is(err, auth.ErrThrottled):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, domain.ErrSecretKey):
		// The server was started without the key of a stored secret.
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, domain.ErrClosed), errors.Is(err, domain.ErrLocked), errors.Is(err, domain.ErrCompacted),
		errors.Is(err, eventlog.ErrClosed), errors.Is(err, eventlog.ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	log.Error("internal error", "err", err)
	return status.Error(codes.Internal, "internal error")
}

// invalid is an INVALID_ARGUMENT status listing every field problem.
func invalid(fes ...*model.FieldError) error {
	msgs := make([]string, len(fes))
	br := &errdetails.BadRequest{}
	for i, fe := range fes {
		msgs[i] = fe.Error()
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: fe.Path, Description: fe.Message,
		})
	}
	st := status.New(codes.InvalidArgument, strings.Join(msgs, "; "))
	if withDetails, err := st.WithDetails(br); err == nil {
		st = withDetails
	}
	return st.Err()
}

// invalidField is an INVALID_ARGUMENT status for one field of a request.
func invalidField(path, format string, args ...any) error {
	return invalid(model.NewFieldError(path, format, args...))
}
