package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/experiment"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

// experimentService manages experiments and metrics and reports results;
// the lifecycle rules are the experiment package's, this file only
// converts and calls them in one store transaction each.
type experimentService struct {
	pb.UnimplementedExperimentServiceServer
	*Server
}

var _ pb.ExperimentServiceServer = (*experimentService)(nil)

// experimentMetrics are metrics as a resource kind kept beside the
// document.
var experimentMetrics = kind[*model.Metric, *pb.Metric]{
	field:    "metric",
	keyOf:    func(m *model.Metric) string { return m.Key },
	get:      (*domain.ProjectState).Metric,
	create:   (*domain.Tx).CreateMetric,
	update:   (*domain.Tx).UpdateMetric,
	remove:   (*domain.Tx).DeleteMetric,
	newProto: func() *pb.Metric { return &pb.Metric{} },
	newModel: func() *model.Metric { return &model.Metric{} },
	outside:  (*domain.ProjectState).Metrics,
}

func (s *experimentService) ListExperiments(_ context.Context, req *pb.ListExperimentsRequest) (*pb.ListExperimentsResponse, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	var all []*model.Experiment
	for _, e := range ps.Experiments() {
		if (req.GetEnvironment() == "" || e.Environment == req.GetEnvironment()) &&
			(req.GetStatus() == "" || string(e.Status) == req.GetStatus()) {
			all = append(all, e)
		}
	}
	items, next, err := page(all, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &pb.ListExperimentsResponse{NextPageToken: next}
	for _, e := range items {
		p, err := experimentProto(ps, e.ID)
		if err != nil {
			return nil, err
		}
		resp.Experiments = append(resp.Experiments, p)
	}
	return resp, nil
}

func (s *experimentService) GetExperiment(_ context.Context, req *pb.GetExperimentRequest) (*pb.Experiment, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	return experimentProto(ps, req.GetId())
}

func (s *experimentService) CreateExperiment(ctx context.Context, req *pb.CreateExperimentRequest) (*pb.Experiment, error) {
	if req.GetExperiment() == nil {
		return nil, invalidField("experiment", "is required")
	}
	if _, err := s.projectState(req.GetProject()); err != nil {
		return nil, err
	}
	var e model.Experiment
	if err := fromProto(req.GetExperiment(), &e); err != nil {
		return nil, invalidField("experiment", "%v", err)
	}
	return s.write(ctx, req.GetProject(), e.ID, func(tx *domain.Tx) error { return experiment.Create(tx, req.GetProject(), &e) })
}

func (s *experimentService) UpdateExperiment(ctx context.Context, req *pb.UpdateExperimentRequest) (*pb.Experiment, error) {
	in := req.GetExperiment()
	if in == nil {
		return nil, invalidField("experiment", "is required")
	}
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	cur, err := experimentProto(ps, in.GetId())
	if err != nil {
		return nil, err
	}
	if err := applyMask(cur, in, req.GetUpdateMask()); err != nil {
		return nil, err
	}
	// Only the definition is the client's to change.
	cur.Status, cur.StartTime, cur.StopTime, cur.Decision, cur.Metrics = "", nil, nil, nil, nil
	var e model.Experiment
	if err := fromProto(cur, &e); err != nil {
		return nil, invalidField("experiment", "%v", err)
	}
	return s.write(ctx, req.GetProject(), e.ID, func(tx *domain.Tx) error {
		return experiment.Update(tx, req.GetProject(), &e, in.GetEtag())
	})
}

func (s *experimentService) DeleteExperiment(ctx context.Context, req *pb.DeleteExperimentRequest) (*emptypb.Empty, error) {
	if err := needID(req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	r := experiment.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag()}
	if _, err := s.update(ctx, func(tx *domain.Tx) error { return experiment.Delete(tx, r) }); err != nil {
		return nil, underField(err, "experiment")
	}
	return &emptypb.Empty{}, nil
}

func (s *experimentService) StartExperiment(ctx context.Context, req *pb.StartExperimentRequest) (*pb.Experiment, error) {
	if err := needID(req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	r := experiment.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag()}
	return s.write(ctx, r.Project, r.ID, func(tx *domain.Tx) error { return experiment.Start(tx, r) })
}

func (s *experimentService) StopExperiment(ctx context.Context, req *pb.StopExperimentRequest) (*pb.Experiment, error) {
	if err := needID(req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	r := experiment.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetReason()}
	d := model.Decision{Action: model.DecisionAction(req.GetDecision()), Variant: req.GetVariant(),
		Release: req.GetReleaseId(), ReleaseModel: req.GetReleaseModel()}
	c, err := s.update(ctx, func(tx *domain.Tx) error { return experiment.Stop(tx, r, d) })
	if err != nil {
		return nil, err // decision errors name request fields already
	}
	ps, ok := c.State.Project(r.Project)
	if !ok {
		return nil, notFound("project %q", r.Project)
	}
	return experimentProto(ps, r.ID)
}

func (s *experimentService) GetExperimentResults(ctx context.Context, req *pb.GetExperimentResultsRequest) (*pb.ExperimentResults, error) {
	if err := needID(req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	// Count every event stored before the call, so a client reads what it
	// sent.
	if err := s.experiments.CatchUp(ctx); err != nil {
		return nil, err
	}
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	res, err := s.experiments.Results(ctx, ps, req.GetId())
	if err != nil {
		return nil, err
	}
	out, err := resultsProto(ps.Key(), res)
	if err != nil || !req.GetExposures() {
		return out, err
	}
	counts, err := s.experiments.Exposures(ctx, ps, req.GetId(), time.Now())
	if err != nil {
		return nil, err
	}
	out.Exposures = exposuresProto(counts)
	return out, nil
}

func (s *experimentService) ListMetrics(_ context.Context, req *pb.ListMetricsRequest) (*pb.ListMetricsResponse, error) {
	items, next, err := experimentMetrics.list(s.Server, req.GetProject(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &pb.ListMetricsResponse{Metrics: items, NextPageToken: next}, nil
}

func (s *experimentService) GetMetric(_ context.Context, req *pb.GetMetricRequest) (*pb.Metric, error) {
	return experimentMetrics.read(s.Server, req.GetProject(), req.GetKey())
}

func (s *experimentService) CreateMetric(ctx context.Context, req *pb.CreateMetricRequest) (*pb.Metric, error) {
	return experimentMetrics.createFrom(ctx, s.Server, req.GetProject(), req.GetMetric())
}

func (s *experimentService) UpdateMetric(ctx context.Context, req *pb.UpdateMetricRequest) (*pb.Metric, error) {
	return experimentMetrics.updateFrom(ctx, s.Server, req.GetProject(), req.GetMetric(), req.GetUpdateMask(), req.GetMetric().GetEtag(), nil)
}

func (s *experimentService) DeleteMetric(ctx context.Context, req *pb.DeleteMetricRequest) (*emptypb.Empty, error) {
	if err := experimentMetrics.delete(ctx, s.Server, req.GetProject(), req.GetKey(), req.GetEtag(), nil); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// write runs fn in one transaction and reads the experiment back from the
// state it committed.
func (s *experimentService) write(ctx context.Context, project, id string, fn func(tx *domain.Tx) error) (*pb.Experiment, error) {
	c, err := s.update(ctx, fn)
	if err != nil {
		return nil, underField(err, "experiment")
	}
	ps, ok := c.State.Project(project)
	if !ok {
		return nil, notFound("project %q", project)
	}
	return experimentProto(ps, id)
}

// underField puts the paths of validation errors relative to a request's
// resource under its field ("experiment.treatments[0].weight").
func underField(err error, field string) error {
	return rebase(err, "", field)
}

// experimentProto converts an experiment of ps.
func experimentProto(ps *domain.ProjectState, id string) (*pb.Experiment, error) {
	if id == "" {
		return nil, invalidField("id", "is required")
	}
	e, meta, ok := ps.Experiment(id)
	if !ok {
		return nil, notFound("experiment %s/%s", ps.Key(), id)
	}
	out := &pb.Experiment{}
	if err := toProto(e, out); err != nil {
		return nil, err
	}
	setMeta(out, meta)
	return out, nil
}
