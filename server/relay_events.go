package server

import (
	"context"

	"github.com/switchyard/switchyard/internal/auth"
)

// CallerScope resolves the environment a call addresses from its caller's
// key and the project and environment it names (auth.Scope), for services
// a relay adds to its read path (ReadPath.Events).
func CallerScope(ctx context.Context, project, environment string) (string, string, error) {
	c := callerFrom(ctx)
	if c == nil {
		return "", "", auth.ErrUnauthenticated
	}
	return auth.Scope(&c.principal, project, environment)
}
