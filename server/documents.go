package server

import (
	"context"
	"errors"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
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
	var sum store.ImportSummary
	c, err := s.update(ctx, overriding(doc.Project, req, func(tx *store.Tx) error {
		var err error
		sum, err = tx.Import(doc, req.GetPrune())
		if err == nil && req.GetDryRun() {
			return errDryRun
		}
		return err
	}))
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	resp := &pb.ImportDocumentResponse{Revisions: map[string]uint64{}}
	for _, n := range []store.ImportCounts{sum.Environments, sum.Segments, sum.Flags, sum.Components} {
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

func (s *documentService) ExportDocument(_ context.Context, req *pb.ExportDocumentRequest) (*pb.Document, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	out := &pb.Document{}
	if err := toProto(ps.Document(), out); err != nil {
		return nil, err
	}
	return out, nil
}
