package server

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// releaseService manages release units; the lifecycle rules are the
// release package's, this file only converts and calls them in one store
// transaction each.
type releaseService struct {
	pb.UnimplementedReleaseServiceServer
	*Server
}

var _ pb.ReleaseServiceServer = (*releaseService)(nil)

func (s *releaseService) ListReleases(_ context.Context, req *pb.ListReleasesRequest) (*pb.ListReleasesResponse, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	var all []*model.Release
	for _, r := range ps.Releases() {
		if (req.GetEnvironment() == "" || r.Environment == req.GetEnvironment()) &&
			(req.GetState() == "" || string(r.State) == req.GetState()) {
			all = append(all, r)
		}
	}
	items, next, err := page(all, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &pb.ListReleasesResponse{NextPageToken: next}
	for _, r := range items {
		p, err := s.releaseView(ps, r.ID)
		if err != nil {
			return nil, err
		}
		resp.Releases = append(resp.Releases, p)
	}
	return resp, nil
}

func (s *releaseService) GetRelease(ctx context.Context, req *pb.GetReleaseRequest) (*pb.Release, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	out, err := s.releaseView(ps, req.GetId())
	if err != nil {
		return nil, err
	}
	if err := s.addWarnings(ps, out); err != nil {
		return nil, err
	}
	return out, s.addGuardrailResult(ctx, ps, out)
}

func (s *releaseService) CreateRelease(ctx context.Context, req *pb.CreateReleaseRequest) (*pb.Release, error) {
	if req.GetRelease() == nil {
		return nil, invalidField("release", "is required")
	}
	if _, err := s.projectState(req.GetProject()); err != nil {
		return nil, err
	}
	var r model.Release
	if err := fromProto(req.GetRelease(), &r); err != nil {
		return nil, invalidField("release", "%v", err)
	}
	return s.write(ctx, req.GetProject(), r.ID, func(tx *domain.Tx) error { return release.Create(tx, req.GetProject(), &r) })
}

func (s *releaseService) UpdateRelease(ctx context.Context, req *pb.UpdateReleaseRequest) (*pb.Release, error) {
	in := req.GetRelease()
	if in == nil {
		return nil, invalidField("release", "is required")
	}
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	cur, err := releaseProto(ps, in.GetId())
	if err != nil {
		return nil, err
	}
	if err := applyMask(cur, in, req.GetUpdateMask()); err != nil {
		return nil, err
	}
	// Only the definition is the client's to change.
	cur.State, cur.Stage, cur.StartTime, cur.StageTime, cur.RequesterName = "", 0, nil, nil, ""
	cur.Approvals, cur.Next, cur.Drifted, cur.Timeline = nil, nil, nil, nil
	cur.ModelEtag, cur.Incidents, cur.Review, cur.Steps = "", nil, nil, nil
	cur.Verification, cur.FinalCheck = nil, nil
	cur.Requester, cur.RequesterPrincipal = "", ""
	cur.FreezeOverrides, cur.Warnings = nil, nil
	var r model.Release
	if err := fromProto(cur, &r); err != nil {
		return nil, invalidField("release", "%v", err)
	}
	return s.write(ctx, req.GetProject(), r.ID, func(tx *domain.Tx) error {
		return release.Update(tx, req.GetProject(), &r, in.GetEtag())
	})
}

func (s *releaseService) DeleteRelease(ctx context.Context, req *pb.DeleteReleaseRequest) (*emptypb.Empty, error) {
	if err := needID(req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	_, err := s.update(ctx, func(tx *domain.Tx) error { return release.Delete(tx, req.GetProject(), req.GetId(), req.GetEtag()) })
	if err != nil {
		return nil, releaseError(err)
	}
	return &emptypb.Empty{}, nil
}

func (s *releaseService) StartRelease(ctx context.Context, req *pb.StartReleaseRequest) (*pb.Release, error) {
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetNote()}
	start := req.GetStartTime()
	if start != nil {
		if err := start.CheckValid(); err != nil {
			return nil, invalidField("start_time", "%v", err)
		}
	}
	return s.transition(ctx, r, func(tx *domain.Tx) error {
		if start == nil {
			return release.Start(tx, r, time.Time{})
		}
		return release.Start(tx, r, start.AsTime())
	})
}

func (s *releaseService) AdvanceRelease(ctx context.Context, req *pb.AdvanceReleaseRequest) (*pb.Release, error) {
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetNote(), AcknowledgeDrift: req.GetAcknowledgeDrift(), Convergence: s.sync}
	return s.transition(ctx, r, func(tx *domain.Tx) error { return release.Advance(tx, r) })
}

func (s *releaseService) ApproveRelease(ctx context.Context, req *pb.ApproveReleaseRequest) (*pb.Release, error) {
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetComment()}
	return s.transition(ctx, r, func(tx *domain.Tx) error { return release.Approve(tx, r) })
}

func (s *releaseService) PauseRelease(ctx context.Context, req *pb.PauseReleaseRequest) (*pb.Release, error) {
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetReason()}
	return s.transition(ctx, r, func(tx *domain.Tx) error { return release.Pause(tx, r) })
}

func (s *releaseService) ResumeRelease(ctx context.Context, req *pb.ResumeReleaseRequest) (*pb.Release, error) {
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetNote(), AcknowledgeDrift: req.GetAcknowledgeDrift()}
	return s.transition(ctx, r, func(tx *domain.Tx) error { return release.Resume(tx, r) })
}

func (s *releaseService) RollBackRelease(ctx context.Context, req *pb.RollBackReleaseRequest) (*pb.Release, error) {
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetReason(), Convergence: s.sync}
	return s.transition(ctx, r, func(tx *domain.Tx) error { return release.RollBack(tx, r) })
}

func (s *releaseService) CancelRelease(ctx context.Context, req *pb.CancelReleaseRequest) (*pb.Release, error) {
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetReason()}
	return s.transition(ctx, r, func(tx *domain.Tx) error { return release.Cancel(tx, r) })
}

// transition runs one lifecycle call and returns the release as it
// committed it.
func (s *releaseService) transition(ctx context.Context, r release.Request, fn func(tx *domain.Tx) error) (*pb.Release, error) {
	if err := needID(r.Project, r.ID); err != nil {
		return nil, err
	}
	return s.write(ctx, r.Project, r.ID, fn)
}

// write runs fn in one transaction and reads the release back from the
// state it committed.
func (s *releaseService) write(ctx context.Context, project, id string, fn func(tx *domain.Tx) error) (*pb.Release, error) {
	c, err := s.update(ctx, fn)
	if err != nil {
		return nil, releaseError(err)
	}
	ps, ok := c.State.Project(project)
	if !ok {
		return nil, notFound("project %q", project)
	}
	out, err := s.releaseView(ps, id)
	if err != nil {
		return nil, err
	}
	return out, s.addWarnings(ps, out)
}

// needID refuses a request that names no project or release.
func needID(project, id string) error {
	switch {
	case project == "":
		return invalidField("project", "is required")
	case id == "":
		return invalidField("id", "is required")
	}
	return nil
}

// releaseError puts the paths of a release's validation errors under the
// request field "release".
func releaseError(err error) error {
	var fes model.Errors
	if !errors.As(err, &fes) {
		return err
	}
	out := make(model.Errors, len(fes))
	for i, fe := range fes {
		path := "release"
		if fe.Path != "" {
			path += "." + fe.Path
		}
		out[i] = &model.FieldError{Path: path, Message: fe.Message}
	}
	return out
}

// releaseProto converts a release of ps with what is computed from the
// project: its next step and its drift.
func releaseProto(ps *domain.ProjectState, id string) (*pb.Release, error) {
	if id == "" {
		return nil, invalidField("id", "is required")
	}
	r, meta, ok := ps.Release(id)
	if !ok {
		return nil, notFound("release %s/%s", ps.Key(), id)
	}
	out := &pb.Release{}
	if err := toProto(r, out); err != nil {
		return nil, err
	}
	setMeta(out, meta)
	if step, ok := release.Next(r); ok {
		out.Next = &pb.ReleaseNextStep{
			Stage:           int32(step.Stage),
			Gate:            step.Gate,
			ApprovalsNeeded: int32(step.Approvals),
			ApprovalsGiven:  int32(step.Approved),
		}
		if step.Due != nil {
			out.Next.DueTime = timestamppb.New(*step.Due)
		}
	}
	out.Drifted = release.Drift(ps, r)
	if err := stepsProto(r, out); err != nil {
		return nil, err
	}
	return out, nil
}
