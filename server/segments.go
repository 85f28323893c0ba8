package server

import (
	"context"
	"strings"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
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
	get:        (*domain.ProjectState).Segment,
	create:     (*domain.Tx).CreateSegment,
	update:     (*domain.Tx).UpdateSegment,
	remove:     (*domain.Tx).DeleteSegment,
	newProto:   func() *pb.Segment { return &pb.Segment{} },
	newModel:   func() *model.Segment { return &model.Segment{} },
	view:       shownSegment,
	annotate:   annotateSegment,
	keep:       keepSegmentKeys,
}

// shownSegment is s without its lists longer than keylist.ChunkThreshold:
// answers never carry them (ListSegmentKeys pages through them).
func shownSegment(s *model.Segment) *model.Segment {
	if len(s.Include) <= keylist.ChunkThreshold && len(s.Exclude) <= keylist.ChunkThreshold {
		return s
	}
	c := *s
	if len(c.Include) > keylist.ChunkThreshold {
		c.Include = nil
	}
	if len(c.Exclude) > keylist.ChunkThreshold {
		c.Exclude = nil
	}
	return &c
}

// annotateSegment sets the counts and the content hash of s's lists (the
// store computes the hash once per change).
func annotateSegment(ps *domain.ProjectState, s *model.Segment, p *pb.Segment) {
	p.IncludeCount, p.ExcludeCount = int64(len(s.Include)), int64(len(s.Exclude))
	p.KeysHash = ps.SegmentKeysHash(s.Key)
}

// keepSegmentKeys keeps in next the stored lists answers do not show,
// unless mask names them.
func keepSegmentKeys(stored, next *model.Segment, mask *fieldmaskpb.FieldMask) *model.Segment {
	names := func(field string) bool {
		for _, p := range mask.GetPaths() {
			if p == field || strings.HasPrefix(p, field+".") {
				return true
			}
		}
		return false
	}
	if len(stored.Include) > keylist.ChunkThreshold && !names("include") {
		next.Include = stored.Include
	}
	if len(stored.Exclude) > keylist.ChunkThreshold && !names("exclude") {
		next.Exclude = stored.Exclude
	}
	return next
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
