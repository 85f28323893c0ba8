package server

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchyard/switchyard/internal/auth"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/keylist"
)

// Documents with long key lists travel in parts, over REST routes written
// by hand on the HTTP port (exempt from MaxBodyBytes, like key-list
// uploads):
//
//	POST /api/v1/documents:import-stream   multipart/form-data
//
// whose first part, "request", is an ImportDocumentRequest as JSON (at
// most MaxBodyBytes; its document leaves the long lists empty), and each
// further part, named "segments/{segment}/{include|exclude}", one list of
// the document as a key-list upload body (one key per line, or text/csv).
// Each list is staged (keylist.Stage: memory bounded by a chunk) as it
// arrives, then the document and every list are applied in one
// transaction and one revision, or nothing: a list replaces the stored
// one, changing only the keys that differ. The answer is the
// ImportDocumentResponse. Export is the other way round: ExportDocument
// leaves the long lists out, and
//
//	GET /api/v1/projects/{project}/segments/{segment}/keys/{list}  Accept: text/plain
//
// streams one whole list, one key per line.
const importStreamPath = "/api/v1/documents:import-stream"

func (s *Server) registerDocumentStreams(mux *http.ServeMux) {
	mux.HandleFunc("POST "+importStreamPath, s.importStream)
}

func (s *Server) importStream(w http.ResponseWriter, r *http.Request) {
	ctx, err := s.httpCaller(r, auth.Admin)
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	var lists []stagedList
	defer func() {
		for _, l := range lists {
			l.keys.Close()
		}
	}()
	req, err := s.readImportParts(r, &lists)
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	resp, err := s.importDocument(ctx, req, lists)
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	writeProtoJSON(w, resp)
}

// readImportParts reads the request part and stages every list part,
// appending it to lists (which the caller closes, also after an error).
func (s *Server) readImportParts(r *http.Request, lists *[]stagedList) (*pb.ImportDocumentRequest, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, invalidField("body", "Content-Type %q: want multipart/form-data", mt)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalidField("body", "%v", err)
	}
	var req *pb.ImportDocumentRequest
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalidField("body", "%v", err)
		}
		name := part.FormName()
		if req == nil {
			if name != "request" {
				return nil, invalidField("body", "the first part is %q: want \"request\"", name)
			}
			if req, err = readRequestPart(part); err != nil {
				return nil, err
			}
			continue
		}
		l, err := listPart(name)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, invalidField(name, "sent twice")
		}
		seen[name] = true
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		l.keys = keylist.NewStage("", 0)
		*lists = append(*lists, l)
		if err := stageKeys(l.keys, keylist.NewReader(part, ct == "text/csv", s.keyLimits)); err != nil {
			return nil, lineError(name, err)
		}
	}
	if req == nil {
		return nil, invalidField("body", "no \"request\" part")
	}
	return req, nil
}

// readRequestPart decodes the request part, at most MaxBodyBytes of JSON.
func readRequestPart(part *multipart.Part) (*pb.ImportDocumentRequest, error) {
	data, err := io.ReadAll(io.LimitReader(part, MaxBodyBytes+1))
	if err != nil {
		return nil, invalidField("request", "%v", err)
	}
	if len(data) > MaxBodyBytes {
		return nil, invalidField("request", "over %d bytes: send the long key lists as parts of their own", MaxBodyBytes)
	}
	req := &pb.ImportDocumentRequest{}
	if err := protojson.Unmarshal(data, req); err != nil {
		return nil, invalidField("request", "%v", err)
	}
	return req, nil
}

// listPart parses a list part's name, segments/{segment}/{include|exclude}.
func listPart(name string) (stagedList, error) {
	rest, ok := strings.CutPrefix(name, "segments/")
	seg, list, ok2 := strings.Cut(rest, "/")
	l, ok3 := keylist.ParseList(list)
	if !ok || !ok2 || !ok3 || seg == "" {
		return stagedList{}, invalidField(name, "a list part is named segments/{segment}/include or segments/{segment}/exclude")
	}
	return stagedList{segment: seg, list: l, field: name}, nil
}

// segmentKeysText streams one whole list, one key per line, from the
// current State (whose lists are immutable: no lock, no copy).
func (s *Server) segmentKeysText(w http.ResponseWriter, keys []string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	bw := newLineWriter(w)
	for _, k := range keys {
		if err := bw.line(k); err != nil {
			return // the client went away
		}
	}
	bw.flush()
}

// lineWriter writes lines through a buffer of 64 KiB.
type lineWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{w: w, buf: make([]byte, 0, 64<<10)} }

func (lw *lineWriter) line(s string) error {
	if len(lw.buf)+len(s)+1 > cap(lw.buf) {
		lw.flush()
	}
	lw.buf = append(append(lw.buf, s...), '\n')
	return lw.err
}

func (lw *lineWriter) flush() {
	if lw.err == nil && len(lw.buf) > 0 {
		_, lw.err = lw.w.Write(lw.buf)
	}
	lw.buf = lw.buf[:0]
}

// wantsText reports whether a GET of a list asks for the whole list as
// text (Accept: text/plain) rather than a JSON page.
func wantsText(r *http.Request) bool {
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(a)); mt == "text/plain" {
			return true
		}
	}
	return false
}

func (s *documentService) ImportDocumentStream(stream pb.DocumentService_ImportDocumentStreamServer) error {
	first, err := stream.Recv()
	if err == io.EOF {
		return invalidField("request", "is required: the stream carried no message")
	}
	if err != nil {
		return err
	}
	if first.GetRequest() == nil {
		return invalidField("request", "is required in the first message")
	}
	var lists []stagedList
	defer func() {
		for _, l := range lists {
			l.keys.Close()
		}
	}()
	var (
		cur     *stagedList // the list being received; its Stage is shared with lists
		counter *keylist.Counter
		batch   []string
	)
	seen := map[string]bool{}
	for msg := first; ; {
		if msg.GetSegment() != "" || msg.GetList() != "" {
			name := "segments/" + msg.GetSegment() + "/" + msg.GetList()
			if cur == nil || cur.field != name {
				if seen[name] {
					return invalidField(name, "sent twice, or not in one run of messages")
				}
				seen[name] = true
				l, err := listPart(name)
				if err != nil {
					return err
				}
				l.keys = keylist.NewStage("", 0)
				lists = append(lists, l)
				cur, counter = &l, keylist.NewCounter(s.keyLimits)
			}
		} else if len(msg.GetKeys()) > 0 {
			return invalidField("segment", "is required with keys")
		}
		batch = batch[:0]
		for _, raw := range msg.GetKeys() {
			key, ok, err := counter.Next(raw)
			if err != nil {
				return lineError(cur.field, err)
			}
			if ok {
				batch = append(batch, key)
			}
		}
		if cur != nil {
			if err := cur.keys.Add(batch); err != nil {
				return err
			}
		}
		if msg, err = stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
	}
	resp, err := s.importDocument(stream.Context(), first.GetRequest(), lists)
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}
