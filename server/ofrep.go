package server

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/snapshot"
)

// OFREP — the OpenFeature Remote Evaluation Protocol — on the HTTP port:
// single evaluation for server-side providers, bulk evaluation with ETag
// and 304 for client-side ones. Handlers evaluate on the compiled ruleset
// and write JSON by hand from fragments compiled with it.

func (s *Server) registerOFREP(mux *http.ServeMux) {
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags/{key}", s.ofrepSingle)
	mux.HandleFunc("POST /ofrep/v1/evaluate/flags", s.ofrepBulk)
	s.registerOFREPEvents(mux)
}

// buffers recycles request and response buffers.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// ofrepRequest is one decoded OFREP request.
type ofrepRequest struct {
	rs    *eval.Ruleset
	ctx   eval.Context
	body  []byte // raw request body (pooled)
	keyID string // the caller's key
}

// begin authenticates, finds the ruleset and reads the body. On failure it
// has written the answer and returns false.
func (s *Server) ofrepBegin(w http.ResponseWriter, r *http.Request, req *ofrepRequest, buf *[]byte) bool {
	p, err := s.httpPrincipal(r, auth.Evaluate)
	var project, env string
	if err == nil {
		project, env, err = auth.Scope(&p, r.URL.Query().Get("project"), r.URL.Query().Get("environment"))
	}
	if err != nil {
		writeOFREPAuthError(w, err)
		return false
	}
	req.rs = s.rulesets.Get(project, env)
	req.keyID = p.KeyID
	if req.rs == nil {
		writeOFREPError(w, http.StatusNotFound, "", "GENERAL", "environment "+project+"/"+env+" does not exist")
		return false
	}
	body, err := readAll(r.Body, *buf)
	*buf = body
	if err != nil {
		writeOFREPError(w, http.StatusBadRequest, "", "INVALID_CONTEXT", "read request body: "+err.Error())
		return false
	}
	req.body = body
	if err := decodeOFREPContext(body, &req.ctx); err != nil {
		writeOFREPError(w, http.StatusBadRequest, r.PathValue("key"), "INVALID_CONTEXT", err.Error())
		return false
	}
	return true
}

func (s *Server) ofrepSingle(w http.ResponseWriter, r *http.Request) {
	s.metrics.evalOFREP.Inc()
	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	var req ofrepRequest
	if !s.ofrepBegin(w, r, &req, buf) {
		return
	}
	key := r.PathValue("key")
	res := req.rs.Evaluate(key, &req.ctx)
	s.metrics.flags.count(req.rs, key, &res)
	out := (*buf)[len(req.body):]
	status := http.StatusOK
	if res.ErrorCode != "" {
		status = http.StatusBadRequest
		if res.ErrorCode == eval.ErrorFlagNotFound {
			status = http.StatusNotFound
		}
		out = appendOFREPFailure(out, key, string(res.ErrorCode), res.ErrorMessage)
	} else {
		out = appendOFREPSuccess(out, key, &res, req.rs.Revision)
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(out)
	*buf = out[:0]
}

func (s *Server) ofrepBulk(w http.ResponseWriter, r *http.Request) {
	s.metrics.evalOFREP.Inc()
	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	var req ofrepRequest
	if !s.ofrepBegin(w, r, &req, buf) {
		return
	}
	// The answer depends only on the ruleset, the context and the event
	// stream advertised (its token is renewed now and then), so the ETag is
	// a hash of the three: a 304 costs no evaluation.
	streams := s.eventStreams(req.keyID, snapshot.Env{Project: req.rs.Project(), Environment: req.rs.Environment()})
	etag := bulkETag(req.rs, req.body, streams)
	h := w.Header()
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		h.Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if err := req.ctx.Err(); err != nil {
		writeOFREPError(w, http.StatusBadRequest, "", string(eval.ErrorInvalidContext), err.Error())
		return
	}
	out := (*buf)[len(req.body):]
	out = append(out, `{"flags":[`...)
	first := true
	flags := s.metrics.flags.table(req.rs)
	req.rs.EvaluateAll(&req.ctx, func(key string, res eval.Result) {
		flags.count(key, &res)
		if !first {
			out = append(out, ',')
		}
		first = false
		if res.ErrorCode != "" {
			out = appendOFREPFailure(out, key, string(res.ErrorCode), res.ErrorMessage)
			return
		}
		out = appendOFREPSuccess(out, key, &res, 0)
	})
	out = append(out, ']')
	out = append(out, streams...)
	out = append(out, `,"metadata":{"revision":`...)
	out = strconv.AppendUint(out, req.rs.Revision, 10)
	out = append(out, "}}"...)
	h["Content-Type"] = jsonContentType
	h.Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	*buf = out[:0]
}

var jsonContentType = []string{"application/json"}

// appendOFREPSuccess appends an evaluationSuccess object. A result without
// a variant defers to the caller's code default (no value field). The rule,
// the experiment that assigned the variant and a non-zero revision go into
// the flag metadata.
func appendOFREPSuccess(out []byte, key string, res *eval.Result, revision uint64) []byte {
	out = append(out, `{"key":`...)
	out = appendJSONString(out, key)
	out = append(out, `,"reason":"`...)
	out = append(out, res.Reason...)
	out = append(out, '"')
	if res.Variant != "" {
		out = append(out, `,"variant":`...)
		out = appendJSONString(out, res.Variant)
		out = append(out, `,"value":`...)
		out = append(out, res.ValueJSON...)
	}
	if res.Rule != "" || revision != 0 {
		out = append(out, `,"metadata":{`...)
		if res.Rule != "" {
			out = append(out, `"rule":`...)
			out = appendJSONString(out, res.Rule)
		}
		if res.Experiment != "" {
			out = append(out, `,"experiment":`...)
			out = appendJSONString(out, res.Experiment)
		}
		if revision != 0 {
			if res.Rule != "" {
				out = append(out, ',')
			}
			out = append(out, `"revision":`...)
			out = strconv.AppendUint(out, revision, 10)
		}
		out = append(out, '}')
	}
	return append(out, '}')
}

// appendOFREPFailure appends an evaluationFailure object.
func appendOFREPFailure(out []byte, key, code, details string) []byte {
	out = append(out, `{"key":`...)
	out = appendJSONString(out, key)
	out = append(out, `,"errorCode":"`...)
	out = append(out, code...)
	out = append(out, `","errorDetails":`...)
	out = appendJSONString(out, details)
	return append(out, '}')
}

// writeOFREPError writes a failure outside evaluation (auth, bad body).
func writeOFREPError(w http.ResponseWriter, status int, key, code, details string) {
	var out []byte
	if key != "" {
		out = appendOFREPFailure(nil, key, code, details)
	} else {
		out = append(out, `{"errorCode":"`...)
		out = append(out, code...)
		out = append(out, `","errorDetails":`...)
		out = appendJSONString(out, details)
		out = append(out, '}')
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(out)
}

// appendJSONString appends s as a JSON string. Keys are plain ASCII almost
// always; anything else goes through encoding/json.
func appendJSONString(out []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(out, b...)
		}
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"')
}

// bulkETag identifies the answer of a bulk evaluation: the environment,
// its revision, the exact request body and the eventStreams fragment.
func bulkETag(rs *eval.Ruleset, body, streams []byte) string {
	h := fnv.New64a()
	h.Write([]byte(rs.Project()))
	h.Write([]byte{0})
	h.Write([]byte(rs.Environment()))
	h.Write([]byte{0})
	var rev [20]byte
	h.Write(strconv.AppendUint(rev[:0], rs.Revision, 10))
	h.Write([]byte{0})
	h.Write(body)
	h.Write([]byte{0})
	h.Write(streams)
	var sum [8]byte
	var out [18]byte
	out[0] = '"'
	hex.Encode(out[1:17], h.Sum(sum[:0]))
	out[17] = '"'
	return string(out[:])
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for header != "" {
		var candidate string
		if i := bytes.IndexByte([]byte(header), ','); i >= 0 {
			candidate, header = header[:i], header[i+1:]
		} else {
			candidate, header = header, ""
		}
		for len(candidate) > 0 && candidate[0] == ' ' {
			candidate = candidate[1:]
		}
		for len(candidate) > 0 && candidate[len(candidate)-1] == ' ' {
			candidate = candidate[:len(candidate)-1]
		}
		if len(candidate) > 2 && candidate[:2] == "W/" {
			candidate = candidate[2:]
		}
		if candidate == etag || candidate == "*" {
			return true
		}
	}
	return false
}

// readAll reads r into buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// decodeOFREPContext decodes the "context" member of an OFREP request
// body into ctx. An empty body or a body without context is the empty
// context. A context nested deeper than eval.MaxDepth is an error naming
// the limit, even one too deep for encoding/json.
func decodeOFREPContext(body []byte, ctx *eval.Context) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	const prefix = `{"context":`
	if bytes.HasPrefix(trimmed, []byte(prefix)) && trimmed[len(trimmed)-1] == '}' {
		err := ctx.DecodeJSON(trimmed[len(prefix) : len(trimmed)-1])
		if err == nil || errors.Is(err, eval.ErrTooDeep) {
			return err
		}
	}
	var req struct {
		Context json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(trimmed, &req); err != nil {
		return errors.New("request body is not a JSON object: " + err.Error())
	}
	if len(req.Context) == 0 || string(req.Context) == "null" {
		return nil
	}
	return ctx.DecodeJSON(req.Context)
}
