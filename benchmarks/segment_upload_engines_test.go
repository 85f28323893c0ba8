package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/keylist"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// BenchmarkSegmentUploadEngines measures replacing a segment's include
// list with 1,000,000 keys through the domain on each engine: bbolt (one
// fsynced file, one Change) and etcd (a 3-member cluster on loopback, every
// member fsyncing its log; the list staged in Changes of its own, then
// switched to). One op is one upload. Read upload-s, and replica-s: until a
// second replica (on another etcd member) holds the new list; on bbolt,
// the time to open the file again.
func BenchmarkSegmentUploadEngines(b *testing.B) {
	const n = 1_000_000
	for _, engine := range []string{"bolt", "etcd"} {
		b.Run(engine, func(b *testing.B) {
			keys := domaintest.SecretKeys(b)
			var writer, replica domain.Backend
			reopen := func() domain.Backend { return nil }
			switch engine {
			case "bolt":
				path := filepath.Join(b.TempDir(), "switchyard.db")
				reopen = func() domain.Backend {
					s, err := boltstore.Open(path, boltstore.Options{})
					if err != nil {
						b.Fatal(err)
					}
					return s
				}
				writer = reopen()
			case "etcd":
				c, err := etcdtest.StartWith(3, etcdtest.Options{Fsync: true})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(c.Close)
				for i, to := range []*domain.Backend{&writer, &replica} {
					s, err := etcdstore.Open(context.Background(), etcdstore.Options{Endpoints: c.Endpoints()[i : i+1]})
					if err != nil {
						b.Fatal(err)
					}
					*to = s
				}
			}
			st, err := domain.Open(context.Background(), writer, domain.Options{SecretKeys: keys})
			if err != nil {
				b.Fatal(err)
			}
			actor := domain.Actor{Name: "bench", Role: domain.RoleAdmin}
			if _, err := st.Update(context.Background(), actor, func(tx *domain.Tx) error {
				return errors.Join(tx.CreateProject(domain.Project{Key: "p"}),
					tx.CreateEnvironment("p", domain.Environment{Key: "production"}),
					tx.CreateSegment("p", &model.Segment{Key: "vip"}))
			}); err != nil {
				b.Fatal(err)
			}
			var other *domain.Store
			if replica != nil {
				if other, err = domain.Open(context.Background(), replica, domain.Options{SecretKeys: keys}); err != nil {
					b.Fatal(err)
				}
				defer other.Close()
			}
			var upload, seen time.Duration
			for i := range b.N {
				b.StopTimer()
				list := make([]string, n)
				for k := range list {
					list[k] = fmt.Sprintf("user-%d-%07d", i, k)
				}
				stage, err := keylist.StageOf(list...)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				c, err := st.Update(context.Background(), actor, func(tx *domain.Tx) error {
					_, err := tx.EditSegmentKeys("p", "vip", keylist.Include, keylist.Replace, stage, "")
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				upload += time.Since(start)
				stage.Close()
				if other != nil {
					etag := segmentEtag(c.State)
					for segmentEtag(other.State()) != etag {
						time.Sleep(5 * time.Millisecond)
					}
					seen += time.Since(start)
				}
			}
			b.StopTimer()
			st.Close()
			if other == nil {
				start := time.Now()
				s, err := domain.Open(context.Background(), reopen(), domain.Options{SecretKeys: keys})
				if err != nil {
					b.Fatal(err)
				}
				seen = time.Since(start) * time.Duration(b.N)
				s.Close()
			}
			b.ReportMetric(upload.Seconds()/float64(b.N), "upload-s")
			b.ReportMetric(seen.Seconds()/float64(b.N), "replica-s")
		})
	}
}

func segmentEtag(st *domain.State) string {
	ps, _ := st.Project("p")
	_, m, _ := ps.Segment("vip")
	return m.Etag
}
