package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// DefaultReportPeriod is the period a release report covers when the
// request gives no start.
const DefaultReportPeriod = 30 * 24 * time.Hour

func (s *releaseService) AddReleaseIncident(ctx context.Context, req *pb.AddReleaseIncidentRequest) (*pb.Release, error) {
	if err := needID(req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	if req.GetIncident() == nil {
		return nil, invalidField("incident", "is required")
	}
	var in model.Incident
	if err := fromProto(req.GetIncident(), &in); err != nil {
		return nil, invalidField("incident", "%v", err)
	}
	in.ID, in.Stage = 0, 0 // output only
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag()}
	return s.record(ctx, r, "incident", func(tx *domain.Tx) error {
		_, err := release.AddIncident(tx, r, in)
		return err
	})
}

func (s *releaseService) SetReleaseReview(ctx context.Context, req *pb.SetReleaseReviewRequest) (*pb.Release, error) {
	if err := needID(req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	if req.GetReview() == nil {
		return nil, invalidField("review", "is required")
	}
	var rv model.Review
	if err := fromProto(req.GetReview(), &rv); err != nil {
		return nil, invalidField("review", "%v", err)
	}
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag()}
	return s.record(ctx, r, "review", func(tx *domain.Tx) error { return release.SetReview(tx, r, rv) })
}

// record runs a write that adds to a release's records, puts its
// validation errors under the request field, and returns the release as
// committed.
func (s *releaseService) record(ctx context.Context, r release.Request, field string, fn func(tx *domain.Tx) error) (*pb.Release, error) {
	c, err := s.update(ctx, fn)
	if err != nil {
		return nil, rebase(err, "", field)
	}
	ps, ok := c.State.Project(r.Project)
	if !ok {
		return nil, notFound("project %q", r.Project)
	}
	return s.releaseView(ps, r.ID)
}

func (s *releaseService) GetReleaseReport(_ context.Context, req *pb.GetReleaseReportRequest) (*pb.ReleaseReport, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	opts, err := reportOptions(req, s.store.Now())
	if err != nil {
		return nil, err
	}
	if env := opts.Environment; env != "" {
		if _, ok := ps.Environment(env); !ok {
			return nil, notFound("environment %s/%s", ps.Key(), env)
		}
	}
	out := &pb.ReleaseReport{}
	if err := toProto(release.BuildReport(ps.Releases(), opts), out); err != nil {
		return nil, err
	}
	out.Project, out.Environment = ps.Key(), opts.Environment
	out.Start, out.End = timestamppb.New(opts.Start), timestamppb.New(opts.End)
	out.Tolerance = durationpb.New(opts.Tolerance)
	return out, nil
}

// reportOptions reads a report request's period, environment and
// tolerance, with their defaults.
func reportOptions(req *pb.GetReleaseReportRequest, now time.Time) (release.ReportOptions, error) {
	opts := release.ReportOptions{End: now, Environment: req.GetEnvironment(), Tolerance: release.DefaultTolerance}
	if e := req.GetEnd(); e != nil {
		if err := e.CheckValid(); err != nil {
			return opts, invalidField("end", "%v", err)
		}
		opts.End = e.AsTime()
	}
	opts.Start = opts.End.Add(-DefaultReportPeriod)
	if st := req.GetStart(); st != nil {
		if err := st.CheckValid(); err != nil {
			return opts, invalidField("start", "%v", err)
		}
		opts.Start = st.AsTime()
	}
	if !opts.Start.Before(opts.End) {
		return opts, invalidField("start", "%s is not before end %s", opts.Start.Format(time.RFC3339), opts.End.Format(time.RFC3339))
	}
	if tol := req.GetTolerance(); tol != nil {
		if err := tol.CheckValid(); err != nil {
			return opts, invalidField("tolerance", "%v", err)
		}
		switch d := tol.AsDuration(); {
		case d < 0:
			return opts, invalidField("tolerance", "%s is negative", d)
		case d > 0:
			opts.Tolerance = d
		}
	}
	return opts, nil
}

// stepsProto sets out.Steps to the planned and actual times of r's
// stages.
func stepsProto(r *model.Release, out *pb.Release) error {
	steps := release.Steps(r)
	out.Steps = make([]*pb.ReleaseStepRecord, len(steps))
	for i, st := range steps {
		out.Steps[i] = &pb.ReleaseStepRecord{}
		if err := toProto(st, out.Steps[i]); err != nil {
			return err
		}
	}
	return nil
}

// DefaultDeliveryPeriod is the period delivery metrics cover when the
// request gives none.
const DefaultDeliveryPeriod = "30d"

func (s *releaseService) GetDeliveryMetrics(_ context.Context, req *pb.GetDeliveryMetricsRequest) (*pb.DeliveryMetrics, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	opts, err := deliveryOptions(req, s.store.Now())
	if err != nil {
		return nil, err
	}
	if env := opts.Environment; env != "" {
		if _, ok := ps.Environment(env); !ok {
			return nil, notFound("environment %s/%s", ps.Key(), env)
		}
	}
	if m := opts.Model; m != "" {
		if _, _, ok := ps.ReleaseModel(m); !ok {
			return nil, notFound("release model %s/%s", ps.Key(), m)
		}
	}
	out := &pb.DeliveryMetrics{}
	if err := toProto(release.BuildDelivery(ps.Releases(), opts), out); err != nil {
		return nil, err
	}
	out.Project, out.Environment, out.Model = ps.Key(), opts.Environment, opts.Model
	out.Start, out.End = timestamppb.New(opts.Start), timestamppb.New(opts.End)
	out.IncidentWindow, out.Tolerance = durationpb.New(opts.IncidentWindow), durationpb.New(opts.Tolerance)
	return out, nil
}

// deliveryOptions reads a delivery request's period, filters, incident
// window and tolerance, with their defaults.
func deliveryOptions(req *pb.GetDeliveryMetricsRequest, now time.Time) (release.DeliveryOptions, error) {
	opts := release.DeliveryOptions{End: now, Environment: req.GetEnvironment(), Model: req.GetModel(),
		IncidentWindow: release.DefaultIncidentWindow, Tolerance: release.DefaultTolerance}
	if e := req.GetEnd(); e != nil {
		if err := e.CheckValid(); err != nil {
			return opts, invalidField("end", "%v", err)
		}
		opts.End = e.AsTime()
	}
	period := req.GetPeriod()
	if period == "" {
		period = DefaultDeliveryPeriod
	}
	d, err := release.ParsePeriod(period)
	if err != nil {
		return opts, invalidField("period", "%v", err)
	}
	opts.Start = opts.End.Add(-d)
	for _, f := range []struct {
		name string
		in   *durationpb.Duration
		dst  *time.Duration
	}{{"incident_window", req.GetIncidentWindow(), &opts.IncidentWindow}, {"tolerance", req.GetTolerance(), &opts.Tolerance}} {
		if f.in == nil {
			continue
		}
		if err := f.in.CheckValid(); err != nil {
			return opts, invalidField(f.name, "%v", err)
		}
		switch d := f.in.AsDuration(); {
		case d < 0:
			return opts, invalidField(f.name, "%s is negative", d)
		case d > 0:
			*f.dst = d
		}
	}
	return opts, nil
}
