package server

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
)

// segmentService manages segments.
type segmentService struct {
	pb.UnimplementedSegmentServiceServer
	*Server
}

var _ pb.SegmentServiceServer = (*segmentService)(nil)

var segments = kind[*model.Segment, *pb.Segment]{
	field:      "segment",
	collection: "segments",
	items:      func(d *model.Document) []*model.Segment { return d.Segments },
	keyOf:      func(m *model.Segment) string { return m.Key },
	get:        (*store.ProjectState).Segment,
	create:     (*store.Tx).CreateSegment,
	update:     (*store.Tx).UpdateSegment,
	remove:     (*store.Tx).DeleteSegment,
	newProto:   func() *pb.Segment { return &pb.Segment{} },
	newModel:   func() *model.Segment { return &model.Segment{} },
}

func (s *segmentService) ListSegments(_ context.Context, req *pb.ListSegmentsRequest) (*pb.ListSegmentsResponse, error) {
	items, next, err := segments.list(s.Server, req.GetProject(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &pb.ListSegmentsResponse{Segments: items, NextPageToken: next}, nil
}

func (s *segmentService) GetSegment(_ context.Context, req *pb.GetSegmentRequest) (*pb.Segment, error) {
	return segments.read(s.Server, req.GetProject(), req.GetKey())
}

func (s *segmentService) CreateSegment(ctx context.Context, req *pb.CreateSegmentRequest) (*pb.Segment, error) {
	return segments.createFrom(ctx, s.Server, req.GetProject(), req.GetSegment())
}

func (s *segmentService) UpdateSegment(ctx context.Context, req *pb.UpdateSegmentRequest) (*pb.Segment, error) {
	return segments.updateFrom(ctx, s.Server, req.GetProject(), req.GetSegment(), req.GetUpdateMask(), req.GetSegment().GetEtag(), nil)
}

func (s *segmentService) DeleteSegment(ctx context.Context, req *pb.DeleteSegmentRequest) (*emptypb.Empty, error) {
	if err := segments.delete(ctx, s.Server, req.GetProject(), req.GetKey(), req.GetEtag(), nil); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
