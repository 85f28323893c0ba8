package server

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

// componentService manages components.
type componentService struct {
	pb.UnimplementedComponentServiceServer
	*Server
}

var _ pb.ComponentServiceServer = (*componentService)(nil)

var components = kind[*model.Component, *pb.Component]{
	field:      "component",
	collection: "components",
	items:      func(d *model.Document) []*model.Component { return d.Components },
	keyOf:      func(m *model.Component) string { return m.Key },
	get:        (*domain.ProjectState).Component,
	create:     (*domain.Tx).CreateComponent,
	update:     (*domain.Tx).UpdateComponent,
	remove:     (*domain.Tx).DeleteComponent,
	newProto:   func() *pb.Component { return &pb.Component{} },
	newModel:   func() *model.Component { return &model.Component{} },

	targeting:    (*domain.ProjectState).ComponentTargeting,
	setTargeting: (*domain.Tx).SetComponentTargeting,
}

func (s *componentService) ListComponents(_ context.Context, req *pb.ListComponentsRequest) (*pb.ListComponentsResponse, error) {
	items, next, err := components.list(s.Server, req.GetProject(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &pb.ListComponentsResponse{Components: items, NextPageToken: next}, nil
}

func (s *componentService) GetComponent(_ context.Context, req *pb.GetComponentRequest) (*pb.Component, error) {
	return components.read(s.Server, req.GetProject(), req.GetKey())
}

func (s *componentService) CreateComponent(ctx context.Context, req *pb.CreateComponentRequest) (*pb.Component, error) {
	return components.createFrom(ctx, s.Server, req.GetProject(), req.GetComponent())
}

func (s *componentService) UpdateComponent(ctx context.Context, req *pb.UpdateComponentRequest) (*pb.Component, error) {
	return components.updateFrom(ctx, s.Server, req.GetProject(), req.GetComponent(), req.GetUpdateMask(), req.GetComponent().GetEtag(), req)
}

func (s *componentService) DeleteComponent(ctx context.Context, req *pb.DeleteComponentRequest) (*emptypb.Empty, error) {
	if err := components.delete(ctx, s.Server, req.GetProject(), req.GetKey(), req.GetEtag(), req); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *componentService) GetComponentTargeting(_ context.Context, req *pb.GetComponentTargetingRequest) (*pb.ComponentTargeting, error) {
	v, err := components.readTargeting(s.store.State(), req.GetProject(), req.GetComponent(), req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return componentTargetingProto(req.GetComponent(), req.GetEnvironment(), v), nil
}

func (s *componentService) UpdateComponentTargeting(ctx context.Context, req *pb.UpdateComponentTargetingRequest) (*pb.ComponentTargeting, error) {
	v, err := components.updateTargeting(ctx, s.Server, req.GetProject(), req.GetComponent(), req.GetEnvironment(),
		req.GetTargeting(), req.GetUpdateMask(), req.GetEtag(), req)
	if err != nil {
		return nil, err
	}
	return componentTargetingProto(req.GetComponent(), req.GetEnvironment(), v), nil
}

func componentTargetingProto(component, env string, v targetingView) *pb.ComponentTargeting {
	return &pb.ComponentTargeting{
		Component: component, Environment: env, Targeting: v.targeting,
		Etag: v.etag, Revision: v.revision, UpdateTime: v.updateTime,
	}
}
