package model

import (
	"fmt"
	"strings"
)

// FieldError is one problem in a document: the path of the offending field,
// such as "flags[2].environments.production.rules[0].serve.rollout", and
// what is wrong with it. An empty Path means the document as a whole.
type FieldError struct {
	Path    string
	Message string
}

// NewFieldError returns a FieldError at path whose message is formatted
// from format and args as by fmt.Sprintf.
func NewFieldError(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Message: fmt.Sprintf(format, args...)}
}

// Error returns "path: message", or just the message when the path is
// empty.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Errors is every problem found in a document, in the order they were
// found. Parse and Validate return their problems as an Errors value; get
// it with errors.As. An Errors value returned as an error is never empty.
type Errors []*FieldError

// Error lists every problem, one per line.
func (errs Errors) Error() string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the problems as individual errors, so that errors.As can
// reach a single *FieldError.
func (errs Errors) Unwrap() []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// add appends a problem at path.
func (errs *Errors) add(path, format string, args ...any) {
	*errs = append(*errs, NewFieldError(path, format, args...))
}

// err returns errs as an error, or nil when there are none.
func (errs Errors) err() error {
	if len(errs) == 0 {
		return nil
	}
	return errs
}
