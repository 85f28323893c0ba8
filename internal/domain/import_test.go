package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/internal/conformance"
	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/domain/domaintest"
	"github.com/switchyard/switchyard/internal/model"
)

// sharedDocuments returns the documents of the benchmark flag set and of
// the conformance vectors, by file name.
func sharedDocuments(t *testing.T) map[string]*model.Document {
	t.Helper()
	docs := map[string]*model.Document{}
	files := conformance.MustFiles(t, conformance.Dir(t))
	files = append(files, conformance.MustFiles(t, conformance.Dir(t, "availability"))...)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var vector struct {
			Document json.RawMessage `json:"document"`
		}
		if err := json.Unmarshal(data, &vector); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if vector.Document == nil {
			continue
		}
		doc, err := model.Parse(vector.Document)
		if err != nil {
			t.Fatalf("model.Parse(%s) = %v", file, err)
		}
		docs[filepath.Base(file)] = doc
	}
	data, err := os.ReadFile(conformance.FlagSet(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := model.Parse(data)
	if err != nil {
		t.Fatalf("model.Parse(flagset.yaml) = %v", err)
	}
	docs["flagset.yaml"] = doc
	return docs
}

func TestImportThenExportIsEqual(t *testing.T) {
	for name, doc := range sharedDocuments(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "switchyard.db")
			s := domaintest.Open(t, path, domain.Options{})
			var sum domain.ImportSummary
			c := update(t, s, func(tx *domain.Tx) error {
				var err error
				sum, err = tx.Import(doc, false)
				return err
			})
			want := domain.ImportSummary{
				Project: doc.Project, ProjectCreated: true,
				Environments: domain.ImportCounts{Created: len(doc.Environments)},
				Segments:     domain.ImportCounts{Created: len(doc.Segments)},
				Flags:        domain.ImportCounts{Created: len(doc.Flags)},
				Components:   domain.ImportCounts{Created: len(doc.Components)},
			}
			if sum != want {
				t.Errorf("Import() = %+v, want %+v", sum, want)
			}
			if last := c.Events[len(c.Events)-1]; last.Action != "project.import" {
				t.Errorf("last event = %s, want project.import", last.Action)
			}
			got := project(t, s.State(), doc.Project).Document()
			if !reflect.DeepEqual(got, doc) {
				t.Errorf("exported document differs from the imported one:\n got %s\nwant %s", toJSON(got), toJSON(doc))
			}

			// Importing it again changes nothing: same pointers, same etags.
			before := s.State()
			c = update(t, s, func(tx *domain.Tx) error {
				var err error
				sum, err = tx.Import(doc, true)
				return err
			})
			if sum.Changed() || len(c.Events) != 0 || s.State() != before {
				t.Errorf("second Import() = %+v with %d events, want no change", sum, len(c.Events))
			}

			s.Close()
			s2 := domaintest.Open(t, path, domain.Options{})
			if got := project(t, s2.State(), doc.Project).Document(); !reflect.DeepEqual(got, doc) {
				t.Errorf("after reopen the exported document differs:\n got %s\nwant %s", toJSON(got), toJSON(doc))
			}
		})
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestImportPrune(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	update(t, s, func(tx *domain.Tx) error {
		_, err := tx.CreateAPIKey(domain.APIKey{Kind: domain.KindSDK, Project: "shop", Environment: "staging", Hash: domain.HashSecret("x")})
		return errors.Join(err, tx.CreateFlag("shop", boolFlag("old", nil)))
	})
	before := project(t, s.State(), "shop")
	oldSeg, segMeta, _ := before.Segment("eu-users")
	doc := &model.Document{
		Version:      model.DocumentVersion,
		Project:      "shop",
		Environments: []string{"production", "dev"},
		Segments: []*model.Segment{{Key: "eu-users", Conditions: []model.Condition{
			{Attribute: "country", Op: model.OpIn, Values: []any{"DE", "FR"}},
		}}},
		Flags: []*model.Flag{boolFlag("new-checkout", map[string]*model.Targeting{"production": enabled("off")})},
	}
	tests := []struct {
		prune bool
		want  domain.ImportSummary
		envs  []string
		flags int
	}{
		{false, domain.ImportSummary{
			Project:      "shop",
			Environments: domain.ImportCounts{Created: 1, Unchanged: 1},
			Segments:     domain.ImportCounts{Unchanged: 1},
			Flags:        domain.ImportCounts{Updated: 1},
		}, []string{"production", "staging", "dev"}, 2},
		{true, domain.ImportSummary{
			Project:      "shop",
			Environments: domain.ImportCounts{Deleted: 1, Unchanged: 2},
			Segments:     domain.ImportCounts{Unchanged: 1},
			Flags:        domain.ImportCounts{Deleted: 1, Unchanged: 1},
			Components:   domain.ImportCounts{Deleted: 1},
		}, []string{"production", "dev"}, 1},
	}
	for _, tc := range tests {
		var sum domain.ImportSummary
		update(t, s, func(tx *domain.Tx) error {
			var err error
			sum, err = tx.Import(doc, tc.prune)
			return err
		})
		if sum != tc.want {
			t.Errorf("Import(prune=%v) = %+v, want %+v", tc.prune, sum, tc.want)
		}
		ps := project(t, s.State(), "shop")
		if got := ps.Document().Environments; !reflect.DeepEqual(got, tc.envs) {
			t.Errorf("Import(prune=%v): environments = %v, want %v", tc.prune, got, tc.envs)
		}
		if got := len(ps.Document().Flags); got != tc.flags {
			t.Errorf("Import(prune=%v): %d flags, want %d", tc.prune, got, tc.flags)
		}
		if seg, meta, _ := ps.Segment("eu-users"); seg != oldSeg || meta != segMeta {
			t.Errorf("Import(prune=%v): unchanged segment got a new pointer or etag", tc.prune)
		}
	}
	ps := project(t, s.State(), "shop")
	if got := ps.Document(); !reflect.DeepEqual(got, doc) {
		t.Errorf("after a pruning import the document differs:\n got %s\nwant %s", toJSON(got), toJSON(doc))
	}
	if n := len(s.State().APIKeys()); n != 0 {
		t.Errorf("%d API keys left, want the pruned environment's key deleted", n)
	}
}

func TestImportInvalidDocumentChangesNothing(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	verr := errors.New("flags[1].key: duplicate key")
	domain.SetValidate(s, func(doc *model.Document) error {
		if len(doc.Flags) > 1 && doc.Flags[0].Key == doc.Flags[1].Key {
			return verr
		}
		return nil
	})
	doc := &model.Document{Version: model.DocumentVersion, Project: "shop", Environments: []string{"production"},
		Flags: []*model.Flag{boolFlag("a", nil), boolFlag("a", nil)}}
	before := s.State()
	_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
		_, err := tx.Import(doc, true)
		return err
	})
	if !errors.Is(err, domain.ErrInvalid) || !errors.Is(err, verr) {
		t.Errorf("Update(Import) = %v, want ErrInvalid wrapping the validation error", err)
	}
	if s.State() != before {
		t.Error("an invalid import changed the state")
	}
}

func TestImportFailureFailsUpdate(t *testing.T) {
	s := domaintest.New(t)
	seed(t, s)
	// model.Validate would refuse targeting in an unlisted environment; the
	// stub here does not, so Import fails half-way (after creating the
	// project), and Update must fail even if fn ignores that.
	domain.SetValidate(s, func(*model.Document) error { return nil })
	doc := &model.Document{Version: model.DocumentVersion, Project: "new", Environments: []string{"a"},
		Flags: []*model.Flag{boolFlag("f", map[string]*model.Targeting{"b": enabled("on")})}}
	before := s.State()
	_, err := s.Update(context.Background(), testActor, func(tx *domain.Tx) error {
		tx.Import(doc, false) //nolint:errcheck // the point of the test
		return nil
	})
	if !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Update() = %v, want the Import error", err)
	}
	if s.State() != before {
		t.Error("a failed import changed the state")
	}
}
