package server

import (
	"context"

	"golang.org/x/text/language"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// availabilityService tells clients which version of a component is
// available to them. Its HTTP form is the hand-written handler in
// availability_http.go; both go through resolveAvailability.
type availabilityService struct {
	sdkpb.UnimplementedAvailabilityServiceServer
	*Server
}

var _ sdkpb.AvailabilityServiceServer = (*availabilityService)(nil)

// availabilityRequest is one availability question, however it arrived.
type availabilityRequest struct {
	project, environment string // "" for SDK and client keys: the key's
	component            string
	currentVersion       string
	ctx                  eval.Context
	// ctxErr is set when the context could not be decoded; the answer is
	// then INVALID_CONTEXT (after FLAG_NOT_FOUND, as DESIGN §3 orders them).
	ctxErr error
	// languages are the client's languages for release notes, most
	// preferred first.
	languages []language.Tag
}

// parseLanguages reads an Accept-Language value; field names it in the
// error.
func parseLanguages(field, accept string) ([]language.Tag, error) {
	if accept == "" {
		return nil, nil
	}
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil {
		return nil, invalidField(field, "%q is not an Accept-Language value such as \"de-CH, de;q=0.9, en;q=0.5\"", accept)
	}
	return tags, nil
}

// availabilityRequestFrom converts a gRPC (or JSON) request.
func availabilityRequestFrom(req *sdkpb.GetAvailabilityRequest) (*availabilityRequest, error) {
	out := &availabilityRequest{
		project:        req.GetProject(),
		environment:    req.GetEnvironment(),
		component:      req.GetComponent(),
		currentVersion: req.GetCurrentVersion(),
	}
	if err := contextFromStruct(&out.ctx, req.GetContext()); err != nil {
		return nil, err
	}
	langs, err := parseLanguages("accept_language", req.GetAcceptLanguage())
	if err != nil {
		return nil, err
	}
	out.languages = langs
	return out, nil
}

// scopedRuleset resolves the environment a caller addresses — its key's,
// or the one an admin token names — to its compiled ruleset.
func (s *Server) scopedRuleset(p *auth.Principal, project, environment string) (*eval.Ruleset, error) {
	project, environment, err := auth.Scope(p, project, environment)
	if err != nil {
		return nil, err
	}
	rs := s.rulesets.Get(project, environment)
	if rs == nil {
		return nil, notFound("environment %s/%s", project, environment)
	}
	return rs, nil
}

// resolveAvailability is the one availability resolution behind gRPC and
// HTTP: it finds the ruleset of the environment p addresses and resolves
// the component's version there. The error is a failure of the call (scope,
// unknown environment); problems of the question (unknown component, bad
// context or current version) are answers with an error code.
func (s *Server) resolveAvailability(p *auth.Principal, req *availabilityRequest) (*eval.Ruleset, eval.Availability, error) {
	rs, err := s.scopedRuleset(p, req.project, req.environment)
	if err != nil {
		return nil, eval.Availability{}, err
	}
	if req.ctxErr != nil {
		// Step 1 (unknown component) comes before the context's problems;
		// an empty current version never gets past step 2.
		if a := rs.Availability(req.component, nil, ""); a.ErrorCode == eval.ErrorFlagNotFound {
			return rs, a, nil
		}
		return rs, eval.Availability{Reason: eval.ReasonError, ErrorCode: eval.ErrorInvalidContext, ErrorMessage: req.ctxErr.Error()}, nil
	}
	return rs, rs.Availability(req.component, &req.ctx, req.currentVersion), nil
}

// GetAvailability resolves the version available to one client.
func (s *availabilityService) GetAvailability(ctx context.Context, req *sdkpb.GetAvailabilityRequest) (*sdkpb.Availability, error) {
	s.metrics.evalAvailability.Inc()
	ar, err := availabilityRequestFrom(req)
	if err != nil {
		return nil, err
	}
	rs, a, err := s.resolveAvailability(&callerFrom(ctx).principal, ar)
	if err != nil {
		return nil, err
	}
	return availabilityProto(ar.component, rs.Revision, &a, ar.languages), nil
}

// availabilityProto converts an availability answer, with its release
// notes in the languages given.
func availabilityProto(component string, revision uint64, a *eval.Availability, languages []language.Tag) *sdkpb.Availability {
	out := &sdkpb.Availability{
		Component:    component,
		Version:      a.Version,
		Reason:       string(a.Reason),
		Rule:         a.Rule,
		Update:       string(a.Update),
		Revision:     revision,
		ErrorCode:    string(a.ErrorCode),
		ErrorMessage: a.ErrorMessage,
	}
	if len(a.Notes) > 0 {
		out.Notes = make([]*sdkpb.VersionNote, len(a.Notes))
		for i, n := range a.Notes {
			out.Notes[i] = &sdkpb.VersionNote{Version: n.Version, Notes: n.Notes}
		}
	}
	for i := range a.ReleaseNotes {
		n := &a.ReleaseNotes[i]
		lang, text := n.Localize(languages)
		out.ReleaseNotes = append(out.ReleaseNotes, &sdkpb.ReleaseNote{Release: n.Release, Version: n.Version, Language: lang, Notes: text})
	}
	return out
}
