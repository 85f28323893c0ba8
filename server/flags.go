package server

import (
	"context"
	"strings"

	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
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
	get:        (*store.ProjectState).Flag,
	create:     (*store.Tx).CreateFlag,
	update:     (*store.Tx).UpdateFlag,
	remove:     (*store.Tx).DeleteFlag,
	newProto:   func() *pb.Flag { return &pb.Flag{} },
	newModel:   func() *model.Flag { return &model.Flag{} },

	targeting:    (*store.ProjectState).FlagTargeting,
	setTargeting: (*store.Tx).SetFlagTargeting,
}

func (s *flagService) ListFlags(_ context.Context, req *pb.ListFlagsRequest) (*pb.ListFlagsResponse, error) {
	var keep func(*model.Flag) bool
	if q, typ := strings.ToLower(req.GetQuery()), req.GetType(); q != "" || typ != "" {
		keep = func(f *model.Flag) bool {
			return (typ == "" || string(f.Type) == typ) &&
				(q == "" || strings.Contains(strings.ToLower(f.Key), q) || strings.Contains(strings.ToLower(f.Description), q))
		}
	}
	items, next, err := flags.listWhere(s.Server, req.GetProject(), req.GetPageSize(), req.GetPageToken(), keep)
	if err != nil {
		return nil, err
	}
	return &pb.ListFlagsResponse{Flags: items, NextPageToken: next}, nil
}

func (s *flagService) GetFlag(_ context.Context, req *pb.GetFlagRequest) (*pb.Flag, error) {
	return flags.read(s.Server, req.GetProject(), req.GetKey())
}

func (s *flagService) CreateFlag(ctx context.Context, req *pb.CreateFlagRequest) (*pb.Flag, error) {
	return flags.createFrom(ctx, s.Server, req.GetProject(), req.GetFlag())
}

func (s *flagService) UpdateFlag(ctx context.Context, req *pb.UpdateFlagRequest) (*pb.Flag, error) {
	return flags.updateFrom(ctx, s.Server, req.GetProject(), req.GetFlag(), req.GetUpdateMask(), req.GetFlag().GetEtag())
}

func (s *flagService) DeleteFlag(ctx context.Context, req *pb.DeleteFlagRequest) (*emptypb.Empty, error) {
	if err := flags.delete(ctx, s.Server, req.GetProject(), req.GetKey(), req.GetEtag()); err != nil {
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
		req.GetTargeting(), req.GetUpdateMask(), req.GetEtag())
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
