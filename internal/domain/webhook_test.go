package domain_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

const hookSecret = "a-secret-of-24-bytes-xyz"

func hook(id string) *model.Webhook {
	return &model.Webhook{ID: id, URL: "https://example.com/" + id, Secret: hookSecret, Events: []string{"release.*"}}
}

func TestWebhookAuditNeverRecordsTheSecret(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateWebhook("shop", hook("ops")) })
	changed := hook("ops")
	changed.Secret = "another-secret-of-24-byte"
	update(t, s, func(tx *domain.Tx) error { return tx.UpdateWebhook("shop", changed, "") })
	c := update(t, s, func(tx *domain.Tx) error { return tx.DeleteWebhook("shop", "ops", "") })
	if c.Revision != 0 {
		t.Errorf("deleting a webhook bumped revision %d", c.Revision)
	}
	events, _, err := s.ListAudit(context.Background(), domain.AuditFilter{Resource: domain.WebhookName("shop", "ops")})
	if err != nil || len(events) != 3 {
		t.Fatalf("audit = %d events, %v; want create, update, delete", len(events), err)
	}
	for _, ev := range events {
		if raw := string(ev.Before) + string(ev.After); strings.Contains(raw, "secret") || !strings.Contains(raw, "example.com/ops") {
			t.Errorf("%s records %s, want the webhook without its secret", ev.Action, raw)
		}
	}
}

func TestWebhookSurvivesAReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateWebhook("shop", hook("ops")) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = domaintest.Open(t, path, domain.Options{})
	w, meta, ok := project(t, s.State(), "shop").Webhook("ops")
	if !ok || w.Secret != hookSecret || meta.Etag == "" {
		t.Errorf("after reopening: %+v, %v; want the webhook with its secret", w, ok)
	}
}

func TestWebhookIsValidated(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	bad := hook("ops")
	bad.URL = "ftp://example.com/"
	_, err := s.Update(context.Background(), domain.Actor{}, func(tx *domain.Tx) error { return tx.CreateWebhook("shop", bad) })
	var fes model.Errors
	if !errors.Is(err, domain.ErrInvalid) || !errors.As(err, &fes) || fes[0].Path != "url" {
		t.Errorf("CreateWebhook(ftp) = %v, want ErrInvalid at url", err)
	}
}

// flagHook is a webhook of every flag event.
func flagHook() *model.Webhook {
	w := hook("ops")
	w.Events = []string{"flag.*"}
	return w
}

func TestWebhookDeliveriesAreQueuedByTheCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateWebhook("shop", flagHook()) })
	c := update(t, s, func(tx *domain.Tx) error {
		return errors.Join(tx.CreateFlag("shop", &model.Flag{Key: "a", Type: model.TypeBool}), tx.CreateSegment("shop", &model.Segment{Key: "b"}))
	})
	want := domain.DeliveryRef{Project: "shop", Webhook: "ops", Seq: 1}
	if len(c.Deliveries) != 1 || c.Deliveries[0] != want {
		t.Fatalf("commit deliveries %+v, want %+v (flag.create only)", c.Deliveries, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = domaintest.Open(t, path, domain.Options{})
	active, err := s.ActiveWebhookDeliveries()
	if err != nil || len(active) != 1 || active[0].DeliveryRef != want || !active[0].Due.Equal(c.Events[0].Time) {
		t.Fatalf("after reopening: active %+v (%v), want %+v due at the event's time", active, err, want)
	}
	d, ev, ok, err := s.WebhookDeliveryJob(want)
	if err != nil || !ok || d.State != domain.DeliveryPending || d.EventSeq != c.Events[0].Seq || ev.Action != "flag.create" || d.EventID != fmt.Sprint(ev.Seq) {
		t.Errorf("job = %+v, %+v, %v, %v; want the pending delivery of flag.create", d, ev, ok, err)
	}
}

func TestWebhookDeliveryLogKeepsTheLatestFinished(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return tx.CreateWebhook("shop", flagHook()) })
	for i := range 6 {
		update(t, s, func(tx *domain.Tx) error {
			return tx.CreateFlag("shop", &model.Flag{Key: fmt.Sprint("f", i), Type: model.TypeBool})
		})
	}
	all, err := s.WebhookDeliveries("shop", "ops", 0)
	if err != nil || len(all) != 6 {
		t.Fatalf("log = %d deliveries, %v; want 6", len(all), err)
	}
	// The oldest stays unfinished; the five others are delivered.
	for i := len(all) - 2; i >= 0; i-- {
		d := all[i]
		d.State = domain.DeliveryDelivered
		if ok, err := s.PutWebhookDelivery("shop", "ops", &d, 3); err != nil || !ok {
			t.Fatalf("PutWebhookDelivery = %v, %v", ok, err)
		}
	}
	got, err := s.WebhookDeliveries("shop", "ops", 0)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, d := range got {
		states = append(states, fmt.Sprint(d.Seq, d.State))
	}
	if fmt.Sprint(states) != "[6DELIVERED 5DELIVERED 4DELIVERED 1PENDING]" {
		t.Errorf("log = %v, want the 3 latest finished and the unfinished, newest first", states)
	}
	if got, _ := s.WebhookDeliveries("shop", "ops", 1); len(got) != 1 || got[0].Seq != 6 {
		t.Errorf("log limited to 1 = %+v, want the newest", got)
	}
	gone := all[1]
	gone.ID = "another"
	if ok, err := s.PutWebhookDelivery("shop", "ops", &gone, 3); err != nil || ok {
		t.Errorf("PutWebhookDelivery(unknown id) = %v, %v; want false, nothing written", ok, err)
	}
}

func TestWebhookDeliveryLogIsDeletedWithItsWebhook(t *testing.T) {
	cases := []struct {
		name   string
		delete func(tx *domain.Tx) error
	}{
		{"the webhook", func(tx *domain.Tx) error { return tx.DeleteWebhook("shop", "ops", "") }},
		{"the project", func(tx *domain.Tx) error { return tx.DeleteProject("shop", "") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := domaintest.New(t)
			seed(t, s)
			update(t, s, func(tx *domain.Tx) error { return tx.CreateWebhook("shop", flagHook()) })
			update(t, s, func(tx *domain.Tx) error { return tx.CreateFlag("shop", &model.Flag{Key: "a", Type: model.TypeBool}) })
			update(t, s, tc.delete)
			if got, err := s.WebhookDeliveries("shop", "ops", 0); err != nil || len(got) != 0 {
				t.Errorf("log after deletion = %+v, %v; want empty", got, err)
			}
			if active, err := s.ActiveWebhookDeliveries(); err != nil || len(active) != 0 {
				t.Errorf("active after deletion = %+v, %v; want none", active, err)
			}
		})
	}
}
