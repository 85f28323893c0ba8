package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/webhook"
)

// webhookService manages a project's webhooks; the deliveries are the
// webhook package's. A webhook's secret is write-only: no answer carries
// it.
type webhookService struct {
	pb.UnimplementedWebhookServiceServer
	*Server
}

var _ pb.WebhookServiceServer = (*webhookService)(nil)

// webhookProto converts a stored webhook, without its secret.
func webhookProto(w *model.Webhook, meta domain.Meta) (*pb.Webhook, error) {
	out := &pb.Webhook{}
	if err := toProto(w, out); err != nil {
		return nil, err
	}
	out.Secret = ""
	setMeta(out, meta)
	return out, nil
}

// readWebhook returns a webhook of a state, converted.
func readWebhook(st *domain.State, project, id string) (*pb.Webhook, error) {
	w, meta, err := findWebhook(st, project, id)
	if err != nil {
		return nil, err
	}
	return webhookProto(w, meta)
}

// findWebhook returns a webhook of a state as stored.
func findWebhook(st *domain.State, project, id string) (*model.Webhook, domain.Meta, error) {
	if err := needID(project, id); err != nil {
		return nil, domain.Meta{}, err
	}
	ps, ok := st.Project(project)
	if !ok {
		return nil, domain.Meta{}, notFound("project %q", project)
	}
	w, meta, ok := ps.Webhook(id)
	if !ok {
		return nil, domain.Meta{}, notFound("webhook %s/%s", project, id)
	}
	return w, meta, nil
}

func (s *webhookService) ListWebhooks(_ context.Context, req *pb.ListWebhooksRequest) (*pb.ListWebhooksResponse, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	items, next, err := page(ps.Webhooks(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &pb.ListWebhooksResponse{NextPageToken: next}
	for _, w := range items {
		_, meta, _ := ps.Webhook(w.ID)
		p, err := webhookProto(w, meta)
		if err != nil {
			return nil, err
		}
		resp.Webhooks = append(resp.Webhooks, p)
	}
	return resp, nil
}

func (s *webhookService) GetWebhook(_ context.Context, req *pb.GetWebhookRequest) (*pb.Webhook, error) {
	return readWebhook(s.store.State(), req.GetProject(), req.GetId())
}

func (s *webhookService) CreateWebhook(ctx context.Context, req *pb.CreateWebhookRequest) (*pb.Webhook, error) {
	in := req.GetWebhook()
	if in == nil {
		return nil, invalidField("webhook", "is required")
	}
	if _, err := s.projectState(req.GetProject()); err != nil {
		return nil, err
	}
	var w model.Webhook
	if err := fromProto(in, &w); err != nil {
		return nil, invalidField("webhook", "%v", err)
	}
	if err := s.checkTarget(ctx, w.URL); err != nil {
		return nil, err
	}
	if w.ID == "" {
		b := make([]byte, 6)
		rand.Read(b)
		w.ID = "wh-" + hex.EncodeToString(b)
	}
	if err := checkKey("webhook.id", w.ID); err != nil {
		return nil, err
	}
	c, err := s.update(ctx, func(tx *domain.Tx) error { return tx.CreateWebhook(req.GetProject(), &w) })
	if err != nil {
		return nil, rebase(err, "", "webhook")
	}
	return readWebhook(c.State, req.GetProject(), w.ID)
}

func (s *webhookService) UpdateWebhook(ctx context.Context, req *pb.UpdateWebhookRequest) (*pb.Webhook, error) {
	in := req.GetWebhook()
	if in == nil {
		return nil, invalidField("webhook", "is required")
	}
	project, id := req.GetProject(), in.GetId()
	cur, _, err := findWebhook(s.store.State(), project, id)
	if err != nil {
		return nil, err
	}
	next := &pb.Webhook{}
	if err := toProto(cur, next); err != nil {
		return nil, err
	}
	if err := applyMask(next, in, req.GetUpdateMask()); err != nil {
		return nil, err
	}
	if next.GetSecret() == "" {
		next.Secret = cur.Secret // write-only: an empty secret keeps the one set
	}
	var w model.Webhook
	if err := fromProto(next, &w); err != nil {
		return nil, invalidField("webhook", "%v", err)
	}
	w.ID = id
	if err := s.checkTarget(ctx, w.URL); err != nil {
		return nil, err
	}
	c, err := s.update(ctx, func(tx *domain.Tx) error { return tx.UpdateWebhook(project, &w, in.GetEtag()) })
	if err != nil {
		return nil, rebase(err, "", "webhook")
	}
	return readWebhook(c.State, project, id)
}

func (s *webhookService) DeleteWebhook(ctx context.Context, req *pb.DeleteWebhookRequest) (*emptypb.Empty, error) {
	if err := needID(req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	if _, err := s.update(ctx, func(tx *domain.Tx) error {
		return tx.DeleteWebhook(req.GetProject(), req.GetId(), req.GetEtag())
	}); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *webhookService) ListWebhookDeliveries(_ context.Context, req *pb.ListWebhookDeliveriesRequest) (*pb.ListWebhookDeliveriesResponse, error) {
	if _, _, err := findWebhook(s.store.State(), req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	if req.GetPageSize() < 0 {
		return nil, invalidField("page_size", "must not be negative")
	}
	ds, err := s.store.WebhookDeliveries(req.GetProject(), req.GetId(), int(req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	resp := &pb.ListWebhookDeliveriesResponse{Deliveries: make([]*pb.WebhookDelivery, len(ds))}
	for i, d := range ds {
		resp.Deliveries[i] = deliveryProto(d)
	}
	return resp, nil
}

// checkTarget refuses a webhook URL on a private address (the dispatcher
// refuses to dial it too) as an invalid webhook.url.
func (s *webhookService) checkTarget(ctx context.Context, url string) error {
	var te *webhook.TargetError
	if err := s.webhooks.CheckURL(ctx, url); errors.As(err, &te) {
		return invalidField("webhook.url", "%v", te)
	}
	return nil
}

func (s *webhookService) RedeliverWebhookDelivery(_ context.Context, req *pb.RedeliverWebhookDeliveryRequest) (*pb.WebhookDelivery, error) {
	if _, _, err := findWebhook(s.store.State(), req.GetProject(), req.GetId()); err != nil {
		return nil, err
	}
	if req.GetDeliveryId() == "" {
		return nil, invalidField("delivery_id", "is required")
	}
	d, err := s.webhooks.Redeliver(req.GetProject(), req.GetId(), req.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	return deliveryProto(d), nil
}

// deliveryProto converts one entry of a delivery log.
func deliveryProto(d domain.WebhookDelivery) *pb.WebhookDelivery {
	out := &pb.WebhookDelivery{
		Id:           d.ID,
		EventId:      d.EventID,
		EventType:    d.EventType,
		Resource:     d.Resource,
		Revision:     d.Revision,
		State:        d.State,
		LastError:    d.LastError,
		RedeliveryOf: d.RedeliveryOf,
		CreateTime:   timestamppb.New(d.CreateTime),
		UpdateTime:   timestamppb.New(d.UpdateTime),
	}
	if d.NextRetry != nil {
		out.NextRetryTime = timestamppb.New(*d.NextRetry)
	}
	for _, a := range d.Attempts {
		out.Attempts = append(out.Attempts, &pb.WebhookAttempt{
			Time:       timestamppb.New(a.Time),
			StatusCode: int32(a.StatusCode),
			Duration:   durationpb.New(a.Duration),
			Error:      a.Error,
		})
	}
	return out
}
