package model

import (
	"errors"
	"fmt"
	"testing"
)

func TestFieldErrorError(t *testing.T) {
	tests := []struct {
		name string
		err  *FieldError
		want string
	}{
		{name: "with path", err: NewFieldError("flags[2].key", "duplicate flag %q", "a"), want: `flags[2].key: duplicate flag "a"`},
		{name: "without path", err: NewFieldError("", "empty document"), want: "empty document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrorsError(t *testing.T) {
	errs := Errors{NewFieldError("version", "unsupported version 2, want 1"), NewFieldError("project", "required")}
	want := "version: unsupported version 2, want 1\nproject: required"
	if got := errs.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorsAs(t *testing.T) {
	_, err := Parse([]byte("version: 1\nproject: p\nflgas: []\n"))
	wrapped := fmt.Errorf("import shop.yaml: %w", err)
	var errs Errors
	if !errors.As(wrapped, &errs) || len(errs) != 1 || errs[0].Path != "flgas" {
		t.Errorf("errors.As(%v, *Errors) = %v, want one problem at flgas", wrapped, errs)
	}
	var field *FieldError
	if !errors.As(wrapped, &field) || field.Path != "flgas" {
		t.Errorf("errors.As(%v, **FieldError) = %v, want the problem at flgas", wrapped, field)
	}
}
