package server

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

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
	p, err := s.authenticate(remoteHost(r), secret)
	if err != nil {
		return auth.Principal{}, err
	}
	if err := auth.Authorize(&p, perm); err != nil {
		return auth.Principal{}, err
	}
	setCaller(requestInfoOf(r.Context()), &p)
	return p, nil
}

// writeOFREPAuthError answers an OFREP request whose key or scope was
// refused: 401, 403, 429 with Retry-After for a throttled address, or 400
// for an admin token that named no environment.
func writeOFREPAuthError(w http.ResponseWriter, err error) {
	code := http.StatusForbidden
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &te):
		code = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.FormatInt(te.RetryAfterSeconds(), 10))
	case errors.Is(err, auth.ErrUnauthenticated):
		code = http.StatusUnauthorized
	case errors.Is(err, auth.ErrScopeMissing):
		code = http.StatusBadRequest
	}
	writeOFREPError(w, code, "", "GENERAL", err.Error())
}

// setRetryAfter sets the Retry-After header of an HTTP answer from the
// RetryInfo of a gRPC status, if it has one.
func setRetryAfter(w http.ResponseWriter, st *status.Status) {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			secs := int64(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		}
	}
}
