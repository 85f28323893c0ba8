package server

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

// flagService manages flags and their targeting per environment.
type flagService struct {
	pb.UnimplementedFlagServiceServer
	*Server
}

var _ pb.FlagServiceServer = (*flagService)(nil)

var flags = kind[*model.Flag, *pb.Flag]{
	field:      "flag",
	collection: "flags",
	items:      func(d *model.Document) []*model.Flag { return d.Flags },
	keyOf:      func(m *model.Flag) string { return m.Key },
	get:        (*domain.ProjectState).Flag,
	create:     (*domain.Tx).CreateFlag,
	update:     (*domain.Tx).UpdateFlag,
	remove:     (*domain.Tx).DeleteFlag,
	newProto:   func() *pb.Flag { return &pb.Flag{} },
	newModel:   func() *model.Flag { return &model.Flag{} },

	targeting:    (*domain.ProjectState).FlagTargeting,
	setTargeting: (*domain.Tx).SetFlagTargeting,
}

func (s *flagService) ListFlags(ctx context.Context, req *pb.ListFlagsRequest) (*pb.ListFlagsResponse, error) {
	days, err := staleDays("stale_days", req.GetStaleDays(), 0)
	if err != nil {
		return nil, err
	}
	// Usage is read only when the filter or the response needs it.
	var ps *domain.ProjectState
	var seen map[string]map[string]time.Time
	if days > 0 || req.GetUsage() {
		if ps, err = s.projectState(req.GetProject()); err != nil {
			return nil, err
		}
		if seen, err = s.events.LastSeen(ctx, req.GetProject()); err != nil {
			return nil, err
		}
	}
	q, typ, tag := strings.ToLower(req.GetQuery()), req.GetType(), req.GetTag()
	var keep func(*model.Flag) bool
	if q != "" || typ != "" || tag != "" || days > 0 {
		cutoff := s.store.Now().Add(-time.Duration(days) * 24 * time.Hour)
		keep = func(f *model.Flag) bool {
			if days > 0 {
				if _, last := flagUse(ps, seen, f.Key); !last.IsZero() && !last.Before(cutoff) {
					return false
				}
			}
			return (typ == "" || string(f.Type) == typ) && (tag == "" || slices.Contains(f.Tags, tag)) &&
				(q == "" || strings.Contains(strings.ToLower(f.Key), q) || strings.Contains(strings.ToLower(f.Description), q))
		}
	}
	items, next, err := flags.listWhere(s.Server, req.GetProject(), req.GetPageSize(), req.GetPageToken(), keep)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListFlagsResponse{Flags: items, NextPageToken: next}
	if req.GetUsage() {
		for _, f := range items {
			u, _ := flagUse(ps, seen, f.GetKey())
			resp.Usage = append(resp.Usage, u)
		}
	}
	return resp, nil
}

func (s *flagService) GetFlag(_ context.Context, req *pb.GetFlagRequest) (*pb.Flag, error) {
	return flags.read(s.Server, req.GetProject(), req.GetKey())
}

func (s *flagService) CreateFlag(ctx context.Context, req *pb.CreateFlagRequest) (*pb.Flag, error) {
	return flags.createFrom(ctx, s.Server, req.GetProject(), req.GetFlag())
}

func (s *flagService) UpdateFlag(ctx context.Context, req *pb.UpdateFlagRequest) (*pb.Flag, error) {
	return flags.updateFrom(ctx, s.Server, req.GetProject(), req.GetFlag(), req.GetUpdateMask(), req.GetFlag().GetEtag(), req)
}

func (s *flagService) DeleteFlag(ctx context.Context, req *pb.DeleteFlagRequest) (*emptypb.Empty, error) {
	if err := flags.delete(ctx, s.Server, req.GetProject(), req.GetKey(), req.GetEtag(), req); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *flagService) GetFlagTargeting(_ context.Context, req *pb.GetFlagTargetingRequest) (*pb.FlagTargeting, error) {
	v, err := flags.readTargeting(s.store.State(), req.GetProject(), req.GetFlag(), req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return flagTargetingProto(req.GetFlag(), req.GetEnvironment(), v), nil
}

func (s *flagService) UpdateFlagTargeting(ctx context.Context, req *pb.UpdateFlagTargetingRequest) (*pb.FlagTargeting, error) {
	v, err := flags.updateTargeting(ctx, s.Server, req.GetProject(), req.GetFlag(), req.GetEnvironment(),
		req.GetTargeting(), req.GetUpdateMask(), req.GetEtag(), req)
	if err != nil {
		return nil, err
	}
	return flagTargetingProto(req.GetFlag(), req.GetEnvironment(), v), nil
}

func flagTargetingProto(flag, env string, v targetingView) *pb.FlagTargeting {
	return &pb.FlagTargeting{
		Flag: flag, Environment: env, Targeting: v.targeting,
		Etag: v.etag, Revision: v.revision, UpdateTime: v.updateTime,
	}
}
