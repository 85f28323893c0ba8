package domain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/model"
)

// ErrFailedPrecondition means the operation is not allowed in the
// resource's current state, e.g. deleting a flag that a release in
// progress serves, or advancing a release whose gate is closed.
var ErrFailedPrecondition = errors.New("failed precondition")

// PreconditionError is the error FailedPrecondition returns: the named
// resource refused an operation for Reason. It matches
// ErrFailedPrecondition.
type PreconditionError struct {
	Resource string
	Reason   string
}

// Error is "resource: failed precondition: reason".
func (e *PreconditionError) Error() string {
	return e.Resource + ": " + ErrFailedPrecondition.Error() + ": " + e.Reason
}

// Is reports whether target is ErrFailedPrecondition.
func (e *PreconditionError) Is(target error) bool { return target == ErrFailedPrecondition }

// FailedPrecondition returns a *PreconditionError about the named
// resource.
func FailedPrecondition(resource, format string, args ...any) error {
	return &PreconditionError{Resource: resource, Reason: fmt.Sprintf(format, args...)}
}

// Refused turns the model.Errors in err into a FailedPrecondition about
// the named resource that lists every problem after what; any other error
// is returned as it is.
func Refused(resource, what string, err error) error {
	var fes model.Errors
	if !errors.As(err, &fes) {
		return err
	}
	msgs := make([]string, len(fes))
	for i, fe := range fes {
		msgs[i] = fe.Error()
	}
	return FailedPrecondition(resource, "%s: %s", what, strings.Join(msgs, "; "))
}
