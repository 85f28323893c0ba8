package server

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

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
}

func (s *flagService) ListFlags(_ context.Context, req *pb.ListFlagsRequest) (*pb.ListFlagsResponse, error) {
	items, next, err := flags.list(s.Server, req.GetProject(), req.GetPageSize(), req.GetPageToken())
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

// flagTargeting reads one flag's targeting in one environment from a state.
func flagTargeting(st *store.State, project, flag, env string) (*pb.FlagTargeting, error) {
	ps, ok := st.Project(project)
	if !ok {
		return nil, notFound("project %q", project)
	}
	if _, ok := ps.Environment(env); !ok {
		return nil, notFound("environment %s/%s", project, env)
	}
	if _, _, ok := ps.Flag(flag); !ok {
		return nil, notFound("flag %s/%s", project, flag)
	}
	out := &pb.FlagTargeting{Flag: flag, Environment: env, Targeting: &pb.Targeting{}}
	e, _ := ps.Environment(env)
	out.Revision = e.Revision
	t, meta, ok := ps.FlagTargeting(flag, env)
	if ok {
		if err := toProto(t, out.Targeting); err != nil {
			return nil, err
		}
		out.Etag = meta.Etag
		if !meta.UpdateTime.IsZero() {
			out.UpdateTime = timestamppb.New(meta.UpdateTime)
		}
	}
	return out, nil
}

func (s *flagService) GetFlagTargeting(_ context.Context, req *pb.GetFlagTargetingRequest) (*pb.FlagTargeting, error) {
	return flagTargeting(s.store.State(), req.GetProject(), req.GetFlag(), req.GetEnvironment())
}

func (s *flagService) UpdateFlagTargeting(ctx context.Context, req *pb.UpdateFlagTargetingRequest) (*pb.FlagTargeting, error) {
	cur, err := flagTargeting(s.store.State(), req.GetProject(), req.GetFlag(), req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	next := cur.GetTargeting()
	if req.GetTargeting() == nil {
		return nil, invalidField("targeting", "is required")
	}
	if err := applyMask(next, req.GetTargeting(), req.GetUpdateMask()); err != nil {
		return nil, err
	}
	var t model.Targeting
	if err := fromProto(next, &t); err != nil {
		return nil, invalidField("targeting", "%v", err)
	}
	ps, _ := s.projectState(req.GetProject())
	at := 0
	for i, f := range ps.Document().Flags {
		if f.Key == req.GetFlag() {
			at = i
		}
	}
	c, err := s.update(ctx, func(tx *store.Tx) error {
		return tx.SetFlagTargeting(req.GetProject(), req.GetFlag(), req.GetEnvironment(), &t, req.GetEtag())
	})
	if err != nil {
		return nil, rebase(err, flagsPath(at)+".environments."+req.GetEnvironment(), "targeting")
	}
	return flagTargeting(c.State, req.GetProject(), req.GetFlag(), req.GetEnvironment())
}

func flagsPath(i int) string { return "flags[" + strconv.Itoa(i) + "]" }
