package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/switchyard/switchyard/internal/auth"
)

// The REST admin API's edge: what happens to a request before the gateway
// sees it. The edge knows every route from the google.api.http options of
// the services, so it answers 405 with Allow for a known path, refuses a
// key before reading a body, and checks a body's JSON against the route's
// message, so that every malformed body is a 400 naming the field path.

// DefaultBodyReadTimeout is how long a request body may take to arrive.
const DefaultBodyReadTimeout = 30 * time.Second

// route is one REST route of the gateway.
type route struct {
	method     string
	pattern    string                         // the path template, e.g. /api/v1/projects/{project}/flags/{key}
	parts      []string                       // path segments; "" is a variable
	verb       string                         // custom verb after ":" in the last segment
	fullMethod string                         // gRPC method, e.g. /switchyard.v1.FlagService/UpdateFlag
	input      protoreflect.MessageDescriptor // the request message
	streaming  bool                           // the client streams: the body is not read here
	// body is the message the JSON body decodes into (nil: the route
	// takes none), bodyPath the request field it fills ("" for "*").
	body     protoreflect.MessageDescriptor
	bodyPath string
	// liftEtag says the request has an etag field of its own that its body
	// lacks: a body's "etag" travels on as If-Match.
	liftEtag bool
	// mask says the request has an update_mask: a body without one sets
	// it from the members it sends (maskOf).
	mask bool
}

// routes are the REST routes of the gateway's services.
type routes []route

// newRoutes reads the routes of the named gRPC services from their
// google.api.http options.
func newRoutes(services []string) (routes, error) {
	var out routes
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("%s is not a service", name)
		}
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			opts, _ := md.Options().(*descriptorpb.MethodOptions)
			rule, _ := proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				continue
			}
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				rt, err := newRoute(md, r)
				if err != nil {
					return nil, err
				}
				out = append(out, rt)
			}
		}
	}
	return out, nil
}

// newRoute is the route of one HTTP binding of a method.
func newRoute(md protoreflect.MethodDescriptor, rule *annotations.HttpRule) (route, error) {
	rt := route{
		fullMethod: "/" + string(md.Parent().FullName()) + "/" + string(md.Name()),
		input:      md.Input(),
		streaming:  md.IsStreamingClient(),
	}
	var tpl string
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		rt.method, tpl = http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		rt.method, tpl = http.MethodPost, p.Post
	case *annotations.HttpRule_Patch:
		rt.method, tpl = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Put:
		rt.method, tpl = http.MethodPut, p.Put
	case *annotations.HttpRule_Delete:
		rt.method, tpl = http.MethodDelete, p.Delete
	case *annotations.HttpRule_Custom:
		rt.method, tpl = p.Custom.GetKind(), p.Custom.GetPath()
	default:
		return route{}, fmt.Errorf("%s: an HTTP rule without a pattern", rt.fullMethod)
	}
	rt.pattern = tpl
	rt.parts, rt.verb = parseTemplate(tpl)
	in := md.Input()
	switch b := rule.GetBody(); b {
	case "":
	case "*":
		rt.body = in
	default:
		f := in.Fields().ByName(protoreflect.Name(b))
		if f == nil {
			return route{}, fmt.Errorf("%s: body field %q is not in %s", rt.fullMethod, b, in.FullName())
		}
		rt.bodyPath = b
		rt.body = f.Message() // nil for a scalar body: not checked
	}
	rt.mask = in.Fields().ByName("update_mask") != nil && rt.body != nil && rt.bodyPath != ""
	own := in.Fields().ByName("etag")
	rt.liftEtag = own != nil && (rt.body == nil || rt.body.Fields().ByName("etag") == nil)
	return rt, nil
}

// parseTemplate splits a path template ("/api/v1/releases/{id}:start")
// into segments, variables as "", and its verb.
func parseTemplate(tpl string) (parts []string, verb string) {
	parts = strings.Split(strings.TrimPrefix(tpl, "/"), "/")
	last := parts[len(parts)-1]
	if i := strings.LastIndex(last, ":"); i >= 0 && !strings.Contains(last[i:], "}") {
		parts[len(parts)-1], verb = last[:i], last[i+1:]
	}
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			parts[i] = ""
		}
	}
	return parts, verb
}

// matches reports whether a URL path, split into segments, is the route's.
func (rt *route) matches(segs []string) bool {
	if len(segs) != len(rt.parts) {
		return false
	}
	for i, p := range rt.parts {
		seg := segs[i]
		if i == len(segs)-1 && rt.verb != "" {
			var ok bool
			if seg, ok = strings.CutSuffix(seg, ":"+rt.verb); !ok {
				return false
			}
		}
		if p == "" && seg == "" || p != "" && p != seg {
			return false
		}
	}
	return true
}

// find returns the route of method on path, or nil and the methods that
// path allows (none for a path no route has).
func (rts routes) find(method, path string) (*route, []string) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var allow []string
	for i := range rts {
		if !rts[i].matches(segs) {
			continue
		}
		if rts[i].method == method {
			return &rts[i], nil
		}
		if !slices.Contains(allow, rts[i].method) {
			allow = append(allow, rts[i].method)
		}
	}
	slices.Sort(allow)
	return nil, allow
}

// apiEdge serves the REST admin API through next (the gateway) after the
// edge's checks: a known path with another method is 405 with Allow; a
// request whose key is missing, unknown or not allowed the route is
// refused before its body is read; the body (bounded in time by
// boundBody, in size by limitBody) is read whole, must be one JSON value
// that fits the route's message — else 400 naming the field path — and an
// "etag" member of a body whose message has none (targeting, version,
// DELETE) travels on as If-Match.
func (s *Server) apiEdge(rts routes, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, allow := rts.find(r.Method, r.URL.Path)
		if rt == nil {
			if len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeJSONError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
					fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")), nil)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		setRoute(requestInfoOf(r.Context()), rt.pattern) // also for answers the edge gives itself
		if perm, known := s.permissions[rt.fullMethod]; known && perm != auth.Public {
			if _, err := s.httpPrincipal(r, perm); err != nil {
				writeGatewayError(r.Context(), nil, nil, w, r, toStatus(s.log, err))
				return
			}
		}
		if err := rt.checkQuery(r.URL.Query()); err != nil {
			writeGatewayError(r.Context(), nil, nil, w, r, err)
			return
		}
		if rt.streaming {
			// A client stream's body arrives for as long as the stream
			// lives: no deadline.
			http.NewResponseController(w).SetReadDeadline(time.Time{})
		}
		if rt.streaming || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeBodyReadError(w, err)
			return
		}
		if body, err = rt.checkBody(r, body); err != nil {
			writeGatewayError(r.Context(), nil, nil, w, r, err)
			return
		}
		if q := r.URL.Query(); rt.mask && !q.Has("update_mask") && len(body) > 0 {
			var obj map[string]any
			if json.Unmarshal(body, &obj) == nil && len(obj) > 0 {
				q.Set("update_mask", strings.Join(maskOf(rt.body, obj), ","))
				r.URL.RawQuery = q.Encode()
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// checkQuery checks a request's query parameters: each names a field of
// the request message (a dotted path for a nested one) and parses as the
// field's type. Its errors are INVALID_ARGUMENT statuses naming the
// parameter.
func (rt *route) checkQuery(q url.Values) error {
	for _, name := range slices.Sorted(maps.Keys(q)) {
		f := queryField(rt.input, name)
		if f == nil {
			return invalidField(name, "unknown query parameter")
		}
		for _, v := range q[name] {
			if why := badQueryValue(f, v); why != "" {
				return invalidField(name, "%q %s", v, why)
			}
		}
	}
	return nil
}

// queryField is the field a query parameter names, or nil.
func queryField(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	var f protoreflect.FieldDescriptor
	for part := range strings.SplitSeq(name, ".") {
		if md == nil {
			return nil
		}
		if f = md.Fields().ByJSONName(part); f == nil {
			f = md.Fields().ByName(protoreflect.Name(part))
		}
		if f == nil || f.IsMap() {
			return nil
		}
		md = nil
		if m := f.Message(); m != nil && !f.IsList() && !wellKnown(m) {
			md = m
		}
	}
	if f.Message() != nil && !wellKnown(f.Message()) {
		return nil // a message is not a query parameter
	}
	return f
}

// badQueryValue says why v is not a value of the scalar field f ("" if it
// is one).
func badQueryValue(f protoreflect.FieldDescriptor, v string) string {
	var err error
	switch f.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		_, err = strconv.ParseInt(v, 10, 32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		_, err = strconv.ParseInt(v, 10, 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		_, err = strconv.ParseUint(v, 10, 32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		_, err = strconv.ParseUint(v, 10, 64)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		_, err = strconv.ParseFloat(v, 64)
	case protoreflect.BoolKind:
		_, err = strconv.ParseBool(v)
	case protoreflect.EnumKind:
		if f.Enum().Values().ByName(protoreflect.Name(v)) == nil {
			_, err = strconv.ParseInt(v, 10, 32)
		}
	case protoreflect.MessageKind:
		if f.Message().FullName() == "google.protobuf.FieldMask" {
			return ""
		}
		quoted, _ := json.Marshal(v)
		err = protojson.Unmarshal(quoted, newMessage(f.Message()))
	default:
		return ""
	}
	if err != nil {
		return "is not " + kindName(f)
	}
	return ""
}

// writeBodyReadError answers a request whose body could not be read: 408
// when it did not arrive in time, 413 when it is too large, else 400.
func writeBodyReadError(w http.ResponseWriter, err error) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeJSONError(w, http.StatusRequestTimeout, "DEADLINE_EXCEEDED", "the request body did not arrive in time", nil)
	case errors.As(err, &tooLarge):
		writeJSONError(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT",
			fmt.Sprintf("the request body is over the limit of %d bytes", tooLarge.Limit), nil)
	default:
		writeJSONError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "the request body could not be read", nil)
	}
}

// checkBody checks a body against the route and returns what the gateway
// gets: one JSON value and nothing after it; fields the route's message
// has, with values of their types; an "etag" the message lacks taken out
// and set as If-Match. Its errors are INVALID_ARGUMENT statuses naming the
// field path.
func (rt *route) checkBody(r *http.Request, body []byte) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	whole := rt.bodyPath
	if whole == "" {
		whole = "body"
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, invalidField(whole, "is not valid JSON at byte %d: %v", syntax.Offset, err)
		}
		return nil, invalidField(whole, "is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidField(whole, "has data after the JSON value")
	}
	obj, isObject := v.(map[string]any)
	if raw, ok := obj["etag"]; ok && rt.liftEtag {
		etag, ok := raw.(string)
		if !ok {
			return nil, invalidField("etag", "must be a string")
		}
		if h := unquoteEtag(r.Header.Get("If-Match")); h != "" && h != etag {
			return nil, invalidField("etag", "the body names etag %q and If-Match %q", etag, h)
		}
		r.Header.Set("If-Match", etag)
		delete(obj, "etag")
		body, _ = json.Marshal(obj) // decoded from JSON: encodes
	}
	if rt.body == nil {
		if rt.bodyPath == "" && isObject && len(obj) > 0 {
			return nil, invalidField(sortedKeys(obj)[0], "unknown field: %s %s takes no body", rt.method, r.URL.Path)
		}
		if rt.bodyPath == "" {
			return nil, nil
		}
		return body, nil
	}
	if err := protojson.Unmarshal(body, newMessage(rt.body)); err != nil {
		path, why := bodyProblem(rt.body, v, rt.bodyPath)
		return nil, invalidField(path, "%s", why)
	}
	return body, nil
}

// maskOf is the update mask of a merge patch body obj for the message md:
// the fields it sends, and for a map of messages (a flag's environments)
// each entry it sends, so that a PATCH changes only those. (The gateway's
// own mask would name a map whole, dropping the entries not sent.) A field
// or entry sent is replaced whole.
func maskOf(md protoreflect.MessageDescriptor, obj map[string]any) []string {
	var paths []string
	for _, k := range sortedKeys(obj) {
		f := md.Fields().ByJSONName(k)
		if f == nil {
			f = md.Fields().ByName(protoreflect.Name(k))
		}
		if f == nil {
			continue // checkBody refused unknown fields already
		}
		entries, isObject := obj[k].(map[string]any)
		if !f.IsMap() || !isObject || len(entries) == 0 || slices.ContainsFunc(sortedKeys(entries), func(e string) bool { return strings.Contains(e, ".") }) {
			paths = append(paths, string(f.Name()))
			continue
		}
		for _, e := range sortedKeys(entries) {
			paths = append(paths, string(f.Name())+"."+e)
		}
	}
	return paths
}

// newMessage is an empty message of md's type: the generated one (fast to
// decode into), or a dynamic one for a type without generated code.
func newMessage(md protoreflect.MessageDescriptor) proto.Message {
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		return mt.New().Interface()
	}
	return dynamicpb.NewMessage(md)
}

// unquoteEtag is an If-Match value without quotes and weak prefix.
func unquoteEtag(h string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(h), "W/"), `"`)
}

// bodyProblem finds, for a JSON value v that protojson refuses as the
// message md, the path of the first offending member under path and what
// is wrong with it.
func bodyProblem(md protoreflect.MessageDescriptor, v any, path string) (string, string) {
	obj, ok := v.(map[string]any)
	if !ok {
		return orBody(path), "must be a JSON object"
	}
	for _, k := range sortedKeys(obj) {
		p := join(path, k)
		f := md.Fields().ByJSONName(k)
		if f == nil {
			f = md.Fields().ByName(protoreflect.Name(k))
		}
		if f == nil {
			return p, fmt.Sprintf("unknown field %q", k)
		}
		one, _ := json.Marshal(map[string]any{k: obj[k]})
		if protojson.Unmarshal(one, newMessage(md)) == nil {
			continue
		}
		return memberProblem(f, obj[k], p)
	}
	return orBody(path), "is not valid (a field of a oneof set twice?)"
}

// memberProblem says what is wrong with the value v of field f at path.
func memberProblem(f protoreflect.FieldDescriptor, v any, path string) (string, string) {
	switch {
	case f.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			return path, "must be a JSON object"
		}
		if m := f.MapValue().Message(); m != nil && !wellKnown(m) {
			for _, k := range sortedKeys(obj) {
				one, _ := json.Marshal(obj[k])
				if protojson.Unmarshal(one, newMessage(m)) != nil {
					return bodyProblem(m, obj[k], join(path, k))
				}
			}
		}
		return path, "must map keys to " + kindName(f.MapValue())
	case f.IsList():
		list, ok := v.([]any)
		if !ok {
			return path, "must be a JSON array"
		}
		if m := f.Message(); m != nil && !wellKnown(m) {
			for i, e := range list {
				one, _ := json.Marshal(e)
				if protojson.Unmarshal(one, newMessage(m)) != nil {
					return bodyProblem(m, e, fmt.Sprintf("%s[%d]", path, i))
				}
			}
		}
		return path, "must be an array of " + kindName(f)
	case f.Message() != nil && !wellKnown(f.Message()):
		return bodyProblem(f.Message(), v, path)
	}
	return path, "must be " + kindName(f)
}

// kindName describes the JSON a field's single value takes.
func kindName(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "a string"
	case protoreflect.BoolKind:
		return "true or false"
	case protoreflect.EnumKind:
		vals := f.Enum().Values()
		names := make([]string, vals.Len())
		for i := range names {
			names[i] = string(vals.Get(i).Name())
		}
		return "one of " + strings.Join(names, ", ")
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch f.Message().FullName() {
		case "google.protobuf.Timestamp":
			return "an RFC 3339 time"
		case "google.protobuf.Duration":
			return `a duration such as "90s"`
		case "google.protobuf.FieldMask":
			return "a comma-separated list of fields"
		}
		return "a JSON object"
	}
	return "a number"
}

func wellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

// sortedKeys are an object's keys in order, so errors are deterministic.
func sortedKeys(obj map[string]any) []string {
	return slices.Sorted(maps.Keys(obj))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// boundBody bounds the time a request body may take to arrive: once
// timeout has passed, every further read of it fails (the edge answers
// 408) and the connection closes. A handler that answers without reading
// the whole body, a refused key for one, is answered at once: the rest is
// not waited for and the connection closes. Requests without a body (GETs,
// the event streams) get no deadline, so long-lived answers stay open.
func boundBody(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 { // no body (-1: one of unknown length)
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		b := &timedBody{ReadCloser: r.Body, rc: rc}
		r.Body = b
		next.ServeHTTP(w, r)
		if b.read == 0 {
			// Answered without reading: net/http would wait for the body
			// to discard it. Fail that wait now; the connection closes.
			rc.SetReadDeadline(time.Now())
		}
	})
}

// timedBody lifts the read deadline once the whole body has arrived.
type timedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	read int64 // bytes read
	done bool
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if err == io.EOF && !b.done {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
