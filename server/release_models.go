package server

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

// releaseModelService manages release models with the CRUD handlers every
// kind of project resource shares.
type releaseModelService struct {
	pb.UnimplementedReleaseModelServiceServer
	*Server
}

var _ pb.ReleaseModelServiceServer = (*releaseModelService)(nil)

var releaseModels = kind[*model.ReleaseModel, *pb.ReleaseModel]{
	field:    "release_model",
	outside:  (*domain.ProjectState).ReleaseModels,
	keyOf:    func(m *model.ReleaseModel) string { return m.Key },
	get:      (*domain.ProjectState).ReleaseModel,
	create:   (*domain.Tx).CreateReleaseModel,
	update:   (*domain.Tx).UpdateReleaseModel,
	remove:   (*domain.Tx).DeleteReleaseModel,
	newProto: func() *pb.ReleaseModel { return &pb.ReleaseModel{} },
	newModel: func() *model.ReleaseModel { return &model.ReleaseModel{} },
}

func (s *releaseModelService) ListReleaseModels(_ context.Context, req *pb.ListReleaseModelsRequest) (*pb.ListReleaseModelsResponse, error) {
	items, next, err := releaseModels.list(s.Server, req.GetProject(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &pb.ListReleaseModelsResponse{ReleaseModels: items, NextPageToken: next}, nil
}

func (s *releaseModelService) GetReleaseModel(_ context.Context, req *pb.GetReleaseModelRequest) (*pb.ReleaseModel, error) {
	return releaseModels.read(s.Server, req.GetProject(), req.GetKey())
}

func (s *releaseModelService) CreateReleaseModel(ctx context.Context, req *pb.CreateReleaseModelRequest) (*pb.ReleaseModel, error) {
	return releaseModels.createFrom(ctx, s.Server, req.GetProject(), req.GetReleaseModel())
}

func (s *releaseModelService) UpdateReleaseModel(ctx context.Context, req *pb.UpdateReleaseModelRequest) (*pb.ReleaseModel, error) {
	return releaseModels.updateFrom(ctx, s.Server, req.GetProject(), req.GetReleaseModel(), req.GetUpdateMask(), req.GetReleaseModel().GetEtag(), nil)
}

func (s *releaseModelService) DeleteReleaseModel(ctx context.Context, req *pb.DeleteReleaseModelRequest) (*emptypb.Empty, error) {
	if err := releaseModels.delete(ctx, s.Server, req.GetProject(), req.GetKey(), req.GetEtag(), nil); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
