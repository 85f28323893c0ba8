package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/calendar"
	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// freezeService manages freezes with the CRUD handlers every kind of
// project resource shares, shows the schedule, and asks for and approves
// emergency overrides through the release package.
type freezeService struct {
	pb.UnimplementedFreezeServiceServer
	*Server
}

var _ pb.FreezeServiceServer = (*freezeService)(nil)

var freezes = kind[*model.Freeze, *pb.Freeze]{
	field:    "freeze",
	outside:  (*domain.ProjectState).Freezes,
	keyOf:    func(f *model.Freeze) string { return f.Key },
	get:      (*domain.ProjectState).Freeze,
	create:   (*domain.Tx).CreateFreeze,
	update:   (*domain.Tx).UpdateFreeze,
	remove:   (*domain.Tx).DeleteFreeze,
	newProto: func() *pb.Freeze { return &pb.Freeze{} },
	newModel: func() *model.Freeze { return &model.Freeze{} },
}

func (s *freezeService) ListFreezes(_ context.Context, req *pb.ListFreezesRequest) (*pb.ListFreezesResponse, error) {
	items, next, err := freezes.list(s.Server, req.GetProject(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &pb.ListFreezesResponse{Freezes: items, NextPageToken: next}, nil
}

func (s *freezeService) GetFreeze(_ context.Context, req *pb.GetFreezeRequest) (*pb.Freeze, error) {
	return freezes.read(s.Server, req.GetProject(), req.GetKey())
}

func (s *freezeService) CreateFreeze(ctx context.Context, req *pb.CreateFreezeRequest) (*pb.Freeze, error) {
	return freezes.createFrom(ctx, s.Server, req.GetProject(), req.GetFreeze())
}

func (s *freezeService) UpdateFreeze(ctx context.Context, req *pb.UpdateFreezeRequest) (*pb.Freeze, error) {
	return freezes.updateFrom(ctx, s.Server, req.GetProject(), req.GetFreeze(), req.GetUpdateMask(), req.GetFreeze().GetEtag(), nil)
}

func (s *freezeService) DeleteFreeze(ctx context.Context, req *pb.DeleteFreezeRequest) (*emptypb.Empty, error) {
	if err := freezes.delete(ctx, s.Server, req.GetProject(), req.GetKey(), req.GetEtag(), nil); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Calendar ranges: the default, and the longest a request may ask for.
const (
	calendarBefore   = 7 * 24 * time.Hour
	calendarAfter    = 90 * 24 * time.Hour
	maxCalendarRange = 366 * 24 * time.Hour
)

// calendarRange checks from and to of a calendar request and fills in the
// defaults around now.
func calendarRange(from, to *timestamppb.Timestamp, now time.Time) (time.Time, time.Time, error) {
	f, t := now.Add(-calendarBefore), now.Add(calendarAfter)
	if from != nil {
		if err := from.CheckValid(); err != nil {
			return f, t, invalidField("from", "%v", err)
		}
		f = from.AsTime()
		if to == nil {
			t = f.Add(calendarBefore + calendarAfter)
		}
	}
	if to != nil {
		if err := to.CheckValid(); err != nil {
			return f, t, invalidField("to", "%v", err)
		}
		t = to.AsTime()
		if from == nil {
			f = t.Add(-calendarBefore - calendarAfter)
		}
	}
	switch {
	case !t.After(f):
		return f, t, invalidField("to", "%s is not after from %s", t.Format(time.RFC3339), f.Format(time.RFC3339))
	case t.Sub(f) > maxCalendarRange:
		return f, t, invalidField("to", "the range from %s to %s is longer than 366 days", f.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	return f, t, nil
}

func (s *freezeService) GetCalendar(_ context.Context, req *pb.GetCalendarRequest) (*pb.Calendar, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	now := s.store.Now()
	from, to, err := calendarRange(req.GetFrom(), req.GetTo(), now)
	if err != nil {
		return nil, err
	}
	return calendarProto(calendar.Build(ps, from, to, now))
}

// calendarProto converts a schedule.
func calendarProto(c *calendar.Calendar) (*pb.Calendar, error) {
	out := &pb.Calendar{Project: c.Project, From: timestamppb.New(c.From), To: timestamppb.New(c.To)}
	for _, st := range c.Steps {
		p := &pb.CalendarStep{}
		if err := toProto(st, p); err != nil {
			return nil, err
		}
		out.Steps = append(out.Steps, p)
	}
	for _, o := range c.Freezes {
		out.Freezes = append(out.Freezes, &pb.CalendarFreeze{
			Freeze: o.Freeze.Key, Reason: o.Freeze.Reason,
			StartTime: timestamppb.New(o.Window.Start), EndTime: timestamppb.New(o.Window.End),
			Environments: o.Freeze.Environments, Components: o.Freeze.Components,
			Rrule: o.Freeze.RRule, TimeZone: o.Freeze.TimeZone,
		})
	}
	cs, err := conflictsProto(c.Conflicts)
	if err != nil {
		return nil, err
	}
	out.Conflicts = cs
	return out, nil
}

func conflictsProto(cs []calendar.Conflict) ([]*pb.ScheduleConflict, error) {
	var out []*pb.ScheduleConflict
	for _, c := range cs {
		p := &pb.ScheduleConflict{}
		if err := toProto(c, p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// addWarnings puts the conflicts of a release that has not ended into its
// answer.
func (s *Server) addWarnings(ps *domain.ProjectState, out *pb.Release) error {
	if r, _, ok := ps.Release(out.GetId()); !ok || r.State.Ended() {
		return nil
	}
	cs, err := conflictsProto(calendar.ConflictsOf(ps, out.GetId(), s.store.Now()))
	out.Warnings = cs
	return err
}

func (s *freezeService) OverrideFreeze(ctx context.Context, req *pb.OverrideFreezeRequest) (*pb.Release, error) {
	if req.GetFreeze() == "" {
		return nil, invalidField("freeze", "is required")
	}
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetReason()}
	rs := &releaseService{Server: s.Server}
	return rs.transition(ctx, r, func(tx *domain.Tx) error { return release.RequestFreezeOverride(tx, r, req.GetFreeze()) })
}

func (s *freezeService) ApproveFreezeOverride(ctx context.Context, req *pb.ApproveFreezeOverrideRequest) (*pb.Release, error) {
	if req.GetFreeze() == "" {
		return nil, invalidField("freeze", "is required")
	}
	r := release.Request{Project: req.GetProject(), ID: req.GetId(), Etag: req.GetEtag(), Note: req.GetComment()}
	rs := &releaseService{Server: s.Server}
	return rs.transition(ctx, r, func(tx *domain.Tx) error { return release.ApproveFreezeOverride(tx, r, req.GetFreeze()) })
}

// calendarICSPath is the schedule as an iCalendar feed.
const calendarICSPath = "/api/v1/projects/{project}/calendar.ics"

func (s *Server) registerCalendarFeed(mux *http.ServeMux) {
	mux.HandleFunc("GET "+calendarICSPath, s.calendarICS)
}

// calendarICS answers the iCalendar feed of a project's schedule (from and
// to as RFC 3339 query parameters, defaults as GetCalendar). A calendar
// application that cannot send headers may pass a viewer token as
// ?token=; a token of any other role is refused there, so that no key
// that can change anything ends up in a calendar's URL.
func (s *Server) calendarICS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if tok := q.Get("token"); tok != "" && r.Header.Get("Authorization") == "" && r.Header.Get("X-API-Key") == "" {
		p, err := s.authenticate(remoteHost(r), tok)
		if err == nil && p.Role != auth.RoleViewer {
			err = fmt.Errorf("%w: a token in the URL must be a viewer token; send other keys as 'Authorization: Bearer <key>'", auth.ErrPermissionDenied)
		}
		if err == nil {
			err = auth.Authorize(&p, auth.Read)
		}
		if err != nil {
			s.writeHTTPError(w, r, err)
			return
		}
		setCaller(requestInfoOf(r.Context()), &p)
	} else if _, err := s.httpPrincipal(r, auth.Read); err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	ps, err := s.projectState(r.PathValue("project"))
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	var from, to *timestamppb.Timestamp
	for _, p := range []struct {
		name string
		ts   **timestamppb.Timestamp
	}{{"from", &from}, {"to", &to}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.writeHTTPError(w, r, invalidField(p.name, "%q is not an RFC 3339 time", v))
			return
		}
		*p.ts = timestamppb.New(t)
	}
	now := s.store.Now()
	f, t, err := calendarRange(from, to, now)
	if err != nil {
		s.writeHTTPError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", calendar.ContentType)
	w.Header().Set("Cache-Control", "private, no-cache")
	if err := calendar.Encode(w, calendar.Build(ps, f, t, now), now); err != nil {
		s.log.Debug("calendar feed", "err", err)
	}
}
