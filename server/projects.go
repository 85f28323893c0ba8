package server

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// projectService manages projects and environments.
type projectService struct {
	pb.UnimplementedProjectServiceServer
	*Server
}

var _ pb.ProjectServiceServer = (*projectService)(nil)

func projectProto(p domain.Project) *pb.Project {
	out := &pb.Project{Key: p.Key, Description: p.Description}
	setMeta(out, p.Meta)
	return out
}

func environmentProto(e domain.Environment) *pb.Environment {
	out := &pb.Environment{Key: e.Key, Description: e.Description, Revision: e.Revision}
	setMeta(out, e.Meta)
	return out
}

// projectState returns a project of the current state or NotFound.
func (s *Server) projectState(key string) (*domain.ProjectState, error) {
	if key == "" {
		return nil, invalidField("project", "is required")
	}
	ps, ok := s.store.State().Project(key)
	if !ok {
		return nil, notFound("project %q", key)
	}
	return ps, nil
}

// update runs one store transaction as the calling principal.
func (s *Server) update(ctx context.Context, fn func(tx *domain.Tx) error) (*domain.Commit, error) {
	return s.store.Update(ctx, actorFrom(ctx), fn)
}

func (s *projectService) ListProjects(_ context.Context, req *pb.ListProjectsRequest) (*pb.ListProjectsResponse, error) {
	items, next, err := page(s.store.State().Projects(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &pb.ListProjectsResponse{NextPageToken: next}
	for _, ps := range items {
		resp.Projects = append(resp.Projects, projectProto(ps.Project()))
	}
	return resp, nil
}

func (s *projectService) GetProject(_ context.Context, req *pb.GetProjectRequest) (*pb.Project, error) {
	ps, err := s.projectState(req.GetKey())
	if err != nil {
		return nil, err
	}
	return projectProto(ps.Project()), nil
}

func (s *projectService) CreateProject(ctx context.Context, req *pb.CreateProjectRequest) (*pb.Project, error) {
	p := req.GetProject()
	if p == nil {
		return nil, invalidField("project", "is required")
	}
	if err := checkKey("project.key", p.GetKey()); err != nil {
		return nil, err
	}
	c, err := s.update(ctx, func(tx *domain.Tx) error {
		return tx.CreateProject(domain.Project{Key: p.GetKey(), Description: p.GetDescription()})
	})
	if err != nil {
		return nil, err
	}
	ps, _ := c.State.Project(p.GetKey())
	return projectProto(ps.Project()), nil
}

func (s *projectService) UpdateProject(ctx context.Context, req *pb.UpdateProjectRequest) (*pb.Project, error) {
	p := req.GetProject()
	ps, err := s.projectState(p.GetKey())
	if err != nil {
		return nil, err
	}
	cur := projectProto(ps.Project())
	if err := applyMask(cur, p, req.GetUpdateMask()); err != nil {
		return nil, err
	}
	c, err := s.update(ctx, func(tx *domain.Tx) error {
		return tx.UpdateProject(domain.Project{Key: p.GetKey(), Description: cur.GetDescription()}, p.GetEtag())
	})
	if err != nil {
		return nil, err
	}
	ps, _ = c.State.Project(p.GetKey())
	return projectProto(ps.Project()), nil
}

func (s *projectService) DeleteProject(ctx context.Context, req *pb.DeleteProjectRequest) (*emptypb.Empty, error) {
	_, err := s.update(ctx, func(tx *domain.Tx) error { return tx.DeleteProject(req.GetKey(), req.GetEtag()) })
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *projectService) ListEnvironments(_ context.Context, req *pb.ListEnvironmentsRequest) (*pb.ListEnvironmentsResponse, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	items, next, err := page(ps.Environments(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &pb.ListEnvironmentsResponse{NextPageToken: next}
	for _, e := range items {
		resp.Environments = append(resp.Environments, environmentProto(e))
	}
	return resp, nil
}

func (s *projectService) GetEnvironment(_ context.Context, req *pb.GetEnvironmentRequest) (*pb.Environment, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	e, ok := ps.Environment(req.GetKey())
	if !ok {
		return nil, notFound("environment %s/%s", req.GetProject(), req.GetKey())
	}
	return environmentProto(e), nil
}

func (s *projectService) CreateEnvironment(ctx context.Context, req *pb.CreateEnvironmentRequest) (*pb.Environment, error) {
	e := req.GetEnvironment()
	if e == nil {
		return nil, invalidField("environment", "is required")
	}
	if err := checkKey("environment.key", e.GetKey()); err != nil {
		return nil, err
	}
	c, err := s.update(ctx, func(tx *domain.Tx) error {
		return tx.CreateEnvironment(req.GetProject(), domain.Environment{Key: e.GetKey(), Description: e.GetDescription()})
	})
	if err != nil {
		return nil, err
	}
	return s.environmentAfter(c, req.GetProject(), e.GetKey())
}

func (s *projectService) UpdateEnvironment(ctx context.Context, req *pb.UpdateEnvironmentRequest) (*pb.Environment, error) {
	e := req.GetEnvironment()
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	old, ok := ps.Environment(e.GetKey())
	if !ok {
		return nil, notFound("environment %s/%s", req.GetProject(), e.GetKey())
	}
	cur := environmentProto(old)
	if err := applyMask(cur, e, req.GetUpdateMask()); err != nil {
		return nil, err
	}
	c, err := s.update(ctx, func(tx *domain.Tx) error {
		return tx.UpdateEnvironment(req.GetProject(), domain.Environment{Key: e.GetKey(), Description: cur.GetDescription()}, e.GetEtag())
	})
	if err != nil {
		return nil, err
	}
	return s.environmentAfter(c, req.GetProject(), e.GetKey())
}

func (s *projectService) DeleteEnvironment(ctx context.Context, req *pb.DeleteEnvironmentRequest) (*emptypb.Empty, error) {
	_, err := s.update(ctx, func(tx *domain.Tx) error {
		return tx.DeleteEnvironment(req.GetProject(), req.GetKey(), req.GetEtag())
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// environmentAfter reads an environment from the state a commit published.
func (s *Server) environmentAfter(c *domain.Commit, project, key string) (*pb.Environment, error) {
	ps, ok := c.State.Project(project)
	if !ok {
		return nil, notFound("project %q", project)
	}
	e, ok := ps.Environment(key)
	if !ok {
		return nil, notFound("environment %s/%s", project, key)
	}
	return environmentProto(e), nil
}
