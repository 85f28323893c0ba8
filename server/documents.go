package server

import (
	"context"
	"errors"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
)

// documentService imports and exports whole documents.
type documentService struct {
	pb.UnimplementedDocumentServiceServer
	*Server
}

var _ pb.DocumentServiceServer = (*documentService)(nil)

// errDryRun ends a dry-run import's transaction without writing.
var errDryRun = errors.New("dry run")

func (s *documentService) ImportDocument(ctx context.Context, req *pb.ImportDocumentRequest) (*pb.ImportDocumentResponse, error) {
	return s.importDocument(ctx, req, nil)
}

// stagedList is one key list of an import that travels beside its
// document: it replaces the segment's list.
type stagedList struct {
	segment string
	list    keylist.List
	keys    *keylist.Stage
	field   string // where the list came from, for errors: "segments/beta/include"
}

// importDocument applies req's document and the staged lists in one
// transaction, or nothing. A staged list names a segment of the document
// whose list the document leaves empty; it replaces that list (only the
// keys that differ from the stored list change).
func (s *Server) importDocument(ctx context.Context, req *pb.ImportDocumentRequest, lists []stagedList) (*pb.ImportDocumentResponse, error) {
	if req.GetDocument() == nil {
		return nil, invalidField("document", "is required")
	}
	data, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(req.GetDocument())
	if err != nil {
		return nil, err
	}
	// The same parser and validator as 'switchyard validate' and the
	// conformance tests: one import path.
	doc, err := model.Parse(data)
	if err == nil {
		err = model.Validate(doc)
	}
	if err != nil {
		return nil, err
	}
	segs := make(map[string]*model.Segment, len(doc.Segments))
	for _, sg := range doc.Segments {
		segs[sg.Key] = sg
	}
	for _, l := range lists {
		sg, ok := segs[l.segment]
		switch {
		case !ok:
			return nil, invalidField(l.field, "segment %q is not in the document", l.segment)
		case l.list == keylist.Include && len(sg.Include) > 0, l.list == keylist.Exclude && len(sg.Exclude) > 0:
			return nil, invalidField(l.field, "the document has this list too: send it once")
		}
	}
	var sum domain.ImportSummary
	c, err := s.update(ctx, overriding(doc.Project, req, func(tx *domain.Tx) error {
		// A streamed list starts as the stored one, so the import itself
		// leaves it alone; the replace then changes only what differs.
		if ps, ok := tx.Project(doc.Project); ok {
			for _, l := range lists {
				if cur, _, ok := ps.Segment(l.segment); ok {
					if l.list == keylist.Include {
						segs[l.segment].Include = cur.Include
					} else {
						segs[l.segment].Exclude = cur.Exclude
					}
				}
			}
		}
		var err error
		if sum, err = tx.Import(doc, req.GetPrune()); err != nil {
			return err
		}
		for _, l := range lists {
			if _, err := tx.EditSegmentKeys(doc.Project, l.segment, l.list, keylist.Replace, l.keys, ""); err != nil {
				return err
			}
		}
		if req.GetDryRun() {
			return errDryRun
		}
		return nil
	}))
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	resp := &pb.ImportDocumentResponse{Revisions: map[string]uint64{}}
	for _, n := range []domain.ImportCounts{sum.Environments, sum.Segments, sum.Flags, sum.Components} {
		resp.Created += int32(n.Created)
		resp.Updated += int32(n.Updated)
		resp.Deleted += int32(n.Deleted)
		resp.Unchanged += int32(n.Unchanged)
	}
	if c != nil {
		for ref, rev := range c.Revisions {
			resp.Revisions[ref.Environment] = rev
		}
	}
	return resp, nil
}

// ExportDocument answers the project's document without the lists longer
// than keylist.ChunkThreshold (as segment answers): a segment that has one
// carries its counts and keys hash instead, and the lists travel through
// the key-list API (ListSegmentKeys, or the streamed text download), so
// the answer stays small whatever the lists' length. A document without
// long lists is answered whole, as import takes it.
func (s *documentService) ExportDocument(_ context.Context, req *pb.ExportDocumentRequest) (*pb.Document, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	doc := *ps.Document()
	doc.Segments = make([]*model.Segment, len(ps.Document().Segments))
	for i, sg := range ps.Document().Segments {
		doc.Segments[i] = shownSegment(sg)
	}
	out := &pb.Document{}
	if err := toProto(&doc, out); err != nil {
		return nil, err
	}
	for i, sg := range ps.Document().Segments {
		if doc.Segments[i] != sg {
			annotateSegment(ps, sg, out.GetSegments()[i])
		}
	}
	return out, nil
}
