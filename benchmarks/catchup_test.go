package benchmarks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/snapshot"
	"github.com/switchyard/switchyard/internal/store/etcdstore"
	"github.com/switchyard/switchyard/internal/store/etcdstore/etcdtest"
)

// BenchmarkReplicaCatchUp measures how long a write made on one replica
// takes to reach another replica's compiled ruleset. A 3-member etcd
// cluster on loopback (every member fsyncing its log) holds the project;
// three replicas (a domain.Store with its snapshot.Set, as serve wires
// them), each with its own client on its own member, follow it. One op
// toggles one flag's production targeting through replica A, then waits
// until replica B's ruleset carries the new revision. The project is the
// demo document (cmd/switchyard/demo.yaml) or a generated one of 1,000
// flags. Read ack-p50-ms and ack-p99-ms: from A's acknowledgement to B's
// ruleset (often 0: B has compiled the write before A's Update returns);
// write-p50-ms and write-p99-ms: from the start of the write. Use a fixed count
// for stable percentiles:
//
//	go test -run '^$' -bench BenchmarkReplicaCatchUp -benchtime 200x ./benchmarks/
func BenchmarkReplicaCatchUp(b *testing.B) {
	demo, err := os.ReadFile("../cmd/switchyard/demo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	demoDoc, err := model.Parse(demo)
	if err != nil {
		b.Fatal(err)
	}
	cluster, err := etcdtest.StartWith(3, etcdtest.Options{Fsync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	for _, p := range []struct {
		name string
		doc  *model.Document
	}{
		{"demo", demoDoc},
		{"flags=1000", manyFlags(1000)},
	} {
		b.Run(p.name, func(b *testing.B) {
			rs := openReplicas(b, cluster, etcdtest.Prefix(b))
			a, bb := rs[0], rs[1]
			bb.await(p.doc.Project, seedProject(b, a.st, p.doc))
			flags := p.doc.Flags
			ack := make([]time.Duration, 0, b.N)
			write := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				key := flags[i%len(flags)].Key
				start := time.Now()
				c, err := a.st.Update(context.Background(), benchActor, func(tx *domain.Tx) error {
					ps, _ := tx.Project(p.doc.Project)
					t, m, ok := ps.FlagTargeting(key, "production")
					if !ok {
						return fmt.Errorf("flag %s has no production targeting", key)
					}
					nt := *t
					nt.Enabled = !nt.Enabled
					return tx.SetFlagTargeting(p.doc.Project, key, "production", &nt, m.Etag)
				})
				if err != nil {
					b.Fatal(err)
				}
				acked := time.Now()
				bb.await(p.doc.Project, c.Revision)
				seen := time.Now()
				ack = append(ack, seen.Sub(acked))
				write = append(write, seen.Sub(start))
			}
			b.StopTimer()
			slices.Sort(ack)
			slices.Sort(write)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(ack[len(ack)/2]), "ack-p50-ms")
			b.ReportMetric(ms(ack[len(ack)*99/100]), "ack-p99-ms")
			b.ReportMetric(ms(write[len(write)/2]), "write-p50-ms")
			b.ReportMetric(ms(write[len(write)*99/100]), "write-p99-ms")
		})
	}
}

var benchActor = domain.Actor{Name: "bench", Role: domain.RoleAdmin}

// replica is one process's view of the shared engine: its Store and the
// rulesets compiled from it.
type replica struct {
	st   *domain.Store
	sets *snapshot.Set
}

// openReplicas opens three replicas under prefix, replica i on member i.
func openReplicas(b *testing.B, c *etcdtest.Cluster, prefix string) []*replica {
	b.Helper()
	keys := domaintest.SecretKeys(b)
	var out []*replica
	for _, ep := range c.Endpoints() {
		be, err := etcdstore.Open(context.Background(), etcdstore.Options{Endpoints: []string{ep}, Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		r := &replica{sets: snapshot.NewSet(slog.New(slog.NewTextHandler(io.Discard, nil)))}
		r.st, err = domain.Open(context.Background(), be, domain.Options{OnCommit: r.sets.Apply, SecretKeys: keys})
		if err != nil {
			be.Close()
			b.Fatal(err)
		}
		r.sets.Apply(r.st.State(), nil)
		b.Cleanup(func() { r.st.Close() })
		out = append(out, r)
	}
	return out
}

// await waits until the replica's production ruleset of project is at
// revision rev or later.
func (r *replica) await(project string, rev uint64) {
	for {
		changed := r.sets.Changed()
		if rs := r.sets.Get(project, "production"); rs != nil && rs.Revision >= rev {
			return
		}
		<-changed
	}
}

// seedProject imports doc through st in parts small enough for one etcd
// transaction each (a flag and its audit event are two of its 128
// operations), and returns the last write's revision.
func seedProject(b *testing.B, st *domain.Store, doc *model.Document) uint64 {
	b.Helper()
	const part = 40
	var rev uint64
	for i := 0; i == 0 || i < len(doc.Flags); i += part {
		d := *doc
		d.Flags = doc.Flags[:min(i+part, len(doc.Flags))]
		c, err := st.Update(context.Background(), benchActor, func(tx *domain.Tx) error {
			_, err := tx.Import(&d, false)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		rev = max(rev, c.Revision)
	}
	return rev
}

// manyFlags is a project of n bool flags, each targeted in production and
// staging: one target, a rule on one of ten segments, a 50/50 rollout.
func manyFlags(n int) *model.Document {
	doc := &model.Document{Version: model.DocumentVersion, Project: "many", Environments: []string{"production", "staging"}}
	for i := range 10 {
		doc.Segments = append(doc.Segments, &model.Segment{
			Key:        "seg-" + strconv.Itoa(i),
			Conditions: []model.Condition{{Attribute: "country", Op: "in", Values: []any{"DE", "FR"}}},
			Include:    []string{"user-" + strconv.Itoa(i)},
		})
	}
	for i := range n {
		targeting := func() *model.Targeting {
			return &model.Targeting{
				Enabled: true,
				Targets: []model.Target{{Variant: "on", Keys: []string{"qa-1"}}},
				Rules: []model.Rule{{ID: "eu", Segments: []string{"seg-" + strconv.Itoa(i%10)},
					Serve: model.Serve{Variant: "on"}}},
				Default: &model.Serve{Rollout: []model.Weighted{{Variant: "on", Weight: 50000}, {Variant: "off", Weight: 50000}}},
			}
		}
		doc.Flags = append(doc.Flags, &model.Flag{
			Key: fmt.Sprintf("flag-%04d", i), Type: model.TypeBool, Description: "generated",
			Environments: map[string]*model.Targeting{"production": targeting(), "staging": targeting()},
		})
	}
	return doc
}
