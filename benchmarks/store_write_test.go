package benchmarks

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store/boltstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// BenchmarkStoreWrite measures domain writes (one flag update: its record,
// the environment revision, the audit event, one Change) on each engine:
// bbolt (one fsynced file) and etcd (a 3-member cluster on loopback, every
// member fsyncing its log, the client on one member). writers writers
// update flags of their own concurrently; one op is one write. Read
// writes/s and p99-ms.
func BenchmarkStoreWrite(b *testing.B) {
	engines := []struct {
		name string
		open func(b *testing.B) domain.Backend
	}{
		{"bolt", func(b *testing.B) domain.Backend {
			s, err := boltstore.Open(filepath.Join(b.TempDir(), "switchyard.db"), boltstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"etcd", func(b *testing.B) domain.Backend {
			c, err := etcdtest.StartWith(3, etcdtest.Options{Fsync: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.Close)
			s, err := etcdstore.Open(context.Background(), etcdstore.Options{Endpoints: c.Endpoints()[:1]})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
	for _, e := range engines {
		for _, writers := range []int{1, 8} {
			b.Run(e.name+"/writers="+strconv.Itoa(writers), func(b *testing.B) {
				st, err := domain.Open(context.Background(), e.open(b), domain.Options{SecretKeys: domaintest.SecretKeys(b)})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				actor := domain.Actor{Name: "bench", Role: domain.RoleAdmin}
				if _, err := st.Update(context.Background(), actor, func(tx *domain.Tx) error {
					errs := []error{tx.CreateProject(domain.Project{Key: "p"}), tx.CreateEnvironment("p", domain.Environment{Key: "production"})}
					for w := range writers {
						errs = append(errs, tx.CreateFlag("p", &model.Flag{Key: "f" + strconv.Itoa(w), Type: model.TypeBool}))
					}
					return errors.Join(errs...)
				}); err != nil {
					b.Fatal(err)
				}
				var mu sync.Mutex
				var lat []time.Duration
				var wg sync.WaitGroup
				b.ResetTimer()
				for w := range writers {
					n := b.N / writers
					if w < b.N%writers {
						n++
					}
					wg.Go(func() {
						key := "f" + strconv.Itoa(w)
						mine := make([]time.Duration, 0, n)
						for i := range n {
							start := time.Now()
							_, err := st.Update(context.Background(), actor, func(tx *domain.Tx) error {
								ps, _ := tx.Project("p")
								f, m, _ := ps.Flag(key)
								nf := *f
								nf.Description = strconv.Itoa(i)
								return tx.UpdateFlag("p", &nf, m.Etag)
							})
							if err != nil {
								b.Error(err)
								return
							}
							mine = append(mine, time.Since(start))
						}
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
					})
				}
				wg.Wait()
				b.StopTimer()
				slices.Sort(lat)
				if len(lat) > 0 {
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
					b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "writes/s")
				}
			})
		}
	}
}
