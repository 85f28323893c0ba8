package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

const hookSecret = "a-secret-of-24-bytes-xyz"

func hook(id string) *model.Webhook {
	return &model.Webhook{ID: id, URL: "https://example.com/" + id, Secret: hookSecret, Events: []string{"release.*"}}
}

func TestWebhookAuditNeverRecordsTheSecret(t *testing.T) {
	s := storetest.New(t)
	seed(t, s)
	update(t, s, func(tx *store.Tx) error { return tx.CreateWebhook("shop", hook("ops")) })
	changed := hook("ops")
	changed.Secret = "another-secret-of-24-byte"
	update(t, s, func(tx *store.Tx) error { return tx.UpdateWebhook("shop", changed, "") })
	c := update(t, s, func(tx *store.Tx) error { return tx.DeleteWebhook("shop", "ops", "") })
	if c.Revision != 0 {
		t.Errorf("deleting a webhook bumped revision %d", c.Revision)
	}
	events, _, err := s.ListAudit(context.Background(), store.AuditFilter{Resource: store.WebhookName("shop", "ops")})
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
	s := storetest.Open(t, path, store.Options{})
	seed(t, s)
	update(t, s, func(tx *store.Tx) error { return tx.CreateWebhook("shop", hook("ops")) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = storetest.Open(t, path, store.Options{})
	w, meta, ok := project(t, s.State(), "shop").Webhook("ops")
	if !ok || w.Secret != hookSecret || meta.Etag == "" {
		t.Errorf("after reopening: %+v, %v; want the webhook with its secret", w, ok)
	}
}

func TestWebhookIsValidated(t *testing.T) {
	s := storetest.New(t)
	seed(t, s)
	bad := hook("ops")
	bad.URL = "ftp://example.com/"
	_, err := s.Update(context.Background(), store.Actor{}, func(tx *store.Tx) error { return tx.CreateWebhook("shop", bad) })
	var fes model.Errors
	if !errors.Is(err, store.ErrInvalid) || !errors.As(err, &fes) || fes[0].Path != "url" {
		t.Errorf("CreateWebhook(ftp) = %v, want ErrInvalid at url", err)
	}
}

func TestWebhookDeliveryLogKeepsTheLatest(t *testing.T) {
	s := storetest.New(t)
	for i := range 5 {
		d := &store.WebhookDelivery{ID: fmt.Sprint(i), State: store.DeliveryPending}
		if err := s.PutWebhookDelivery("shop", "ops", d, 3); err != nil {
			t.Fatal(err)
		}
		d.State = store.DeliveryDelivered
		if err := s.PutWebhookDelivery("shop", "ops", d, 3); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.WebhookDeliveries("shop", "ops", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range got {
		if d.State != store.DeliveryDelivered {
			t.Errorf("delivery %s is %s, want its last state", d.ID, d.State)
		}
		ids = append(ids, d.ID)
	}
	if fmt.Sprint(ids) != "[4 3 2]" {
		t.Errorf("log = %v, want the 3 latest, newest first", ids)
	}
	if got, _ := s.WebhookDeliveries("shop", "ops", 1); len(got) != 1 || got[0].ID != "4" {
		t.Errorf("log limited to 1 = %+v, want the newest", got)
	}
}

func TestWebhookDeliveryLogIsDeleted(t *testing.T) {
	cases := []struct {
		name, webhook string
	}{
		{"one webhook", "ops"},
		{"the whole project", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := storetest.New(t)
			if err := s.PutWebhookDelivery("shop", "ops", &store.WebhookDelivery{ID: "1"}, 10); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteWebhookDeliveries("shop", tc.webhook); err != nil {
				t.Fatal(err)
			}
			if got, err := s.WebhookDeliveries("shop", "ops", 0); err != nil || len(got) != 0 {
				t.Errorf("log after deletion = %+v, %v; want empty", got, err)
			}
		})
	}
}
