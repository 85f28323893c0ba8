package domaintest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/release"
)

// Replicas runs the suite of several processes sharing one storage engine:
// two Stores opened on one Backend act as two replicas. open returns a new,
// empty engine; the suite closes it. Every engine runs it (bbolt in
// internal/store/boltstore, etcd in internal/store/etcdstore).
func Replicas(t *testing.T, open func(t *testing.T) domain.Backend) {
	t.Run("WritesReachTheOtherReplica", func(t *testing.T) { testWritesReachTheOther(t, open(t)) })
	t.Run("ConflictingEtagsOneWins", func(t *testing.T) { testConflictingEtags(t, open(t)) })
	t.Run("ReleaseStepFiresOnce", func(t *testing.T) { testReleaseStepOnce(t, open(t)) })
	t.Run("FollowerMatchesALoad", func(t *testing.T) { testFollowerMatchesALoad(t, open(t)) })
	t.Run("AuditRetention", func(t *testing.T) { testAuditRetention(t, open(t)) })
}

// shared is an engine two Stores share: closing a Store leaves it open.
type shared struct{ domain.Backend }

func (shared) Close() error { return nil }

// replicas opens two Stores on b, each with opts, and closes them and b
// when the test ends.
func replicas(t *testing.T, b domain.Backend, opts domain.Options) (*domain.Store, *domain.Store) {
	t.Helper()
	if opts.SecretKeys == nil {
		opts.SecretKeys = SecretKeys(t)
	}
	var out [2]*domain.Store
	for i := range out {
		s, err := domain.Open(context.Background(), shared{b}, opts)
		if err != nil {
			t.Fatalf("domain.Open(replica %d) = %v", i, err)
		}
		out[i] = s
	}
	t.Cleanup(func() {
		for _, s := range out {
			s.Close()
		}
		if err := b.Close(); err != nil {
			t.Errorf("closing the engine: %v", err)
		}
	})
	return out[0], out[1]
}

// waitFor waits until cond holds for s's State; the bound only ends a hang.
func waitFor(t *testing.T, s *domain.Store, what string, cond func(*domain.State) bool) {
	t.Helper()
	changed := make(chan struct{}, 1)
	remove := s.Subscribe(func(*domain.State, *domain.Commit) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer remove()
	bound := time.After(time.Minute)
	for !cond(s.State()) {
		select {
		case <-changed:
		case <-bound:
			t.Fatalf("the other replica never saw %s", what)
		}
	}
}

var actor = domain.Actor{Name: "replicas"}

func flagDescription(project, flag string) func(*domain.State) string {
	return func(st *domain.State) string {
		ps, ok := st.Project(project)
		if !ok {
			return ""
		}
		for _, f := range ps.Document().Flags {
			if f.Key == flag {
				return f.Description + "."
			}
		}
		return ""
	}
}

func seedShop(t *testing.T, s *domain.Store) {
	t.Helper()
	_, err := s.Update(context.Background(), actor, func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "shop"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "production"}),
			tx.CreateFlag("shop", &model.Flag{Key: "f", Type: model.TypeBool, Description: "one",
				Environments: map[string]*model.Targeting{"production": {Enabled: true, Default: &model.Serve{Variant: "on"}}}}),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testWritesReachTheOther: a write on one replica reaches the other's
// State and its commit functions (with the environments whose revision
// moved, so its snapshots recompile), both ways.
func testWritesReachTheOther(t *testing.T, b domain.Backend) {
	var mu sync.Mutex
	var seen []*domain.Commit
	a, bb := replicas(t, b, domain.Options{})
	bb.Subscribe(func(_ *domain.State, c *domain.Commit) {
		mu.Lock()
		seen = append(seen, c)
		mu.Unlock()
	})
	seedShop(t, a)
	desc := flagDescription("shop", "f")
	waitFor(t, bb, "the project a wrote", func(st *domain.State) bool { return desc(st) == "one." })
	ps, _ := bb.State().Project("shop")
	wantRev := ps.Environments()[0].Revision
	mu.Lock()
	found := false
	for _, c := range seen {
		if c.Revisions[domain.EnvRef{Project: "shop", Environment: "production"}] == wantRev {
			found = true
		}
	}
	mu.Unlock()
	if !found {
		t.Errorf("the other replica's commit functions never got shop/production at revision %d", wantRev)
	}

	_, err := bb.Update(context.Background(), actor, func(tx *domain.Tx) error {
		ps, _ := tx.Project("shop")
		f, meta, _ := ps.Flag("f")
		c := *f
		c.Description = "two"
		return tx.UpdateFlag("shop", &c, meta.Etag)
	})
	if err != nil {
		t.Fatalf("write on the second replica: %v", err)
	}
	waitFor(t, a, "the flag the second replica wrote", func(st *domain.State) bool { return desc(st) == "two." })

	// Read your writes: the writer sees its own write when Update returns.
	if _, err := a.Update(context.Background(), actor, func(tx *domain.Tx) error {
		return tx.CreateFlag("shop", &model.Flag{Key: "g", Type: model.TypeBool, Description: "mine"})
	}); err != nil {
		t.Fatal(err)
	}
	if got := flagDescription("shop", "g")(a.State()); got != "mine." {
		t.Errorf("the writer's State after its Update has flag g %q, want it", got)
	}
}

// testConflictingEtags: two replicas update one flag with the same etag at
// once: exactly one wins, the other gets ErrConflict.
func testConflictingEtags(t *testing.T, b domain.Backend) {
	a, bb := replicas(t, b, domain.Options{})
	seedShop(t, a)
	desc := flagDescription("shop", "f")
	for round := range 10 {
		want := desc(a.State())
		waitFor(t, bb, "the flag as it is", func(st *domain.State) bool { return desc(st) == want })
		ps, _ := a.State().Project("shop")
		_, meta, _ := ps.Flag("f")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*domain.Store{a, bb} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Update(context.Background(), actor, func(tx *domain.Tx) error {
					ps, _ := tx.Project("shop")
					f, _, _ := ps.Flag("f")
					c := *f
					c.Description = want + string(rune('a'+i))
					return tx.UpdateFlag("shop", &c, meta.Etag)
				})
			}()
		}
		wg.Wait()
		won, lost := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, domain.ErrConflict):
				lost++
			default:
				t.Fatalf("round %d: Update = %v, want nil or ErrConflict", round, err)
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("round %d: %d won and %d lost, want one of each (%v)", round, won, lost, errs)
		}
	}
}

// testReleaseStepOnce: a scheduled release step taken on both replicas at
// once is taken once.
func testReleaseStepOnce(t *testing.T, b domain.Backend) {
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	a, bb := replicas(t, b, domain.Options{Now: clock})
	seedShop(t, a)
	var r model.Release
	if err := json.Unmarshal([]byte(`{"id": "r", "environment": "production", "release_notes": "n",
	  "items": [{"flag": "f", "variant": "off"}],
	  "plan": [{"weight": 1000}, {"weight": 100000, "gate": {"wait": {"duration": "1h"}}}]}`), &r); err != nil {
		t.Fatal(err)
	}
	_, err := a.Update(context.Background(), actor, func(tx *domain.Tx) error {
		if err := release.Create(tx, "shop", &r); err != nil {
			return err
		}
		return release.Start(tx, release.Request{Project: "shop", ID: "r"}, time.Time{})
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	stage := func(st *domain.State) int {
		ps, ok := st.Project("shop")
		if !ok {
			return -1
		}
		r, _, ok := ps.Release("r")
		if !ok {
			return -1
		}
		return r.Stage
	}
	waitFor(t, bb, "the started release", func(st *domain.State) bool { return stage(st) == 1 })

	var wg sync.WaitGroup
	did := make([]bool, 2)
	errs := make([]error, 2)
	for i, s := range []*domain.Store{a, bb} {
		ps, _ := s.State().Project("shop")
		_, meta, _ := ps.Release("r")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Update(context.Background(), domain.Actor{Name: release.SchedulerName}, func(tx *domain.Tx) error {
				var err error
				did[i], err = release.TakeDue(tx, release.Request{Project: "shop", ID: "r", Etag: meta.Etag}, time.Minute)
				return err
			})
		}()
	}
	wg.Wait()
	taken := 0
	for i := range did {
		switch {
		case errs[i] == nil && did[i]:
			taken++
		case errs[i] == nil, errors.Is(errs[i], domain.ErrConflict):
		default:
			t.Fatalf("TakeDue on replica %d = %v", i, errs[i])
		}
	}
	if taken != 1 {
		t.Fatalf("the due step was taken %d times, want once (errors %v)", taken, errs)
	}
	waitFor(t, bb, "the step taken", func(st *domain.State) bool { return stage(st) == 2 })
	ps, _ := a.State().Project("shop")
	rel, _, _ := ps.Release("r")
	advances := 0
	for _, ev := range rel.Timeline {
		if ev.Action == "advance" {
			advances++
		}
	}
	if advances != 1 {
		t.Errorf("the timeline has %d advance events, want 1", advances)
	}
}

// testFollowerMatchesALoad: after each of a series of writes on one
// replica (creates, updates and deletes of every kind of record: segments
// whose lists are stored in chunks, growing, shrinking and dropped;
// releases; API keys; webhooks; environments; a whole project), the other
// replica's State, patched from the Changes it followed, equals the State
// a fresh Load of the engine gives.
func testFollowerMatchesALoad(t *testing.T, b domain.Backend) {
	opts := domain.Options{SecretKeys: SecretKeys(t)}
	a, bb := replicas(t, b, opts)
	ctx := context.Background()
	step := func(name string, fn func(tx *domain.Tx) error) {
		t.Helper()
		if _, err := a.Update(ctx, actor, fn); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := bb.CatchUp(ctx); err != nil {
			t.Fatalf("%s: CatchUp = %v", name, err)
		}
		fresh, err := domain.Open(ctx, shared{b}, opts)
		if err != nil {
			t.Fatalf("%s: domain.Open = %v", name, err)
		}
		defer fresh.Close()
		if got, want := dumpState(t, bb.State()), dumpState(t, fresh.State()); got != want {
			i := 0
			for i < min(len(got), len(want)) && got[i] == want[i] {
				i++
			}
			from := max(0, i-200)
			t.Fatalf("after %s, the follower's State differs from a fresh load at byte %d:\nfollower: …%.400s\nload:     …%.400s", name, i, got[from:], want[from:])
		}
	}
	keys := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = prefix + strconv.Itoa(i)
		}
		return out
	}
	segment := func(tx *domain.Tx, key string) (*model.Segment, string) {
		ps, _ := tx.Project("shop")
		s, m, _ := ps.Segment(key)
		c := *s
		return &c, m.Etag
	}
	var keyID string

	step("seed", func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "shop"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "production"}),
			tx.CreateFlag("shop", &model.Flag{Key: "f", Type: model.TypeBool,
				Environments: map[string]*model.Targeting{"production": {Enabled: true, Default: &model.Serve{Variant: "on"}}}}),
		)
	})
	step("create", func(tx *domain.Tx) error {
		k, err := tx.CreateAPIKey(domain.APIKey{Name: "sdk", Kind: domain.KindSDK, Project: "shop", Environment: "production", Hash: domain.HashSecret("sys_follow")})
		keyID = k.ID
		return errors.Join(err,
			tx.CreateEnvironment("shop", domain.Environment{Key: "staging", Description: "pre-production"}),
			tx.CreateSegment("shop", &model.Segment{Key: "small", Include: keys("s-", 3)}),
			tx.CreateSegment("shop", &model.Segment{Key: "big", Include: keys("i-", 5000), Exclude: keys("x-", 3)}),
			tx.CreateComponent("shop", &model.Component{Key: "app", Versions: []model.Version{{Version: "1.0.0"}, {Version: "1.1.0"}}}),
			tx.CreateFlag("shop", &model.Flag{Key: "g", Type: model.TypeBool, Environments: map[string]*model.Targeting{
				"production": {Enabled: true, Rules: []model.Rule{{ID: "big", Segments: []string{"big"}, Serve: model.Serve{Variant: "on"}}}},
				"staging":    {Enabled: true}}}),
			tx.CreateWebhook("shop", &model.Webhook{ID: "ops", URL: "https://example.com/ops", Secret: "whsec-follow-the-leader", Events: []string{"flag.*"}}),
		)
	})
	step("release", func(tx *domain.Tx) error {
		var r model.Release
		if err := json.Unmarshal([]byte(`{"id": "r", "environment": "production", "release_notes": "n",
		  "items": [{"flag": "f", "variant": "off"}],
		  "plan": [{"weight": 1000}, {"weight": 100000, "gate": {"wait": {"duration": "1h"}}}]}`), &r); err != nil {
			return err
		}
		if err := release.Create(tx, "shop", &r); err != nil {
			return err
		}
		return release.Start(tx, release.Request{Project: "shop", ID: "r"}, time.Time{})
	})
	step("edit some shards", func(tx *domain.Tx) error {
		s, etag := segment(tx, "big")
		s.Include = append(slices.Clone(s.Include[2:]), "i-new-1", "i-new-2", "i-new-3")
		return tx.UpdateSegment("shop", s, etag)
	})
	step("segment record only", func(tx *domain.Tx) error {
		s, etag := segment(tx, "big")
		s.Description = "described"
		return tx.UpdateSegment("shop", s, etag)
	})
	step("grow a short list", func(tx *domain.Tx) error {
		s, etag := segment(tx, "big")
		s.Exclude = keys("x-", 4500)
		return tx.UpdateSegment("shop", s, etag)
	})
	step("shrink a chunked list", func(tx *domain.Tx) error {
		s, etag := segment(tx, "big")
		s.Include = keys("i-", 10)
		return tx.UpdateSegment("shop", s, etag)
	})
	step("deletes", func(tx *domain.Tx) error {
		ps, _ := tx.Project("shop")
		_, gm, _ := ps.Flag("g")
		_, bm, _ := ps.Segment("big")
		_, wm, _ := ps.Webhook("ops")
		return errors.Join(
			tx.DeleteFlag("shop", "g", gm.Etag),
			tx.DeleteSegment("shop", "big", bm.Etag),
			tx.DeleteWebhook("shop", "ops", wm.Etag),
			tx.DeleteAPIKey(keyID),
		)
	})
	step("delete an environment", func(tx *domain.Tx) error {
		ps, _ := tx.Project("shop")
		e, _ := ps.Environment("staging")
		return tx.DeleteEnvironment("shop", "staging", e.Meta.Etag)
	})
	step("another project", func(tx *domain.Tx) error {
		return errors.Join(
			tx.CreateProject(domain.Project{Key: "other"}),
			tx.CreateEnvironment("other", domain.Environment{Key: "production"}),
			tx.CreateSegment("other", &model.Segment{Key: "big", Include: keys("o-", 4100)}),
		)
	})
	step("delete a project", func(tx *domain.Tx) error {
		ps, _ := tx.Project("other")
		return tx.DeleteProject("other", ps.Project().Meta.Etag)
	})
}

// dumpState renders everything a State holds through its accessors, in
// order, as JSON.
func dumpState(t *testing.T, st *domain.State) string {
	t.Helper()
	type item struct {
		Name  string
		Meta  domain.Meta
		Value any
	}
	type project struct {
		Project      domain.Project
		Environments []domain.Environment
		Document     *model.Document
		Items        []item
	}
	var out struct {
		Projects []project
		Keys     []*domain.APIKey
	}
	for _, ps := range st.Projects() {
		p := project{Project: ps.Project(), Environments: ps.Environments(), Document: ps.Document()}
		key := ps.Key()
		add := func(name string, v any) {
			m, ok := ps.Meta(name)
			if !ok {
				t.Fatalf("%s: no Meta", name)
			}
			p.Items = append(p.Items, item{name, m, v})
		}
		for _, s := range ps.Document().Segments {
			add(domain.SegmentName(key, s.Key), ps.SegmentKeysHash(s.Key))
		}
		for _, f := range ps.Document().Flags {
			add(domain.FlagName(key, f.Key), nil)
			for _, e := range ps.Environments() {
				if _, m, ok := ps.FlagTargeting(f.Key, e.Key); ok {
					p.Items = append(p.Items, item{domain.FlagTargetingName(key, f.Key, e.Key), m, nil})
				}
			}
		}
		for _, c := range ps.Document().Components {
			add(domain.ComponentName(key, c.Key), nil)
		}
		for _, r := range ps.Releases() {
			_, m, _ := ps.Release(r.ID)
			p.Items = append(p.Items, item{"release " + r.ID, m, r})
		}
		for _, w := range ps.Webhooks() {
			_, m, _ := ps.Webhook(w.ID)
			p.Items = append(p.Items, item{"webhook " + w.ID, m, w})
		}
		for _, e := range ps.Experiments() {
			_, m, _ := ps.Experiment(e.ID)
			p.Items = append(p.Items, item{"experiment " + e.ID, m, e})
		}
		for _, x := range ps.Metrics() {
			_, m, _ := ps.Metric(x.Key)
			p.Items = append(p.Items, item{"metric " + x.Key, m, x})
		}
		for _, x := range ps.ReleaseModels() {
			_, m, _ := ps.ReleaseModel(x.Key)
			p.Items = append(p.Items, item{"release model " + x.Key, m, x})
		}
		for _, x := range ps.Freezes() {
			_, m, _ := ps.Freeze(x.Key)
			p.Items = append(p.Items, item{"freeze " + x.Key, m, x})
		}
		out.Projects = append(out.Projects, p)
	}
	out.Keys = st.APIKeys()
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
