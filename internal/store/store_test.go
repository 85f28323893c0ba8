package store_test

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

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

var testActor = store.Actor{KeyID: "k1", Name: "tester", Role: store.RoleAdmin, Peer: "127.0.0.1:1234"}

func update(t testing.TB, s *store.Store, fn func(tx *store.Tx) error) *store.Commit {
	t.Helper()
	c, err := s.Update(context.Background(), testActor, fn)
	if err != nil {
		t.Fatalf("Update() = %v", err)
	}
	return c
}

func project(t testing.TB, st *store.State, key string) *store.ProjectState {
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
func seed(t testing.TB, s *store.Store) *store.Commit {
	t.Helper()
	return update(t, s, func(tx *store.Tx) error {
		return errors.Join(
			tx.CreateProject(store.Project{Key: "shop", Description: "the shop"}),
			tx.CreateEnvironment("shop", store.Environment{Key: "production"}),
			tx.CreateEnvironment("shop", store.Environment{Key: "staging"}),
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
func dump(st *store.State) map[string]any {
	out := map[string]any{}
	for _, ps := range st.Projects() {
		p := ps.Key()
		out[store.ProjectName(p)] = ps.Project()
		out[store.ProjectName(p)+"#doc"] = ps.Document()
		for _, e := range ps.Environments() {
			out[store.EnvironmentName(p, e.Key)] = e
		}
		doc := ps.Document()
		for _, s := range doc.Segments {
			out[store.SegmentName(p, s.Key)] = mustMeta(ps, store.SegmentName(p, s.Key))
		}
		for _, f := range doc.Flags {
			out[store.FlagName(p, f.Key)] = mustMeta(ps, store.FlagName(p, f.Key))
			for env := range f.Environments {
				out[store.FlagTargetingName(p, f.Key, env)] = mustMeta(ps, store.FlagTargetingName(p, f.Key, env))
			}
		}
		for _, c := range doc.Components {
			out[store.ComponentName(p, c.Key)] = mustMeta(ps, store.ComponentName(p, c.Key))
			for env := range c.Environments {
				out[store.ComponentTargetingName(p, c.Key, env)] = mustMeta(ps, store.ComponentTargetingName(p, c.Key, env))
			}
		}
	}
	for _, k := range st.APIKeys() {
		out[store.APIKeyName(k.ID)] = *k
	}
	return out
}

func mustMeta(ps *store.ProjectState, name string) any {
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
	s := storetest.New(t)
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
	storetest.Open(t, path, store.Options{})
	start := time.Now()
	s2, err := store.Open(path, store.Options{})
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open() succeeded, want an error")
	}
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("second Open() = %v, want ErrLocked saying the file is locked by another process", err)
	}
	if elapsed > 2500*time.Millisecond {
		t.Errorf("second Open() returned after %v, want within 2.5s", elapsed)
	}
}

func TestReopenRestoresState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := storetest.Open(t, path, store.Options{})
	seed(t, s)
	update(t, s, func(tx *store.Tx) error {
		ps, _ := tx.Project("shop")
		f, _, _ := ps.Flag("new-checkout")
		nf := *f
		nf.Description = "changed"
		_, err := tx.CreateAPIKey(store.APIKey{Name: "ci", Kind: store.KindSDK, Project: "shop", Environment: "production", Hash: store.HashSecret("s1")})
		return errors.Join(
			tx.UpdateFlag("shop", &nf, ""),
			tx.SetFlagTargeting("shop", "new-checkout", "staging", enabled("off"), ""),
			tx.SetComponentTargeting("shop", "ios-app", "production", &model.Targeting{Default: &model.Serve{Version: "1.0.0"}}, ""),
			tx.CreateProject(store.Project{Key: "other"}),
			tx.CreateEnvironment("other", store.Environment{Key: "dev", Description: "dev env"}),
			tx.CreateSegment("shop", &model.Segment{Key: "a-first", Include: []string{"u1"}}),
			tx.DeleteSegment("shop", "eu-users", ""),
			err,
		)
	})
	want := dump(s.State())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := storetest.Open(t, path, store.Options{})
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
	c := update(t, s2, func(tx *store.Tx) error {
		return tx.CreateEnvironment("other", store.Environment{Key: "qa"})
	})
	if c.Revision <= project(t, s.State(), "shop").Environments()[0].Revision {
		t.Errorf("revision after reopen = %d, want above every earlier one", c.Revision)
	}
}

func TestUpdateFunctionErrorWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := storetest.Open(t, path, store.Options{})
	seed(t, s)
	before, hash := s.State(), fileHash(t, path)
	errBoom := errors.New("boom")
	_, err := s.Update(context.Background(), testActor, func(tx *store.Tx) error {
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
	s := storetest.Open(t, path, store.Options{})
	seed(t, s)
	verr := errors.New("flags[0].environments.production.default.variant: unknown variant")
	store.SetValidate(s, func(doc *model.Document) error {
		for _, f := range doc.Flags {
			if t, ok := f.Environments["production"]; ok && t.Default != nil && t.Default.Variant == "bogus" {
				return verr
			}
		}
		return nil
	})
	before, hash := s.State(), fileHash(t, path)
	revBefore, _ := project(t, before, "shop").Environment("production")
	_, err := s.Update(context.Background(), testActor, func(tx *store.Tx) error {
		return tx.SetFlagTargeting("shop", "new-checkout", "production", enabled("bogus"), "")
	})
	if !errors.Is(err, store.ErrInvalid) || !errors.Is(err, verr) {
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
	s := storetest.Open(t, path, store.Options{})
	seed(t, s)
	before, hash := s.State(), fileHash(t, path)
	_, err := s.Update(context.Background(), testActor, func(tx *store.Tx) error {
		return tx.CreateFlag("shop", boolFlag("broken", map[string]*model.Targeting{"production": {
			Enabled: true,
			Default: &model.Serve{Rollout: []model.Weighted{{Variant: "on", Weight: 1}, {Variant: "off", Weight: 2}}},
		}}))
	})
	var merr model.Errors
	if !errors.Is(err, store.ErrInvalid) || !errors.As(err, &merr) || !strings.Contains(err.Error(), "flags[1].environments.production") {
		t.Errorf("Update() = %v, want ErrInvalid wrapping model.Errors with the flag's path", err)
	}
	if s.State() != before || fileHash(t, path) != hash {
		t.Error("an invalid Update changed the state or the file")
	}
}

func TestConcurrentEtagUpdatesLoseNothing(t *testing.T) {
	s := storetest.New(t)
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
				_, err := s.Update(context.Background(), testActor, func(tx *store.Tx) error {
					return tx.UpdateFlag("shop", &nf, meta.Etag)
				})
				mu.Lock()
				switch {
				case err == nil:
					applied++
				case errors.Is(err, store.ErrConflict):
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
	events, _, err := s.ListAudit(context.Background(), store.AuditFilter{Resource: store.FlagName("shop", "new-checkout"), Limit: store.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(events) - 1; got != applied { // minus flag.create
		t.Errorf("%d flag.update events, want %d", got, applied)
	}
}

func TestUnchangedPointersAreShared(t *testing.T) {
	s := storetest.New(t)
	seed(t, s)
	update(t, s, func(tx *store.Tx) error {
		return tx.CreateFlag("shop", boolFlag("other", map[string]*model.Targeting{"staging": enabled("on")}))
	})
	before := project(t, s.State(), "shop")
	oldFlag, _, _ := before.Flag("new-checkout")
	nf := *oldFlag
	nf.Description = "changed"
	update(t, s, func(tx *store.Tx) error { return tx.UpdateFlag("shop", &nf, "") })
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
	s := storetest.New(t)
	c := seed(t, s)
	prod, stag := store.EnvRef{Project: "shop", Environment: "production"}, store.EnvRef{Project: "shop", Environment: "staging"}
	if want := map[store.EnvRef]uint64{prod: c.Revision, stag: c.Revision}; c.Revision == 0 || !reflect.DeepEqual(c.Revisions, want) {
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
		fn       func(tx *store.Tx) error
		affected []string
	}{
		{"segment change bumps every environment", func(tx *store.Tx) error {
			return tx.UpdateSegment("shop", &model.Segment{Key: "eu-users", Include: []string{"u1"}}, "")
		}, []string{"production", "staging"}},
		{"flag definition change bumps every environment", func(tx *store.Tx) error {
			return tx.UpdateFlag("shop", &model.Flag{Key: "new-checkout", Type: model.TypeBool, Description: "x",
				Environments: map[string]*model.Targeting{"production": enabled("on")}}, "")
		}, []string{"production", "staging"}},
		{"targeting change bumps its environment", func(tx *store.Tx) error {
			return tx.SetFlagTargeting("shop", "new-checkout", "staging", enabled("off"), "")
		}, []string{"staging"}},
		{"targeting change through UpdateFlag bumps its environment", func(tx *store.Tx) error {
			return tx.UpdateFlag("shop", &model.Flag{Key: "new-checkout", Type: model.TypeBool, Description: "x",
				Environments: map[string]*model.Targeting{"production": enabled("off"), "staging": enabled("off")}}, "")
		}, []string{"production"}},
		{"several changes bump each environment once", func(tx *store.Tx) error {
			return errors.Join(
				tx.SetFlagTargeting("shop", "new-checkout", "production", nil, ""),
				tx.SetFlagTargeting("shop", "new-checkout", "production", enabled("on"), ""),
				tx.SetComponentTargeting("shop", "ios-app", "production", &model.Targeting{}, ""),
			)
		}, []string{"production"}},
		{"project description bumps nothing", func(tx *store.Tx) error {
			return tx.UpdateProject(store.Project{Key: "shop", Description: "new"}, "")
		}, nil},
		{"an unchanged update bumps nothing", func(tx *store.Tx) error {
			return tx.UpdateSegment("shop", &model.Segment{Key: "eu-users", Include: []string{"u1"}}, "")
		}, nil},
		{"environment description bumps it", func(tx *store.Tx) error {
			return tx.UpdateEnvironment("shop", store.Environment{Key: "staging", Description: "pre-production"}, "")
		}, []string{"staging"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := revs()
			c := update(t, s, tc.fn)
			after := revs()
			want := map[store.EnvRef]uint64{}
			for env := range before {
				if slicesContains(tc.affected, env) {
					if after[env] <= before[env] || after[env] != c.Revision {
						t.Errorf("revision of %s = %d, want the commit's %d > %d", env, after[env], c.Revision, before[env])
					}
					want[store.EnvRef{Project: "shop", Environment: env}] = after[env]
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
		c := update(t, s, func(tx *store.Tx) error {
			return errors.Join(
				tx.DeleteEnvironment("shop", "staging", ""),
				tx.CreateEnvironment("shop", store.Environment{Key: "staging"}),
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
		s     *store.Store
		calls int
	)
	opts := store.Options{OnCommit: func(st *store.State, c *store.Commit) {
		calls++
		if st != s.State() || c.State != st {
			t.Error("OnCommit: State is not the published one")
		}
		if len(c.Events) == 0 {
			t.Error("OnCommit: no events")
		}
	}}
	s = storetest.Open(t, filepath.Join(t.TempDir(), "switchyard.db"), opts)
	seed(t, s)
	update(t, s, func(tx *store.Tx) error { return nil }) // no change: no call
	if calls != 1 {
		t.Errorf("OnCommit called %d times, want 1", calls)
	}
}

func TestUpdateAfterCloseFails(t *testing.T) {
	s := storetest.New(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Update(context.Background(), testActor, func(tx *store.Tx) error { return nil })
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update() after Close = %v, want ErrClosed", err)
	}
}

func TestUpdateCanceledContext(t *testing.T) {
	s := storetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Update(ctx, testActor, func(tx *store.Tx) error {
		return tx.CreateProject(store.Project{Key: "p"})
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
			s := storetest.New(b)
			store.SetValidate(s, bc.validate)
			seed(b, s)
			update(b, s, func(tx *store.Tx) error {
				return tx.CreateSegment("shop", &model.Segment{Key: "big", Include: keys})
			})
			f, _, _ := project(b, s.State(), "shop").Flag("new-checkout")
			for i := 0; b.Loop(); i++ {
				nf := *f
				nf.Description = strconv.Itoa(i)
				update(b, s, func(tx *store.Tx) error { return tx.UpdateFlag("shop", &nf, "") })
			}
		})
	}
}
