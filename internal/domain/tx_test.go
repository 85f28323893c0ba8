package domain_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

func TestCreateSetsMeta(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	ps := project(t, s.State(), "shop")
	names := []string{
		domain.ProjectName("shop"),
		domain.EnvironmentName("shop", "production"),
		domain.SegmentName("shop", "eu-users"),
		domain.FlagName("shop", "new-checkout"),
		domain.FlagTargetingName("shop", "new-checkout", "production"),
		domain.ComponentName("shop", "ios-app"),
	}
	etags := map[string]string{}
	for _, name := range names {
		m, ok := ps.Meta(name)
		if !ok || m.Etag == "" || m.CreateTime.IsZero() || !m.UpdateTime.Equal(m.CreateTime) {
			t.Errorf("Meta(%q) = %+v, %v, want an etag and equal create and update times", name, m, ok)
		}
		if other, dup := etags[m.Etag]; dup && !strings.HasPrefix(name, other) {
			t.Errorf("Meta(%q).Etag = %q, the etag of %s too", name, m.Etag, other)
		}
		etags[m.Etag] = name
	}
	for _, name := range []string{
		"projects/other", "projects/shop/flags/none", "projects/shop/flags/new-checkout/environments/staging",
		"projects/shop/widgets/x", "apikeys/x",
	} {
		if m, ok := ps.Meta(name); ok {
			t.Errorf("Meta(%q) = %+v, want not found", name, m)
		}
	}
	doc := ps.Document()
	want := &model.Document{
		Version: model.DocumentVersion, Project: "shop", Environments: []string{"production", "staging"},
		Segments: []*model.Segment{{Key: "eu-users", Conditions: []model.Condition{
			{Attribute: "country", Op: model.OpIn, Values: []any{"DE", "FR"}},
		}}},
		Flags:      []*model.Flag{boolFlag("new-checkout", map[string]*model.Targeting{"production": enabled("on")})},
		Components: []*model.Component{{Key: "ios-app", Versions: []model.Version{{Version: "1.0.0"}}}},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("Document() = %+v, want %+v", doc, want)
	}
}

// TestEtags runs, for every resource, an operation with a stale etag
// (refused with ErrConflict, nothing changed) and with the current one
// (applied, new etag or resource gone). The cases run in order on one store.
func TestEtags(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		return tx.SetComponentTargeting("shop", "ios-app", "staging", &model.Targeting{}, "")
	})
	tests := []struct {
		name     string
		resource string
		op       func(tx *domain.Tx, etag string) error
		deleted  bool
	}{
		{"update project", domain.ProjectName("shop"), func(tx *domain.Tx, etag string) error {
			return tx.UpdateProject(domain.Project{Key: "shop", Description: "changed"}, etag)
		}, false},
		{"update environment", domain.EnvironmentName("shop", "staging"), func(tx *domain.Tx, etag string) error {
			return tx.UpdateEnvironment("shop", domain.Environment{Key: "staging", Description: "changed"}, etag)
		}, false},
		{"update segment", domain.SegmentName("shop", "eu-users"), func(tx *domain.Tx, etag string) error {
			return tx.UpdateSegment("shop", &model.Segment{Key: "eu-users", Include: []string{"u1"}}, etag)
		}, false},
		{"update flag", domain.FlagName("shop", "new-checkout"), func(tx *domain.Tx, etag string) error {
			return tx.UpdateFlag("shop", boolFlag("new-checkout", map[string]*model.Targeting{"production": enabled("off")}), etag)
		}, false},
		{"set flag targeting", domain.FlagTargetingName("shop", "new-checkout", "production"), func(tx *domain.Tx, etag string) error {
			return tx.SetFlagTargeting("shop", "new-checkout", "production", enabled("on"), etag)
		}, false},
		{"update component", domain.ComponentName("shop", "ios-app"), func(tx *domain.Tx, etag string) error {
			return tx.UpdateComponent("shop", &model.Component{Key: "ios-app", MinSupported: "1.0.0",
				Environments: map[string]*model.Targeting{"staging": {}}}, etag)
		}, false},
		{"set component targeting", domain.ComponentTargetingName("shop", "ios-app", "staging"), func(tx *domain.Tx, etag string) error {
			return tx.SetComponentTargeting("shop", "ios-app", "staging", &model.Targeting{Salt: "s"}, etag)
		}, false},
		{"delete component targeting", domain.ComponentTargetingName("shop", "ios-app", "staging"), func(tx *domain.Tx, etag string) error {
			return tx.SetComponentTargeting("shop", "ios-app", "staging", nil, etag)
		}, true},
		{"delete flag targeting", domain.FlagTargetingName("shop", "new-checkout", "production"), func(tx *domain.Tx, etag string) error {
			return tx.SetFlagTargeting("shop", "new-checkout", "production", nil, etag)
		}, true},
		{"delete segment", domain.SegmentName("shop", "eu-users"), func(tx *domain.Tx, etag string) error {
			return tx.DeleteSegment("shop", "eu-users", etag)
		}, true},
		{"delete flag", domain.FlagName("shop", "new-checkout"), func(tx *domain.Tx, etag string) error {
			return tx.DeleteFlag("shop", "new-checkout", etag)
		}, true},
		{"delete component", domain.ComponentName("shop", "ios-app"), func(tx *domain.Tx, etag string) error {
			return tx.DeleteComponent("shop", "ios-app", etag)
		}, true},
		{"delete environment", domain.EnvironmentName("shop", "staging"), func(tx *domain.Tx, etag string) error {
			return tx.DeleteEnvironment("shop", "staging", etag)
		}, true},
		{"delete project", domain.ProjectName("shop"), func(tx *domain.Tx, etag string) error {
			return tx.DeleteProject("shop", etag)
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.State()
			old, ok := project(t, before, "shop").Meta(tc.resource)
			if !ok {
				t.Fatalf("Meta(%q) not found", tc.resource)
			}
			_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error { return tc.op(tx, "stale") })
			if !errors.Is(err, domain.ErrConflict) || !strings.Contains(err.Error(), tc.resource) {
				t.Errorf("with a stale etag: Update() = %v, want ErrConflict naming %s", err, tc.resource)
			}
			if s.State() != before {
				t.Error("with a stale etag: the state changed")
			}
			update(t, s, func(tx *domain.Tx) error { return tc.op(tx, old.Etag) })
			ps, ok := s.State().Project("shop")
			var now domain.Meta
			if ok {
				now, ok = ps.Meta(tc.resource)
			}
			switch {
			case tc.deleted && ok:
				t.Errorf("after delete: Meta(%q) = %+v, want not found", tc.resource, now)
			case !tc.deleted && (!ok || now.Etag == old.Etag || !now.CreateTime.Equal(old.CreateTime)):
				t.Errorf("after update: Meta(%q) = %+v, want a new etag and create time of %+v", tc.resource, now, old)
			}
		})
	}
}

func TestTargetingChangesFlagEtagOnly(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	before := project(t, s.State(), "shop")
	_, flagBefore, _ := before.Flag("new-checkout")
	_, prodBefore, _ := before.FlagTargeting("new-checkout", "production")
	c := update(t, s, func(tx *domain.Tx) error {
		return tx.SetFlagTargeting("shop", "new-checkout", "staging", enabled("off"), "")
	})
	after := project(t, s.State(), "shop")
	_, flagAfter, _ := after.Flag("new-checkout")
	_, prodAfter, _ := after.FlagTargeting("new-checkout", "production")
	got, stagMeta, ok := after.FlagTargeting("new-checkout", "staging")
	if !ok || !reflect.DeepEqual(got, enabled("off")) || stagMeta.Etag == "" {
		t.Errorf("FlagTargeting(staging) = %+v, %+v, %v, want the new targeting", got, stagMeta, ok)
	}
	if flagAfter.Etag == flagBefore.Etag {
		t.Error("flag etag unchanged by a targeting change")
	}
	if prodAfter != prodBefore {
		t.Errorf("production targeting meta = %+v, want it unchanged at %+v", prodAfter, prodBefore)
	}
	if len(c.Events) != 1 || c.Events[0].Action != "flag.targeting.create" || c.Events[0].Environment != "staging" ||
		c.Events[0].Resource != domain.FlagTargetingName("shop", "new-checkout", "staging") {
		t.Errorf("events = %+v, want one flag.targeting.create in staging", c.Events)
	}
}

func TestNotFoundAndAlreadyExists(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	tests := []struct {
		name string
		op   func(tx *domain.Tx) error
		want error
		in   string
	}{
		{"create existing project", func(tx *domain.Tx) error {
			return tx.CreateProject(domain.Project{Key: "shop"})
		}, domain.ErrAlreadyExists, "projects/shop"},
		{"create existing environment", func(tx *domain.Tx) error {
			return tx.CreateEnvironment("shop", domain.Environment{Key: "staging"})
		}, domain.ErrAlreadyExists, "projects/shop/environments/staging"},
		{"create existing segment", func(tx *domain.Tx) error {
			return tx.CreateSegment("shop", &model.Segment{Key: "eu-users"})
		}, domain.ErrAlreadyExists, "projects/shop/segments/eu-users"},
		{"create existing flag", func(tx *domain.Tx) error {
			return tx.CreateFlag("shop", boolFlag("new-checkout", nil))
		}, domain.ErrAlreadyExists, "projects/shop/flags/new-checkout"},
		{"create existing component", func(tx *domain.Tx) error {
			return tx.CreateComponent("shop", &model.Component{Key: "ios-app"})
		}, domain.ErrAlreadyExists, "projects/shop/components/ios-app"},
		{"update missing project", func(tx *domain.Tx) error {
			return tx.UpdateProject(domain.Project{Key: "none"}, "")
		}, domain.ErrNotFound, "projects/none"},
		{"segment in missing project", func(tx *domain.Tx) error {
			return tx.CreateSegment("none", &model.Segment{Key: "s"})
		}, domain.ErrNotFound, "projects/none"},
		{"delete missing environment", func(tx *domain.Tx) error {
			return tx.DeleteEnvironment("shop", "qa", "")
		}, domain.ErrNotFound, "projects/shop/environments/qa"},
		{"update missing segment", func(tx *domain.Tx) error {
			return tx.UpdateSegment("shop", &model.Segment{Key: "none"}, "")
		}, domain.ErrNotFound, "projects/shop/segments/none"},
		{"delete missing flag", func(tx *domain.Tx) error {
			return tx.DeleteFlag("shop", "none", "")
		}, domain.ErrNotFound, "projects/shop/flags/none"},
		{"update missing component", func(tx *domain.Tx) error {
			return tx.UpdateComponent("shop", &model.Component{Key: "none"}, "")
		}, domain.ErrNotFound, "projects/shop/components/none"},
		{"targeting in missing environment", func(tx *domain.Tx) error {
			return tx.SetFlagTargeting("shop", "new-checkout", "qa", enabled("on"), "")
		}, domain.ErrNotFound, "projects/shop/environments/qa"},
		{"flag with targeting in missing environment", func(tx *domain.Tx) error {
			return tx.CreateFlag("shop", boolFlag("f", map[string]*model.Targeting{"qa": enabled("on")}))
		}, domain.ErrNotFound, "projects/shop/environments/qa"},
		{"remove missing targeting", func(tx *domain.Tx) error {
			return tx.SetFlagTargeting("shop", "new-checkout", "staging", nil, "")
		}, domain.ErrNotFound, "projects/shop/flags/new-checkout/environments/staging"},
		{"etag of missing targeting", func(tx *domain.Tx) error {
			return tx.SetFlagTargeting("shop", "new-checkout", "staging", enabled("on"), "x")
		}, domain.ErrConflict, "projects/shop/flags/new-checkout/environments/staging"},
		{"delete missing API key", func(tx *domain.Tx) error {
			return tx.DeleteAPIKey("none")
		}, domain.ErrNotFound, "apikeys/none"},
		{"key with a slash", func(tx *domain.Tx) error {
			return tx.CreateFlag("shop", boolFlag("a/b", nil))
		}, domain.ErrInvalid, "a/b"},
		{"empty key", func(tx *domain.Tx) error {
			return tx.CreateEnvironment("shop", domain.Environment{})
		}, domain.ErrInvalid, "environment key"},
		{"nil segment", func(tx *domain.Tx) error {
			return tx.CreateSegment("shop", nil)
		}, domain.ErrInvalid, "nil segment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.State()
			_, err := s.Update(context.Background(), testActor, tc.op)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("Update() = %v, want %v mentioning %q", err, tc.want, tc.in)
			}
			if s.State() != before {
				t.Error("the state changed")
			}
		})
	}
}

func TestFailedOperationChangesNothing(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	c := update(t, s, func(tx *domain.Tx) error {
		if err := tx.UpdateFlag("shop", boolFlag("new-checkout", nil), "stale"); !errors.Is(err, domain.ErrConflict) {
			t.Errorf("UpdateFlag() = %v, want ErrConflict", err)
		}
		if err := tx.CreateFlag("shop", boolFlag("new-checkout", nil)); !errors.Is(err, domain.ErrAlreadyExists) {
			t.Errorf("CreateFlag() = %v, want ErrAlreadyExists", err)
		}
		return tx.UpdateFlag("shop", boolFlag("new-checkout", nil), "")
	})
	f, _, _ := project(t, s.State(), "shop").Flag("new-checkout")
	if !reflect.DeepEqual(f, boolFlag("new-checkout", nil)) || len(c.Events) != 1 {
		t.Errorf("flag = %+v with %d events, want the one applied update", f, len(c.Events))
	}
}

func TestDeleteEnvironmentCascades(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	var sdk, admin domain.APIKey
	update(t, s, func(tx *domain.Tx) error {
		var err1, err2 error
		sdk, err1 = tx.CreateAPIKey(domain.APIKey{Kind: domain.KindSDK, Project: "shop", Environment: "production", Hash: domain.HashSecret("a")})
		admin, err2 = tx.CreateAPIKey(domain.APIKey{Kind: domain.KindAdmin, Role: domain.RoleViewer, Hash: domain.HashSecret("b")})
		return errors.Join(err1, err2,
			tx.SetComponentTargeting("shop", "ios-app", "production", &model.Targeting{}, ""),
			tx.SetComponentTargeting("shop", "ios-app", "staging", &model.Targeting{}, ""))
	})
	_, flagBefore, _ := project(t, s.State(), "shop").Flag("new-checkout")
	c := update(t, s, func(tx *domain.Tx) error { return tx.DeleteEnvironment("shop", "production", "") })

	ps := project(t, s.State(), "shop")
	f, flagAfter, _ := ps.Flag("new-checkout")
	comp, _, _ := ps.Component("ios-app")
	if _, ok := ps.Environment("production"); ok {
		t.Error("production still exists")
	}
	if f.Environments != nil || flagAfter.Etag == flagBefore.Etag {
		t.Errorf("flag = %+v (etag %q, was %q), want no targeting and a new etag", f, flagAfter.Etag, flagBefore.Etag)
	}
	if _, ok := comp.Environments["production"]; ok || comp.Environments["staging"] == nil {
		t.Errorf("component targeting = %v, want staging only", comp.Environments)
	}
	if _, ok := s.State().APIKey(sdk.ID); ok {
		t.Error("the environment's SDK key still exists")
	}
	if _, ok := s.State().KeyByHash(admin.Hash); !ok {
		t.Error("the admin key was deleted")
	}
	if !reflect.DeepEqual(ps.Document().Environments, []string{"staging"}) {
		t.Errorf("Document().Environments = %v, want [staging]", ps.Document().Environments)
	}
	if len(c.Events) != 1 || c.Events[0].Action != "environment.delete" || !strings.Contains(string(c.Events[0].Before), sdk.ID) {
		t.Errorf("events = %+v, want one environment.delete naming the deleted key", c.Events)
	}
	want := dump(s.State())
	s.Close()
	if got := dump(domaintest.Open(t, path, domain.Options{}).State()); !reflect.DeepEqual(got, want) {
		t.Errorf("after reopen: %v, want %v", got, want)
	}
}

func TestDeleteProjectCascades(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.db")
	s := domaintest.Open(t, path, domain.Options{})
	seed(t, s)
	var admin domain.APIKey
	update(t, s, func(tx *domain.Tx) error {
		var err1, err2 error
		_, err1 = tx.CreateAPIKey(domain.APIKey{Kind: domain.KindClient, Project: "shop", Environment: "staging", Hash: domain.HashSecret("a")})
		admin, err2 = tx.CreateAPIKey(domain.APIKey{Kind: domain.KindAdmin, Role: domain.RoleAdmin, Hash: domain.HashSecret("b")})
		return errors.Join(err1, err2)
	})
	c := update(t, s, func(tx *domain.Tx) error {
		return errors.Join(
			tx.DeleteProject("shop", ""),
			tx.CreateProject(domain.Project{Key: "shop", Description: "again"}),
			tx.CreateEnvironment("shop", domain.Environment{Key: "dev"}),
		)
	})
	ps := project(t, s.State(), "shop")
	doc := ps.Document()
	if len(doc.Segments)+len(doc.Flags)+len(doc.Components) != 0 || !reflect.DeepEqual(doc.Environments, []string{"dev"}) {
		t.Errorf("recreated project = %+v, want only environment dev", doc)
	}
	if keys := s.State().APIKeys(); len(keys) != 1 || keys[0].ID != admin.ID {
		t.Errorf("APIKeys() = %v, want the admin key only", keys)
	}
	if len(c.Events) != 3 || c.Events[0].Action != "project.delete" ||
		!strings.Contains(string(c.Events[0].Before), `"flags":["new-checkout"]`) {
		t.Errorf("events = %+v, want project.delete listing what went, then the creates", c.Events)
	}
	want := dump(s.State())
	s.Close()
	if got := dump(domaintest.Open(t, path, domain.Options{}).State()); !reflect.DeepEqual(got, want) {
		t.Errorf("after reopen: %v, want %v", got, want)
	}
}

func TestTxSeesItsOwnChanges(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		if err := tx.CreateSegment("shop", &model.Segment{Key: "new"}); err != nil {
			return err
		}
		ps, ok := tx.Project("shop")
		if !ok {
			t.Fatal("Tx.Project(shop) not found")
		}
		_, meta, ok := ps.Segment("new")
		if !ok {
			t.Fatal("Tx.Project(shop).Segment(new) not found")
		}
		if _, ok := s.State().Project("shop"); !ok {
			t.Fatal("State() lost shop")
		}
		// The etag seen inside the Tx is valid for later operations in it.
		return tx.UpdateSegment("shop", &model.Segment{Key: "new", Description: "d"}, meta.Etag)
	})
	if _, _, ok := project(t, s.State(), "shop").Segment("new"); !ok {
		t.Error("segment new not committed")
	}
}

func TestTxUnusableAfterUpdate(t *testing.T) {
	s := domaintest.New(t)
	var kept *domain.Tx
	update(t, s, func(tx *domain.Tx) error { kept = tx; return nil })
	if err := kept.CreateProject(domain.Project{Key: "late"}); !errors.Is(err, domain.ErrClosed) {
		t.Errorf("CreateProject() after Update = %v, want ErrClosed", err)
	}
}

func TestValuesAreCopied(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	seg := &model.Segment{Key: "mine", Include: []string{"u1"}}
	update(t, s, func(tx *domain.Tx) error { return tx.CreateSegment("shop", seg) })
	seg.Include[0] = "changed"
	got, _, _ := project(t, s.State(), "shop").Segment("mine")
	if got == seg || got.Include[0] != "u1" {
		t.Errorf("stored segment = %+v, want a copy unaffected by the caller", got)
	}
}
