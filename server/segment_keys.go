package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/keylist"
)

// A segment's key lists as a sub-resource (package keylist), over gRPC
// (SegmentService.EditSegmentKeys, ListSegmentKeys, CheckSegmentKey) and
// over REST, hand-written on the HTTP port because an upload is a streamed
// text body, not JSON, and is exempt from MaxBodyBytes:
//
//	POST /api/v1/projects/{project}/segments/{segment}/keys/{list}          add
//	POST /api/v1/projects/{project}/segments/{segment}/keys/{list}/remove   remove
//	PUT  /api/v1/projects/{project}/segments/{segment}/keys/{list}          replace
//	GET  /api/v1/projects/{project}/segments/{segment}/keys/{list}?page_size=&page_token=
//	GET  /api/v1/projects/{project}/segments/{segment}/keys/{list}   Accept: text/plain: the whole list, one key per line
//	GET  /api/v1/projects/{project}/segments/{segment}/keys/{list}/check?key=K
//
// {list} is "include" or "exclude". An upload's body is one key per line
// (any Content-Type but text/csv), or text/csv (the first field of each
// record); blank lines are skipped. The key is authenticated from the
// headers before the body is read, with the permission of segment updates
// (read for GET). The optional etag comes from If-Match or ?etag=. The
// limits are Options' key count and key length: a key over them, or
// malformed, answers 400 naming its line ("body": "line 7: …"), and nothing
// is applied. Answers are the gRPC responses as JSON.

const segmentKeysPath = "/api/v1/projects/{project}/segments/{segment}/keys/{list}"

// WithKeyListLimits sets the limits of one key-list upload (defaults:
// keylist.DefaultMaxKeys keys of keylist.DefaultMaxKeyBytes bytes).
func WithKeyListLimits(l keylist.Limits) Option {
	return func(o *options) { o.keyLimits = l }
}

// registerSegmentKeys adds the REST routes of key lists to mux, which must
// not limit request bodies.
func (s *Server) registerSegmentKeys(mux *http.ServeMux) {
	mux.HandleFunc("POST "+segmentKeysPath, s.segmentKeysUpload(keylist.Add))
	mux.HandleFunc("POST "+segmentKeysPath+"/remove", s.segmentKeysUpload(keylist.Remove))
	mux.HandleFunc("PUT "+segmentKeysPath, s.segmentKeysUpload(keylist.Replace))
	mux.HandleFunc("GET "+segmentKeysPath, s.segmentKeysList)
	mux.HandleFunc("GET "+segmentKeysPath+"/check", s.segmentKeysCheck)
}

// keyUpload is what an upload changes.
type keyUpload struct {
	project, segment string
	list             keylist.List
	op               keylist.Op
	etag             string
}

// parseUpload checks the names of an upload and that the segment exists.
func (s *Server) parseUpload(project, segment, list, op, etag string) (keyUpload, error) {
	u := keyUpload{project: project, segment: segment, etag: etag}
	var err error
	if u.list, err = parseList(list); err != nil {
		return u, err
	}
	o, ok := keylist.ParseOp(op)
	if !ok {
		return u, invalidField("op", "%q is not add, remove or replace", op)
	}
	u.op = o
	if _, err := s.segmentOf(project, segment); err != nil {
		return u, err
	}
	return u, nil
}

func parseList(list string) (keylist.List, error) {
	if list == "" {
		return keylist.Include, nil
	}
	l, ok := keylist.ParseList(list)
	if !ok {
		return "", invalidField("list", "%q is not include or exclude", list)
	}
	return l, nil
}

// segmentOf returns the list holder: the segment of a project.
func (s *Server) segmentOf(project, segment string) (*domain.ProjectState, error) {
	ps, err := s.projectState(project)
	if err != nil {
		return nil, err
	}
	if _, _, ok := ps.Segment(segment); !ok {
		return nil, notFound("segment %s/%s", project, segment)
	}
	return ps, nil
}

// applyKeys applies a staged upload in one store transaction.
func (s *Server) applyKeys(ctx context.Context, u keyUpload, keys *keylist.Stage) (*pb.EditSegmentKeysResponse, error) {
	var ch domain.SegmentKeysChange
	c, err := s.update(ctx, func(tx *domain.Tx) error {
		var err error
		ch, err = tx.EditSegmentKeys(u.project, u.segment, u.list, u.op, keys, u.etag)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &pb.EditSegmentKeysResponse{
		Added: int64(ch.Added), Removed: int64(ch.Removed), Count: int64(ch.Count),
		Etag: ch.Etag, Revision: c.Revision,
	}, nil
}

// lineError turns a keylist.LineError into a 400 on field; other errors
// pass.
func lineError(field string, err error) error {
	var le *keylist.LineError
	if errors.As(err, &le) {
		return invalidField(field, "%s", le.Error())
	}
	return err
}

func (s *segmentService) EditSegmentKeys(stream pb.SegmentService_EditSegmentKeysServer) error {
	first, err := stream.Recv()
	if err == io.EOF {
		return invalidField("project", "is required: the stream carried no message")
	}
	if err != nil {
		return err
	}
	u, err := s.parseUpload(first.GetProject(), first.GetSegment(), first.GetList(), first.GetOp(), first.GetEtag())
	if err != nil {
		return err
	}
	counter := keylist.NewCounter(s.keyLimits)
	stage := keylist.NewStage("", 0)
	defer stage.Close()
	var batch []string
	for msg := first; ; {
		batch = batch[:0]
		for _, raw := range msg.GetKeys() {
			key, ok, err := counter.Next(raw)
			if err != nil {
				return lineError("keys", err)
			}
			if ok {
				batch = append(batch, key)
			}
		}
		if err := stage.Add(batch); err != nil {
			return err
		}
		if msg, err = stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
	}
	resp, err := s.applyKeys(stream.Context(), u, stage)
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

func (s *segmentService) ListSegmentKeys(_ context.Context, req *pb.ListSegmentKeysRequest) (*pb.ListSegmentKeysResponse, error) {
	return s.listSegmentKeys(req)
}

func (s *segmentService) CheckSegmentKey(_ context.Context, req *pb.CheckSegmentKeyRequest) (*pb.CheckSegmentKeyResponse, error) {
	return s.checkSegmentKey(req)
}

// keysOf returns one list of a segment as the current State holds it.
func (s *Server) keysOf(project, segment, list string) ([]string, error) {
	l, err := parseList(list)
	if err != nil {
		return nil, err
	}
	ps, err := s.segmentOf(project, segment)
	if err != nil {
		return nil, err
	}
	seg, _, _ := ps.Segment(segment)
	if l == keylist.Exclude {
		return seg.Exclude, nil
	}
	return seg.Include, nil
}

func (s *Server) listSegmentKeys(req *pb.ListSegmentKeysRequest) (*pb.ListSegmentKeysResponse, error) {
	keys, err := s.keysOf(req.GetProject(), req.GetSegment(), req.GetList())
	if err != nil {
		return nil, err
	}
	items, next, err := page(keys, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &pb.ListSegmentKeysResponse{Keys: items, NextPageToken: next, Count: int64(len(keys))}, nil
}

func (s *Server) checkSegmentKey(req *pb.CheckSegmentKeyRequest) (*pb.CheckSegmentKeyResponse, error) {
	if req.GetKey() == "" {
		return nil, invalidField("key", "is required")
	}
	keys, err := s.keysOf(req.GetProject(), req.GetSegment(), req.GetList())
	if err != nil {
		return nil, err
	}
	return &pb.CheckSegmentKeyResponse{Member: keylist.Contains(keys, req.GetKey())}, nil
}

// httpCaller authenticates a hand-written admin handler's request and
// returns the context its store writes are made with.
func (s *Server) httpCaller(r *http.Request, perm auth.Permission) (context.Context, error) {
	p, err := s.httpPrincipal(r, perm)
	if err != nil {
		return nil, err
	}
	return context.WithValue(r.Context(), callerKey{}, &caller{principal: p, peer: remoteHost(r)}), nil
}

func (s *Server) segmentKeysUpload(op keylist.Op) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, err := s.httpCaller(r, auth.Edit)
		if err != nil {
			s.writeHTTPError(w, r, err)
			return
		}
		etag := r.Header.Get("If-Match")
		if etag == "" {
			etag = r.URL.Query().Get("etag")
		}
		u, err := s.parseUpload(r.PathValue("project"), r.PathValue("segment"), r.PathValue("list"), string(op), etag)
		if err != nil {
			s.writeHTTPError(w, r, err)
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		stage := keylist.NewStage("", 0)
		defer stage.Close()
		if err := stageKeys(stage, keylist.NewReader(r.Body, mt == "text/csv", s.keyLimits)); err != nil {
			s.writeHTTPError(w, r, lineError("body", err))
			return
		}
		resp, err := s.applyKeys(ctx, u, stage)
		if err != nil {
			s.writeHTTPError(w, r, err)
			return
		}
		writeProtoJSON(w, resp)
	}
}

// stageKeys reads every batch of kr into stage.
func stageKeys(stage *keylist.Stage, kr *keylist.Reader) error {
	for {
		batch, err := kr.Next()
		if err == io.EOF {
			return nil
		}
		if err == nil {
			err = stage.Add(batch)
		}
		if err != nil {
			return err
		}
	}
}

func (s *Server) segmentKeysList(w http.ResponseWriter, r *http.Request) {
	if _, err := s.httpPrincipal(r, auth.Read); err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	if wantsText(r) {
		keys, err := s.keysOf(r.PathValue("project"), r.PathValue("segment"), r.PathValue("list"))
		if err != nil {
			s.writeHTTPError(w, r, err)
			return
		}
		s.segmentKeysText(w, keys)
		return
	}
	q := r.URL.Query()
	size := 0
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			s.writeHTTPError(w, r, invalidField("page_size", "%q is not a number", v))
			return
		}
		size = int(n)
	}
	resp, err := s.listSegmentKeys(&pb.ListSegmentKeysRequest{
		Project: r.PathValue("project"), Segment: r.PathValue("segment"), List: r.PathValue("list"),
		PageSize: int32(size), PageToken: q.Get("page_token"),
	})
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	writeProtoJSON(w, resp)
}

func (s *Server) segmentKeysCheck(w http.ResponseWriter, r *http.Request) {
	if _, err := s.httpPrincipal(r, auth.Read); err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	resp, err := s.checkSegmentKey(&pb.CheckSegmentKeyRequest{
		Project: r.PathValue("project"), Segment: r.PathValue("segment"), List: r.PathValue("list"),
		Key: r.URL.Query().Get("key"),
	})
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	writeProtoJSON(w, resp)
}

// writeProtoJSON writes m as the gateway would: protojson with proto names.
func writeProtoJSON(w http.ResponseWriter, m proto.Message) {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		http.Error(w, "encode answer", http.StatusInternalServerError)
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	w.Write(b)
}
