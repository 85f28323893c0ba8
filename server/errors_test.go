package server

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eventlog"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
	"github.com/switchyard/switchyard/internal/syncer"
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
		{"not found", wrap(domain.ErrNotFound), codes.NotFound},
		{"already exists", wrap(domain.ErrAlreadyExists), codes.AlreadyExists},
		{"stale etag", wrap(domain.ErrConflict), codes.Aborted},
		{"failed precondition", wrap(errFailedPrecondition), codes.FailedPrecondition},
		{"store failed precondition", wrap(domain.ErrFailedPrecondition), codes.FailedPrecondition},
		{"unauthenticated", wrap(auth.ErrUnauthenticated), codes.Unauthenticated},
		{"permission denied", wrap(auth.ErrPermissionDenied), codes.PermissionDenied},
		{"scope missing", wrap(auth.ErrScopeMissing), codes.InvalidArgument},
		{"canceled", wrap(context.Canceled), codes.Canceled},
		{"event queue full", wrap(eventlog.ErrOverloaded), codes.ResourceExhausted},
		{"store closed", wrap(domain.ErrClosed), codes.Unavailable},
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

// domainErrorPackages are the packages whose exported sentinels and typed
// errors TestToStatusCoversEveryDomainError walks.
var domainErrorPackages = []string{"domain", "model", "release", "experiment", "auth", "syncer", "eventlog"}

// TestToStatusCoversEveryDomainError walks every exported sentinel (a
// package-level Err… variable) and every exported error type of the domain
// packages, read from their source, and checks the gRPC code and HTTP
// status each maps to: none is Internal/500. A new error without a row
// here fails the test.
func TestToStatusCoversEveryDomainError(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	wrap := func(err error) error { return fmt.Errorf("flag shop/x: %w", err) }
	tests := map[string]struct {
		err  error
		code codes.Code
		http int
	}{
		"domain.ErrNotFound":            {domain.ErrNotFound, codes.NotFound, http.StatusNotFound},
		"domain.ErrAlreadyExists":       {domain.ErrAlreadyExists, codes.AlreadyExists, http.StatusConflict},
		"domain.ErrConflict":            {domain.ErrConflict, codes.Aborted, http.StatusConflict},
		"domain.ErrCondition":           {domain.ErrCondition, codes.Aborted, http.StatusConflict},
		"domain.ErrCompacted":           {domain.ErrCompacted, codes.Unavailable, http.StatusServiceUnavailable},
		"domain.ErrInvalid":             {domain.ErrInvalid, codes.InvalidArgument, http.StatusBadRequest},
		"domain.ErrTooLarge":            {domain.ErrTooLarge, codes.InvalidArgument, http.StatusBadRequest},
		"domain.ErrLocked":              {domain.ErrLocked, codes.Unavailable, http.StatusServiceUnavailable},
		"domain.ErrClosed":              {domain.ErrClosed, codes.Unavailable, http.StatusServiceUnavailable},
		"domain.ErrFailedPrecondition":  {domain.ErrFailedPrecondition, codes.FailedPrecondition, http.StatusBadRequest},
		"domain.PreconditionError":      {domain.FailedPrecondition("release shop/r", "gate closed"), codes.FailedPrecondition, http.StatusBadRequest},
		"eventlog.ErrOverloaded":        {eventlog.ErrOverloaded, codes.ResourceExhausted, http.StatusTooManyRequests},
		"eventlog.ErrClosed":            {eventlog.ErrClosed, codes.Unavailable, http.StatusServiceUnavailable},
		"eventlog.ErrUnavailable":       {eventlog.ErrUnavailable, codes.Unavailable, http.StatusServiceUnavailable},
		"model.FieldError":              {model.NewFieldError("flag.key", "bad"), codes.InvalidArgument, http.StatusBadRequest},
		"model.Errors":                  {model.Errors{model.NewFieldError("flag.key", "bad")}, codes.InvalidArgument, http.StatusBadRequest},
		"auth.ErrUnauthenticated":       {auth.ErrUnauthenticated, codes.Unauthenticated, http.StatusUnauthorized},
		"auth.ErrPermissionDenied":      {auth.ErrPermissionDenied, codes.PermissionDenied, http.StatusForbidden},
		"auth.ErrScopeMissing":          {auth.ErrScopeMissing, codes.InvalidArgument, http.StatusBadRequest},
		"syncer.ErrClosed":              {syncer.ErrClosed, codes.Unavailable, http.StatusServiceUnavailable},
		"syncer.ErrMaxAge":              {syncer.ErrMaxAge, codes.Unavailable, http.StatusServiceUnavailable},
		"syncer.ErrNotRelay":            {syncer.ErrNotRelay, codes.InvalidArgument, http.StatusBadRequest},
		"syncer.ErrUpgradeRequired":     {syncer.ErrUpgradeRequired, codes.FailedPrecondition, http.StatusBadRequest},
		"domain.HeldError":              {&domain.HeldError{Project: "shop", Release: "r", Items: []string{"flag/x"}}, codes.Aborted, http.StatusConflict},
		"domain.ErrSecretKey":           {domain.ErrSecretKey, codes.Unavailable, http.StatusServiceUnavailable},
		"release.FrozenError":           {&release.FrozenError{Project: "shop", Release: "r", Freeze: "year-end"}, codes.Aborted, http.StatusConflict},
		"auth.ErrThrottled":             {auth.ErrThrottled, codes.ResourceExhausted, http.StatusTooManyRequests},
		"auth.ThrottledError":           {&auth.ThrottledError{Addr: "192.0.2.1", RetryAfter: time.Second}, codes.ResourceExhausted, http.StatusTooManyRequests},
		"domain.ErrInvalid with fields": {fmt.Errorf("%w: %w", domain.ErrInvalid, model.Errors{model.NewFieldError("a", "bad")}), codes.InvalidArgument, http.StatusBadRequest},
	}
	for _, name := range exportedErrors(t) {
		if _, ok := tests[name]; !ok {
			t.Errorf("%s has no row: add how toStatus maps it", name)
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := status.Convert(toStatus(log, wrap(tc.err)))
			if got.Code() != tc.code {
				t.Errorf("toStatus(%v) = %v, want %v", tc.err, got.Code(), tc.code)
			}
			if h := runtime.HTTPStatusFromCode(got.Code()); h != tc.http {
				t.Errorf("toStatus(%v) answers HTTP %d, want %d", tc.err, h, tc.http)
			}
		})
	}
}

// exportedErrors lists, as "pkg.Name", the exported package-level Err…
// variables and the exported types with an Error method of the domain
// packages, read from their non-test sources.
func exportedErrors(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, pkg := range domainErrorPackages {
		files, err := filepath.Glob(filepath.Join("..", "internal", pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("sources of internal/%s: %v", pkg, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				switch d := d.(type) {
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						if vs, ok := spec.(*ast.ValueSpec); ok && d.Tok == token.VAR {
							for _, id := range vs.Names {
								if id.IsExported() && strings.HasPrefix(id.Name, "Err") {
									names = append(names, pkg+"."+id.Name)
								}
							}
						}
					}
				case *ast.FuncDecl:
					if d.Recv == nil || d.Name.Name != "Error" || len(d.Recv.List) != 1 {
						continue
					}
					typ := d.Recv.List[0].Type
					if star, ok := typ.(*ast.StarExpr); ok {
						typ = star.X
					}
					if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
						names = append(names, pkg+"."+id.Name)
					}
				}
			}
		}
	}
	return names
}
