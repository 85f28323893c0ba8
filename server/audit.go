package server

import (
	"context"
	"encoding/base64"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// auditService reads the audit log.
type auditService struct {
	pb.UnimplementedAuditServiceServer
	*Server
}

var _ pb.AuditServiceServer = (*auditService)(nil)

func (s *auditService) ListAuditEvents(ctx context.Context, req *pb.ListAuditEventsRequest) (*pb.ListAuditEventsResponse, error) {
	f := domain.AuditFilter{Project: req.GetProject(), Resource: req.GetResource(), Limit: int(req.GetPageSize())}
	if f.Limit < 0 {
		return nil, invalidField("page_size", "must not be negative")
	}
	if t := req.GetPageToken(); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		n, err2 := strconv.ParseUint(string(raw), 10, 64)
		if err != nil || err2 != nil {
			return nil, invalidField("page_token", "is not a token this server issued")
		}
		f.Before = n
	}
	events, next, err := s.store.ListAudit(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &pb.ListAuditEventsResponse{}
	if next != 0 {
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(next, 10)))
	}
	for _, e := range events {
		resp.Events = append(resp.Events, &pb.AuditEvent{
			Seq: e.Seq, Time: timestamppb.New(e.Time), Actor: e.ActorName, Role: string(e.Role), Peer: e.Peer,
			Action: e.Action, Resource: e.Resource, Project: e.Project, Environment: e.Environment,
			Revision: e.Revision, Before: jsonValue(e.Before), After: jsonValue(e.After), Diff: auditDiffProto(e.Diff),
			ActorKey: e.Actor, ActorPrincipal: e.Principal,
		})
	}
	return resp, nil
}

// auditDiffProto converts a summarized change (nil when none).
func auditDiffProto(d *domain.AuditDiff) *pb.AuditDiff {
	if d == nil {
		return nil
	}
	out := &pb.AuditDiff{
		BeforeBytes: int64(d.BeforeBytes), BeforeSha256: d.BeforeSHA256,
		AfterBytes: int64(d.AfterBytes), AfterSha256: d.AfterSHA256,
		MoreChanges: int32(d.MoreChanges),
	}
	for _, c := range d.Changes {
		out.Changes = append(out.Changes, &pb.AuditChange{
			Path: c.Path, Change: c.Change,
			BeforeBytes: int64(c.BeforeBytes), BeforeSha256: c.BeforeSHA256,
			AfterBytes: int64(c.AfterBytes), AfterSha256: c.AfterSHA256,
			BeforeCount: int64(c.BeforeCount), AfterCount: int64(c.AfterCount),
			Added: int64(c.Added), Removed: int64(c.Removed),
			AddedSample: c.AddedSample, RemovedSample: c.RemovedSample,
		})
	}
	return out
}

// jsonValue turns stored JSON into a protobuf Value (nil when absent).
func jsonValue(raw []byte) *structpb.Value {
	if len(raw) == 0 {
		return nil
	}
	v := &structpb.Value{}
	if err := protojson.Unmarshal(raw, v); err != nil {
		return nil
	}
	return v
}
