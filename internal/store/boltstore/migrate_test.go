package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

// TestMigratesSchema1 opens a file the schema-1 code wrote (testdata/README.md)
// and reads everything back: its keys are now hex, nothing is lost, and the
// numbering goes on where it stopped.
func TestMigratesSchema1(t *testing.T) {
	data, err := os.ReadFile("testdata/schema1.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := domaintest.Open(t, path, domain.Options{})
	ps, ok := s.State().Project("shop")
	if !ok {
		t.Fatal("project shop missing")
	}
	doc := ps.Document()
	if len(doc.Flags) != 301 {
		t.Errorf("%d flags, want 301", len(doc.Flags))
	}
	big, _, ok := ps.Segment("big")
	if !ok || len(big.Include) != 5000 || len(big.Exclude) != 1 {
		t.Fatalf("segment big = %v; want 5000 included keys and 1 excluded", ok)
	}
	seen := map[string]bool{}
	for _, k := range big.Include {
		seen[k] = true
	}
	for i := range 5000 {
		if k := fmt.Sprintf("user-%05d", i); !seen[k] {
			t.Fatalf("segment big lost %s", k)
		}
	}
	if _, ok := s.State().APIKey("key1"); !ok {
		t.Error("API key key1 missing")
	}

	// The audit log, page by page, newest first, every Seq once.
	var seqs []uint64
	for before := uint64(0); ; {
		events, next, err := s.ListAudit(context.Background(), domain.AuditFilter{Before: before, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			seqs = append(seqs, ev.Seq)
		}
		if next == 0 {
			break
		}
		before = next
	}
	n := len(seqs)
	if n < 300 {
		t.Fatalf("%d audit events, want the 300 and more written", n)
	}
	for i, seq := range seqs {
		if seq != uint64(n-i) {
			t.Fatalf("audit event %d has Seq %d, want %d (newest first, none missing)", i, seq, n-i)
		}
	}
	deliveries, err := s.WebhookDeliveries("shop", "hook", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) < 300 || deliveries[0].Seq != uint64(len(deliveries)) || deliveries[0].State != domain.DeliveryPending {
		t.Fatalf("%d deliveries, the newest %+v; want 300 and more, numbered from 1, PENDING", len(deliveries), deliveries[0])
	}
	d, ev, ok, err := s.WebhookDeliveryJob(domain.DeliveryRef{Project: "shop", Webhook: "hook", Seq: deliveries[0].Seq})
	if err != nil || !ok || ev.Seq != d.EventSeq {
		t.Errorf("WebhookDeliveryJob(newest) = %+v, event %d, %v, %v", d, ev.Seq, ok, err)
	}
	if w, _, _ := ps.Webhook("hook"); w == nil || w.Secret != "0123456789abcdef0123" {
		t.Errorf("webhook hook's secret = %v, want it decrypted", w)
	}

	// A write after the migration continues every sequence.
	c, err := s.Update(context.Background(), domain.Actor{Name: "t"}, func(tx *domain.Tx) error {
		return tx.CreateFlag("shop", &model.Flag{Key: "after", Type: model.TypeBool})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Events[0].Seq; got != uint64(n)+1 {
		t.Errorf("next audit Seq %d, want %d", got, n+1)
	}
	if len(c.Deliveries) != 1 || c.Deliveries[0].Seq != uint64(len(deliveries))+1 {
		t.Errorf("deliveries queued %v, want one numbered %d", c.Deliveries, len(deliveries)+1)
	}
	prev := ps.Environments()[0].Revision
	if got := c.Revision; got <= prev {
		t.Errorf("revision %d after the migration, want above %d", got, prev)
	}
	s.Close()

	// The keys are hex now.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("audit")).Get([]byte(fmt.Sprintf("%016x", 1))); v == nil {
			t.Error("audit/0000000000000001 missing")
		}
		if v := string(tx.Bucket([]byte("meta")).Get([]byte("schema"))); v != "2" {
			t.Errorf("schema %q, want 2", v)
		}
		return nil
	})
}
