package server

import (
	"encoding/hex"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/eval"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// The REST form of AvailabilityService.GetAvailability, hand-written on the
// HTTP port (its pattern is more specific than the gateway's "/api/", so it
// takes these paths) because the answer carries an ETag and honours
// If-None-Match with 304, which the gateway cannot do.
//
//	GET  /api/v1/components/{component}/availability?current_version=2.3.0&context.targetingKey=u1&context.country=DE
//	POST /api/v1/components/{component}/availability  {"current_version": "2.3.0", "context": {...}}
//
// GET takes project, environment (admin tokens only), current_version,
// context (a JSON object) and context.<attribute> (a string; repeated, an
// array of strings; applied over context). POST takes the gRPC request as
// JSON. The body is the Availability message as protojson writes it. An
// unknown component answers 404 and another error code 400, each with the
// Availability as body; failures of the call (key, scope, malformed request)
// answer like the rest of /api/v1.
//
// The ETag is weak and computed from the answer without its revision: a
// change elsewhere in the environment leaves it, and the client's copy,
// valid. Only 200 answers carry one.

const availabilityPath = "/api/v1/components/{component}/availability"

func (s *Server) registerAvailability(mux *http.ServeMux) {
	mux.HandleFunc("GET "+availabilityPath, s.availabilityHTTP)
	mux.HandleFunc("POST "+availabilityPath, s.availabilityHTTP)
}

func (s *Server) availabilityHTTP(w http.ResponseWriter, r *http.Request) {
	s.metrics.evalAvailability.Inc()
	p, err := s.httpPrincipal(r, auth.Evaluate)
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	var req *availabilityRequest
	if r.Method == http.MethodPost {
		req, err = availabilityFromBody(r)
	} else {
		req, err = availabilityFromQuery(r)
	}
	if err == nil && req.languages == nil {
		req.languages, err = parseLanguages("Accept-Language", r.Header.Get("Accept-Language"))
	}
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	rs, a, err := s.resolveAvailability(&p, req)
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	status := http.StatusOK
	switch {
	case a.ErrorCode == eval.ErrorFlagNotFound:
		status = http.StatusNotFound
	case a.ErrorCode != "":
		status = http.StatusBadRequest
	}
	h := w.Header()
	if status == http.StatusOK {
		etag := availabilityETag(rs, req.component, &a, req.languages)
		h.Set("ETag", "W/"+etag)
		h.Set("Cache-Control", "private, no-cache")
		h.Set("Vary", "Authorization, X-API-Key, Accept-Language")
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	out := appendAvailabilityJSON((*buf)[:0], req.component, rs.Revision, &a, req.languages)
	h["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(out)
	*buf = out[:0]
}

// writeHTTPError answers a failed call of a hand-written /api/v1 handler
// exactly as the gateway answers one: through toStatus.
func (s *Server) writeHTTPError(w http.ResponseWriter, r *http.Request, err error) {
	writeGatewayError(r.Context(), nil, nil, w, r, toStatus(s.log, err))
}

// availabilityFromBody decodes a POST body: the gRPC request as JSON. The
// component is the path's; a body that names another is refused.
func availabilityFromBody(r *http.Request) (*availabilityRequest, error) {
	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	body, err := readAll(r.Body, *buf)
	*buf = body[:0]
	if err != nil {
		return nil, invalidField("body", "read: %v", err)
	}
	var msg sdkpb.GetAvailabilityRequest
	if len(body) > 0 {
		if err := protojson.Unmarshal(body, &msg); err != nil {
			return nil, invalidField("body", "%v", err)
		}
	}
	component := r.PathValue("component")
	if msg.GetComponent() != "" && msg.GetComponent() != component {
		return nil, invalidField("component", "%q in the body differs from %q in the path", msg.GetComponent(), component)
	}
	msg.Component = component
	return availabilityRequestFrom(&msg)
}

// availabilityFromQuery decodes the query of a GET.
func availabilityFromQuery(r *http.Request) (*availabilityRequest, error) {
	q := r.URL.Query()
	req := &availabilityRequest{component: r.PathValue("component")}
	var attrs []string
	for name, vals := range q {
		var dst *string
		switch name {
		case "project":
			dst = &req.project
		case "environment":
			dst = &req.environment
		case "current_version":
			dst = &req.currentVersion
		case "accept_language":
			if len(vals) > 1 {
				return nil, invalidField(name, "given more than once")
			}
			langs, err := parseLanguages(name, vals[0])
			if err != nil {
				return nil, err
			}
			req.languages = langs
			continue
		case "context":
			if len(vals) > 1 {
				return nil, invalidField(name, "given more than once")
			}
			if err := req.ctx.DecodeJSON([]byte(vals[0])); err != nil {
				req.ctxErr = err
			}
			continue
		default:
			if attr, ok := strings.CutPrefix(name, "context."); ok && attr != "" {
				attrs = append(attrs, attr)
				continue
			}
			return nil, invalidField(name, "unknown query parameter")
		}
		if len(vals) > 1 {
			return nil, invalidField(name, "given more than once")
		}
		*dst = vals[0]
	}
	if req.ctxErr != nil {
		return req, nil
	}
	slices.Sort(attrs)
	for _, attr := range attrs {
		if vals := q["context."+attr]; len(vals) == 1 {
			req.ctx.String(attr, vals[0])
		} else {
			req.ctx.Strings(attr, vals...)
		}
	}
	if n := req.ctx.Len(); n > eval.MaxAttributes {
		return nil, invalidField("context", "has %d attributes, more than the limit of %d", n, eval.MaxAttributes)
	}
	return req, nil
}

// availabilityETag is the (strong part of the weak) validator of an
// answer: a hash of the environment, the component and every field of the
// answer but the revision, release notes in the client's languages
// included.
func availabilityETag(rs *eval.Ruleset, component string, a *eval.Availability, languages []language.Tag) string {
	h := fnv.New64a()
	for _, s := range [...]string{rs.Project(), rs.Environment(), component, a.Version, string(a.Reason), a.Rule, string(a.Update)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, n := range a.Notes {
		h.Write([]byte(n.Version))
		h.Write([]byte{0})
		h.Write([]byte(n.Notes))
		h.Write([]byte{0})
	}
	for i := range a.ReleaseNotes {
		n := &a.ReleaseNotes[i]
		lang, text := n.Localize(languages)
		for _, s := range [...]string{n.Release, n.Version, lang, text} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
	}
	var sum [8]byte
	var out [18]byte
	out[0] = '"'
	hex.Encode(out[1:17], h.Sum(sum[:0]))
	out[17] = '"'
	return string(out[:])
}

// appendAvailabilityJSON appends the answer as protojson writes a
// sdkpb.Availability with proto field names: empty fields left out, the
// revision as a string.
func appendAvailabilityJSON(out []byte, component string, revision uint64, a *eval.Availability, languages []language.Tag) []byte {
	out = append(out, `{"component":`...)
	out = appendJSONString(out, component)
	out = appendJSONMember(out, "version", a.Version)
	out = appendJSONMember(out, "reason", string(a.Reason))
	out = appendJSONMember(out, "rule", a.Rule)
	out = appendJSONMember(out, "update", string(a.Update))
	if len(a.Notes) > 0 {
		out = append(out, `,"notes":[`...)
		for i, n := range a.Notes {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, '{')
			out = appendJSONMember(out, "version", n.Version)
			out = appendJSONMember(out, "notes", n.Notes)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	if revision != 0 {
		out = append(out, `,"revision":"`...)
		out = strconv.AppendUint(out, revision, 10)
		out = append(out, '"')
	}
	out = appendJSONMember(out, "error_code", string(a.ErrorCode))
	out = appendJSONMember(out, "error_message", a.ErrorMessage)
	if len(a.ReleaseNotes) > 0 {
		out = append(out, `,"release_notes":[`...)
		for i := range a.ReleaseNotes {
			n := &a.ReleaseNotes[i]
			if i > 0 {
				out = append(out, ',')
			}
			lang, text := n.Localize(languages)
			out = append(out, '{')
			out = appendJSONMember(out, "release", n.Release)
			out = appendJSONMember(out, "version", n.Version)
			out = appendJSONMember(out, "language", lang)
			out = appendJSONMember(out, "notes", text)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	return append(out, '}')
}

// appendJSONMember appends `,"name":"value"` unless value is empty (a
// leading comma only when a member precedes it in the object).
func appendJSONMember(out []byte, name, value string) []byte {
	if value == "" {
		return out
	}
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, name...)
	out = append(out, `":`...)
	return appendJSONString(out, value)
}
