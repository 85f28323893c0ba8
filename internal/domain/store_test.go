package domain_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

var testActor = domain.Actor{KeyID: "k1", Name: "tester", Role: domain.RoleAdmin, Peer: "127.0.0.1:1234"}

func update(t testing.TB, s *domain.Store, fn func(tx *domain.Tx) error) *domain.Commit {
	t.Helper()
	c, err := s.Update(context.Background(), testActor, fn)
	if err != nil {
		t.Fatalf("Update() = %v", err)
	}
	return c
}

func project(t testing.TB, st *domain.State, key string) *domain.ProjectState {
	t.Helper()
	ps, ok := st.Project(key)
	if !ok {
		t.Fatalf("Project(%q) not found", key)
	}
	return ps
}

func boolFlag(key string, envs map[string]*model.Targeting) *model.Flag {
	return &model.Flag{Key: key, Type: model.TypeBool, Environments: envs}
}

func enabled(variant string) *model.Targeting {
	return &model.Targeting{Enabled: true, Default: &model.Serve{Variant: variant}}
}

// seed creates project shop with environments production and staging, a
// segment, a flag with targeting in production and a component.
func seed(t testing.TB, s *domain.Store) *domain.Commit {
	t.Helper()
	return update(t, s, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "shop", Description: "the shop"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "production"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "staging"}),
			tx.CreateSegment("shop", &model.Segment{Key: "eu-users", Conditions: []model.Condition{
				{Attribute: "country", Op: model.OpIn, Values: []any{"DE", "FR"}},
			}}),
			tx.CreateFlag("shop", boolFlag("new-checkout", map[string]*model.Targeting{"production": enabled("on")})),
			tx.CreateComponent("shop", &model.Component{Key: "ios-app", Versions: []model.Version{{Version: "1.0.0"}}}),
		)
	})
}

// dump returns every resource of a State by name, with its Meta, through
// the public accessors.
func dump(st *domain.State) map[string]any {
	out := map[string]any{}
	for _, ps := range st.Projects() {
		p := ps.Key()
		out[domain.ProjectName(p)] = ps.Project()
		out[domain.ProjectName(p)+"#doc"] = ps.Document()
		for _, e := range ps.Environments() {
			out[domain.EnvironmentName(p, e.Key)] = e
		}
		doc := ps.Document()
		for _, s := range doc.Segments {
			out[domain.SegmentName(p, s.Key)] = mustMeta(ps, domain.SegmentName(p, s.Key))
		}
		for _, f := range doc.Flags {
			out[domain.FlagName(p, f.Key)] = mustMeta(ps, domain.FlagName(p, f.Key))
			for env := range f.Environments {
				out[domain.FlagTargetingName(p, f.Key, env)] = mustMeta(ps, domain.FlagTargetingName(p, f.Key, env))
			}
		}
		for _, c := range doc.Components {
			out[domain.ComponentName(p, c.Key)] = mustMeta(ps, domain.ComponentName(p, c.Key))
			for env := range c.Environments {
				out[domain.ComponentTargetingName(p, c.Key, env)] = mustMeta(ps, domain.ComponentTargetingName(p, c.Key, env))
			}
		}
	}
	for _, k := range st.APIKeys() {
		out[domain.APIKeyName(k.ID)] = *k
	}
	return out
}

func mustMeta(ps *domain.ProjectState, name string) any {
	m, ok := ps.Meta(name)
	if !ok {
		return "missing meta"
	}
	return m
}

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestOpenEmptyDatabaseHasEmptyState(t *testing.T) {
	s := domaintest.New(t)
	st := s.State()
	if got := len(st.Projects()); got != 0 {
		t.Errorf("len(Projects()) = %d, want 0", got)
	}
	if got := len(st.APIKeys()); got != 0 {
		t.Errorf("len(APIKeys()) = %d, want 0", got)
	}
}

func TestOpenLockedFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	domaintest.OnBolt(t, path, domain.Options{})
	start := time.Now()
	s2, err := domaintest.OpenFile(path, domain.Options{})
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open() succeeded, want an error")
	}
	if !errors.Is(err, domain.ErrLocked) || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("second Open() = %v, want ErrLocked saying the file is locked by another process", err)
	}
	if elapsed > 2500*time.Millisecond {
		t.Errorf("second Open() returned after %v, want within 2.5s", elapsed)
	}
}

func TestReopenRestoresState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		ps, _ := tx.Project("shop")
		f, _, _ := ps.Flag("new-checkout")
		nf := *f
		nf.Description = "changed"
		_, err := tx.CreateAPIKey(domain.APIKey{Name: "ci", Kind: domain.KindSDK, Project: "shop", Environment: "production", Hash: domain.HashSecret("s1")})
		return errors.Join(
			tx.UpdateFlag("shop", &nf, ""),
			tx.SetFlagTargeting("shop", "new-checkout", "staging", enabled("off"), ""),
			tx.SetComponentTargeting("shop", "ios-app", "production", &model.Targeting{Default: &model.Serve{Version: "1.0.0"}}, ""),
			tx.CreateProject(domain.Project{Key: "other"}),
			tx.CreateEnvironment("other", domain.Environment{Key: "dev", Description: "dev env"}),
			tx.CreateSegment("shop", &model.Segment{Key: "a-first", Include: []string{"u1"}}),
			tx.DeleteSegment("shop", "eu-users", ""),
			err,
		)
	})
	want := dump(s.State())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := domaintest.Open(t, path, domain.Options{})
	got := dump(s2.State())
	if !reflect.DeepEqual(got, want) {
		for name := range want {
			if !reflect.DeepEqual(got[name], want[name]) {
				t.Errorf("after reopen %s = %+v, want %+v", name, got[name], want[name])
			}
		}
		t.Errorf("after reopen: %d resources, want %d", len(got), len(want))
	}
	// Sequence numbers continue after a reopen: etags are not reused.
	c := update(t, s2, func(tx *domain.Tx) error {
		return tx.CreateEnvironment("other", domain.Environment{Key: "qa"})
	})
	if c.Revision <= project(t, s.State(), "shop").Environments()[0].Revision {
		t.Errorf("revision after reopen = %d, want above every earlier one", c.Revision)
	}
}

func TestUpdateFunctionErrorWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.OnBolt(t, path, domain.Options{})
	seed(t, s)
	before, hash := s.State(), fileHash(t, path)
	errBoom := errors.New("boom")
	_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
		if err := tx.DeleteFlag("shop", "new-checkout", ""); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Update() = %v, want %v", err, errBoom)
	}
	if s.State() != before {
		t.Error("State() changed after a failed Update")
	}
	if fileHash(t, path) != hash {
		t.Error("database file changed after a failed Update")
	}
}

func TestInvalidChangeWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.OnBolt(t, path, domain.Options{})
	seed(t, s)
	verr := errors.New("flags[0].environments.production.default.variant: unknown variant")
	domain.SetValidate(s, func(doc *model.Document) error {
		for _, f := range doc.Flags {
			if t, ok := f.Environments["production"]; ok && t.Default != nil && t.Default.Variant == "bogus" {
				return verr
			}
		}
		return nil
	})
	before, hash := s.State(), fileHash(t, path)
	revBefore, _ := project(t, before, "shop").Environment("production")
	_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
		return tx.SetFlagTargeting("shop", "new-checkout", "production", enabled("bogus"), "")
	})
	if !errors.Is(err, domain.ErrInvalid) || !errors.Is(err, verr) {
		t.Errorf("Update() = %v, want ErrInvalid wrapping the validation error", err)
	}
	if s.State() != before {
		t.Error("State() changed after an invalid Update")
	}
	revAfter, _ := project(t, s.State(), "shop").Environment("production")
	if revAfter.Revision != revBefore.Revision {
		t.Errorf("revision = %d after an invalid Update, want %d", revAfter.Revision, revBefore.Revision)
	}
	if fileHash(t, path) != hash {
		t.Error("database file changed after an invalid Update")
	}
}

func TestInvalidChangeReturnsModelErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.OnBolt(t, path, domain.Options{})
	seed(t, s)
	before, hash := s.State(), fileHash(t, path)
	_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
		return tx.CreateFlag("shop", boolFlag("broken", map[string]*model.Targeting{"production": {
			Enabled: true,
			Default: &model.Serve{Rollout: []model.Weighted{{Variant: "on", Weight: 1}, {Variant: "off", Weight: 2}}},
		}}))
	})
	var merr model.Errors
	if !errors.Is(err, domain.ErrInvalid) || !errors.As(err, &merr) || !strings.Contains(err.Error(), "flags[1].environments.production") {
		t.Errorf("Update() = %v, want ErrInvalid wrapping model.Errors with the flag's path", err)
	}
	if s.State() != before || fileHash(t, path) != hash {
		t.Error("an invalid Update changed the state or the file")
	}
}

func TestConcurrentEtagUpdatesLoseNothing(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	// Each goroutine reads the flag, then updates it with the etag it read,
	// incrementing the number in its description, a few times over.
	const goroutines, attempts = 100, 3
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		applied   int
		conflicts int
		start     = make(chan struct{})
	)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range attempts {
				ps, _ := s.State().Project("shop")
				f, meta, _ := ps.Flag("new-checkout")
				count, _ := strconv.Atoi(f.Description)
				nf := *f
				nf.Description = strconv.Itoa(count + 1)
				_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
					return tx.UpdateFlag("shop", &nf, meta.Etag)
				})
				mu.Lock()
				switch {
				case err == nil:
					applied++
				case errors.Is(err, domain.ErrConflict):
					conflicts++
				default:
					t.Errorf("Update() = %v, want nil or ErrConflict", err)
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("%d updates applied, %d refused", applied, conflicts)
	const n = goroutines * attempts
	f, _, _ := project(t, s.State(), "shop").Flag("new-checkout")
	if applied == 0 || applied+conflicts != n {
		t.Errorf("applied %d, conflicts %d, want applied > 0 and a total of %d", applied, conflicts, n)
	}
	if f.Description != strconv.Itoa(applied) {
		t.Errorf("description = %q after %d applied updates, want %q", f.Description, applied, strconv.Itoa(applied))
	}
	events, _, err := s.ListAudit(context.Background(), domain.AuditFilter{Resource: domain.FlagName("shop", "new-checkout"), Limit: domain.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(events) - 1; got != applied { // minus flag.create
		t.Errorf("%d flag.update events, want %d", got, applied)
	}
}

func TestUnchangedPointersAreShared(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		return tx.CreateFlag("shop", boolFlag("other", map[string]*model.Targeting{"staging": enabled("on")}))
	})
	before := project(t, s.State(), "shop")
	oldFlag, _, _ := before.Flag("new-checkout")
	nf := *oldFlag
	nf.Description = "changed"
	update(t, s, func(tx *domain.Tx) error { return tx.UpdateFlag("shop", &nf, "") })
	after := project(t, s.State(), "shop")

	for i, seg := range before.Document().Segments {
		if after.Document().Segments[i] != seg {
			t.Errorf("segment %q: pointer changed by an unrelated flag update", seg.Key)
		}
	}
	for i, c := range before.Document().Components {
		if after.Document().Components[i] != c {
			t.Errorf("component %q: pointer changed by an unrelated flag update", c.Key)
		}
	}
	oldOther, _, _ := before.Flag("other")
	newOther, _, _ := after.Flag("other")
	if oldOther != newOther {
		t.Error("flag other: pointer changed by an update of another flag")
	}
	newFlag, _, _ := after.Flag("new-checkout")
	if newFlag == oldFlag {
		t.Error("flag new-checkout: pointer unchanged by its own update")
	}
	if newFlag.Environments["production"] != oldFlag.Environments["production"] {
		t.Error("flag new-checkout: unchanged targeting got a new pointer")
	}
	if before.Document().Flags[0] != oldFlag || after.Document().Flags[0] != newFlag {
		t.Error("Document().Flags and Flag() disagree")
	}
}

func TestRevisions(t *testing.T) {
	s := domaintest.New(t)
	c := seed(t, s)
	prod, stag := domain.EnvRef{Project: "shop", Environment: "production"}, domain.EnvRef{Project: "shop", Environment: "staging"}
	if want := map[domain.EnvRef]uint64{prod: c.Revision, stag: c.Revision}; c.Revision == 0 || !reflect.DeepEqual(c.Revisions, want) {
		t.Errorf("seed commit: Revisions = %v, want %v", c.Revisions, want)
	}
	revs := func() map[string]uint64 {
		m := map[string]uint64{}
		for _, e := range project(t, s.State(), "shop").Environments() {
			m[e.Key] = e.Revision
		}
		return m
	}
	tests := []struct {
		name     string
		fn       func(tx *domain.Tx) error
		affected []string
	}{
		{"segment change bumps every environment", func(tx *domain.Tx) error {
			return tx.UpdateSegment("shop", &model.Segment{Key: "eu-users", Include: []string{"u1"}}, "")
		}, []string{"production", "staging"}},
		{"flag definition change bumps every environment", func(tx *domain.Tx) error {
			return tx.UpdateFlag("shop", &model.Flag{Key: "new-checkout", Type: model.TypeBool, Description: "x",
				Environments: map[string]*model.Targeting{"production": enabled("on")}}, "")
		}, []string{"production", "staging"}},
		{"targeting change bumps its environment", func(tx *domain.Tx) error {
			return tx.SetFlagTargeting("shop", "new-checkout", "staging", enabled("off"), "")
		}, []string{"staging"}},
		{"targeting change through UpdateFlag bumps its environment", func(tx *domain.Tx) error {
			return tx.UpdateFlag("shop", &model.Flag{Key: "new-checkout", Type: model.TypeBool, Description: "x",
				Environments: map[string]*model.Targeting{"production": enabled("off"), "staging": enabled("off")}}, "")
		}, []string{"production"}},
		{"several changes bump each environment once", func(tx *domain.Tx) error {
			return errors.Join(
				tx.SetFlagTargeting("shop", "new-checkout", "production", nil, ""),
				tx.SetFlagTargeting("shop", "new-checkout", "production", enabled("on"), ""),
				tx.SetComponentTargeting("shop", "ios-app", "production", &model.Targeting{}, ""),
			)
		}, []string{"production"}},
		{"project description bumps nothing", func(tx *domain.Tx) error {
			return tx.UpdateProject(domain.Project{Key: "shop", Description: "new"}, "")
		}, nil},
		{"an unchanged update bumps nothing", func(tx *domain.Tx) error {
			return tx.UpdateSegment("shop", &model.Segment{Key: "eu-users", Include: []string{"u1"}}, "")
		}, nil},
		{"environment description bumps it", func(tx *domain.Tx) error {
			return tx.UpdateEnvironment("shop", domain.Environment{Key: "staging", Description: "pre-production"}, "")
		}, []string{"staging"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := revs()
			c := update(t, s, tc.fn)
			after := revs()
			want := map[domain.EnvRef]uint64{}
			for env := range before {
				if slicesContains(tc.affected, env) {
					if after[env] <= before[env] || after[env] != c.Revision {
						t.Errorf("revision of %s = %d, want the commit's %d > %d", env, after[env], c.Revision, before[env])
					}
					want[domain.EnvRef{Project: "shop", Environment: env}] = after[env]
				} else if after[env] != before[env] {
					t.Errorf("revision of %s = %d, want it unchanged at %d", env, after[env], before[env])
				}
			}
			if len(want) == 0 {
				want = nil
			}
			if !reflect.DeepEqual(c.Revisions, want) {
				t.Errorf("Commit.Revisions = %v, want %v", c.Revisions, want)
			}
		})
	}
	t.Run("recreated environment never reuses a revision", func(t *testing.T) {
		old := revs()["staging"]
		c := update(t, s, func(tx *domain.Tx) error {
			return errors.Join(
				tx.DeleteEnvironment("shop", "staging", ""),
				tx.CreateEnvironment("shop", domain.Environment{Key: "staging"}),
			)
		})
		if got := revs()["staging"]; got <= old || got != c.Revision {
			t.Errorf("revision of recreated staging = %d, want the commit's %d > %d", got, c.Revision, old)
		}
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestOnCommitSeesPublishedState(t *testing.T) {
	var (
		s     *domain.Store
		calls int
	)
	opts := domain.Options{OnCommit: func(st *domain.State, c *domain.Commit) {
		calls++
		if st != s.State() || c.State != st {
			t.Error("OnCommit: State is not the published one")
		}
		if len(c.Events) == 0 {
			t.Error("OnCommit: no events")
		}
	}}
	s = domaintest.Open(t, filepath.Join(t.TempDir(), "switchyard.db"), opts)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error { return nil }) // no change: no call
	if calls != 1 {
		t.Errorf("OnCommit called %d times, want 1", calls)
	}
}

func TestUpdateAfterCloseFails(t *testing.T) {
	s := domaintest.New(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error { return nil })
	if !errors.Is(err, domain.ErrClosed) {
		t.Errorf("Update() after Close = %v, want ErrClosed", err)
	}
}

func TestUpdateCanceledContext(t *testing.T) {
	s := domaintest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Update(ctx, testActor, func(tx *domain.Tx) error {
		return tx.CreateProject(domain.Project{Key: "p"})
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update() = %v, want context.Canceled", err)
	}
	if len(s.State().Projects()) != 0 {
		t.Error("a canceled Update changed the state")
	}
}

// BenchmarkUpdateFlagWithLargeSegment measures a flag update while the
// project holds a segment of 1,000,000 keys: the store must neither copy
// nor encode the segment again. "model.Validate" is the real cost of a
// write; "no validation" is the store's own share of it.
func BenchmarkUpdateFlagWithLargeSegment(b *testing.B) {
	keys := make([]string, 1_000_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%07d", i)
	}
	for _, bc := range []struct {
		name     string
		validate func(*model.Document) error
	}{
		{"model.Validate", model.Validate},
		{"no validation", func(*model.Document) error { return nil }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := domaintest.New(b)
			domain.SetValidate(s, bc.validate)
			seed(b, s)
			update(b, s, func(tx *domain.Tx) error {
				return tx.CreateSegment("shop", &model.Segment{Key: "big", Include: keys})
			})
			f, _, _ := project(b, s.State(), "shop").Flag("new-checkout")
			for i := 0; b.Loop(); i++ {
				nf := *f
				nf.Description = strconv.Itoa(i)
				update(b, s, func(tx *domain.Tx) error { return tx.UpdateFlag("shop", &nf, "") })
			}
		})
	}
}
