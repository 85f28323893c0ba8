package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

func TestAuditEventsAreRecorded(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := domaintest.Open(t, t.TempDir()+"/switchyard.db", domain.Options{Now: func() time.Time { return now }})
	seed(t, s)
	c := update(t, s, func(tx *domain.Tx) error {
		return tx.SetFlagTargeting("shop", "new-checkout", "production", enabled("off"), "")
	})
	ev := c.Events[0]
	want := domain.AuditEvent{
		Seq: ev.Seq, Time: now, Actor: "k1", ActorName: "tester", Role: domain.RoleAdmin, Peer: "127.0.0.1:1234",
		Action:      "flag.targeting.update",
		Resource:    domain.FlagTargetingName("shop", "new-checkout", "production"),
		Project:     "shop",
		Environment: "production",
		Revision:    c.Revision,
		Before:      json.RawMessage(toJSON(enabled("on"))),
		After:       json.RawMessage(toJSON(enabled("off"))),
	}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("event = %+v, want %+v", ev, want)
	}
	got, next, err := s.ListAudit(context.Background(), domain.AuditFilter{Limit: 1})
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) || next != ev.Seq {
		t.Errorf("ListAudit(Limit 1) = %+v, %d, %v, want the event and next %d", got, next, err, ev.Seq)
	}
}

func TestListAudit(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s) // 2 project events + ... : shop events 1-7
	update(t, s, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "other"}),
			tx.CreateFlag("shop", boolFlag("new-checkout-2", nil)),
			tx.SetFlagTargeting("shop", "new-checkout", "staging", enabled("on"), ""),
			tx.UpdateSegment("shop", &model.Segment{Key: "eu-users"}, ""),
		)
	})
	all, next, err := s.ListAudit(context.Background(), domain.AuditFilter{})
	if err != nil || next != 0 {
		t.Fatalf("ListAudit() = %d events, next %d, %v", len(all), next, err)
	}
	actions := make([]string, len(all))
	for i, ev := range all {
		actions[i] = ev.Action
		if i > 0 && ev.Seq >= all[i-1].Seq {
			t.Errorf("events not newest first: %d after %d", ev.Seq, all[i-1].Seq)
		}
	}
	wantActions := []string{
		"segment.update", "flag.targeting.create", "flag.create", "project.create",
		"component.create", "flag.create", "segment.create", "environment.create", "environment.create", "project.create",
	}
	if !reflect.DeepEqual(actions, wantActions) {
		t.Errorf("actions = %v, want %v", actions, wantActions)
	}

	tests := []struct {
		name   string
		filter domain.AuditFilter
		want   []uint64
	}{
		{"project", domain.AuditFilter{Project: "other"}, []uint64{7}},
		{"resource and below", domain.AuditFilter{Resource: domain.FlagName("shop", "new-checkout")}, []uint64{9, 5}},
		{"resource is not a string prefix", domain.AuditFilter{Resource: "projects/shop/flags/new-checkout-2"}, []uint64{8}},
		{"environment subtree", domain.AuditFilter{Resource: domain.EnvironmentName("shop", "staging")}, []uint64{3}},
		{"before", domain.AuditFilter{Project: "shop", Before: 5}, []uint64{4, 3, 2, 1}},
		{"before past the end", domain.AuditFilter{Before: 100, Limit: 2}, []uint64{10, 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events, _, err := s.ListAudit(context.Background(), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, ev := range events {
				got = append(got, ev.Seq)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ListAudit(%+v) = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}

	t.Run("pages", func(t *testing.T) {
		var got []uint64
		f := domain.AuditFilter{Project: "shop", Limit: 4}
		for pages := 0; ; pages++ {
			events, next, err := s.ListAudit(context.Background(), f)
			if err != nil || pages > 5 {
				t.Fatalf("ListAudit(%+v) = %v after %d pages", f, err, pages)
			}
			for _, ev := range events {
				got = append(got, ev.Seq)
			}
			if next == 0 {
				break
			}
			f.Before = next
		}
		if want := []uint64{10, 9, 8, 6, 5, 4, 3, 2, 1}; !reflect.DeepEqual(got, want) {
			t.Errorf("pages = %v, want %v", got, want)
		}
	})
}
