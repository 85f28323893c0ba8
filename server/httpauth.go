package server

import (
	"errors"
	"net/http"

	"github.com/switchyard/switchyard/internal/auth"
)

// httpPrincipal authenticates a request to a hand-written HTTP handler
// (OFREP, its event stream, availability) with the key from
// "Authorization: Bearer" or "X-API-Key", and checks perm, exactly as the
// gRPC interceptor does for RPCs.
func (s *Server) httpPrincipal(r *http.Request, perm auth.Permission) (auth.Principal, error) {
	secret := auth.SecretFromHeader(r.Header.Get("Authorization"))
	if secret == "" {
		secret = r.Header.Get("X-API-Key")
	}
	p, err := s.authenticate(secret)
	if err != nil {
		return auth.Principal{}, err
	}
	if err := auth.Authorize(&p, perm); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

// writeOFREPAuthError answers an OFREP request whose key or scope was
// refused: 401, 403, or 400 for an admin token that named no environment.
func writeOFREPAuthError(w http.ResponseWriter, err error) {
	code := http.StatusForbidden
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		code = http.StatusUnauthorized
	case errors.Is(err, auth.ErrScopeMissing):
		code = http.StatusBadRequest
	}
	writeOFREPError(w, code, "", "GENERAL", err.Error())
}
