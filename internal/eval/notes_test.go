package eval_test

import (
	"slices"
	"testing"

	"golang.org/x/text/language"

	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// notesDoc has a component whose 1.1.0 and 1.2.0 were released by
// completed releases and whose 2.0.0 a release in progress serves to
// staff.
const notesDoc = `{
  "version": 1, "project": "p", "environments": ["prod"],
  "segments": [{"key": "staff", "include": ["s1"]}],
  "components": [
    {"key": "app", "versions": [{"version": "1.0.0"}, {"version": "1.1.0"}, {"version": "1.2.0"}, {"version": "1.3.0", "withdrawn": true}, {"version": "2.0.0"}],
      "environments": {"prod": {"default": {"version": "1.2.0"}}}}
  ]
}`

// notesOverlays are, in creation order: the release of 1.2.0 (completed),
// of 1.1.0 (completed, with a German text), of a withdrawn version and of
// an unknown component (both left out), and of 2.0.0 to staff (running).
func notesOverlays() []*model.Overlay {
	notes := func(def string, by map[string]string) *model.ReleaseNotes {
		return &model.ReleaseNotes{Default: def, ByLanguage: by}
	}
	return []*model.Overlay{
		{Release: "r12", Completed: true, Items: []model.ReleaseItem{{Component: "app", Version: "1.2.0"}}, Notes: notes("Faster search", nil)},
		{Release: "r11", Completed: true, Items: []model.ReleaseItem{{Component: "app", Version: "1.1.0"}},
			Notes: notes("Dark mode", map[string]string{"de": "Dunkelmodus", "pt-BR": "Modo escuro"})},
		{Release: "r13", Completed: true, Items: []model.ReleaseItem{{Component: "app", Version: "1.3.0"}}, Notes: notes("gone", nil)},
		{Release: "old", Completed: true, Items: []model.ReleaseItem{{Component: "retired", Version: "1.0.0"}}, Notes: notes("gone", nil)},
		{Release: "r2", Salt: "r2", Audience: []model.AudienceStage{{Segments: []string{"staff"}, Weight: model.RolloutTotal}},
			Items: []model.ReleaseItem{{Component: "app", Version: "2.0.0"}}, Notes: notes("All new", map[string]string{"de": "Alles neu"})},
	}
}

func TestAvailabilityCarriesReleaseNotes(t *testing.T) {
	rs, err := eval.CompileWith(parseNotesDoc(t), "prod", nil, notesOverlays())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, key, current string
		want               []string // release@version
	}{
		{"completed releases above the current version", "u1", "1.0.0", []string{"r11@1.1.0", "r12@1.2.0"}},
		{"only those above the current version", "u1", "1.1.0", []string{"r12@1.2.0"}},
		{"none when up to date", "u1", "1.2.0", nil},
		{"the running release that served the client last", "s1", "1.0.0", []string{"r11@1.1.0", "r12@1.2.0", "r2@2.0.0"}},
		{"the running release alone above the completed ones", "s1", "1.2.0", []string{"r2@2.0.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := rs.Availability("app", eval.NewContext(tc.key), tc.current)
			var got []string
			for _, n := range a.ReleaseNotes {
				got = append(got, n.Release+"@"+n.Version)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Availability(app, %s, %s).ReleaseNotes = %v, want %v", tc.key, tc.current, got, tc.want)
			}
		})
	}
}

func TestReleaseNoteLocalize(t *testing.T) {
	rs, err := eval.CompileWith(parseNotesDoc(t), "prod", nil, notesOverlays())
	if err != nil {
		t.Fatal(err)
	}
	note := rs.Availability("app", eval.NewContext("u1"), "1.0.0").ReleaseNotes[0] // r11
	tests := []struct {
		accept, lang, text string
	}{
		{"", "", "Dark mode"},
		{"de-CH, en;q=0.5", "de", "Dunkelmodus"},
		{"fr, pt;q=0.8", "pt-BR", "Modo escuro"},
		{"en-GB, fr;q=0.9", "", "Dark mode"},
		{"en;q=0.2, de;q=0.9", "de", "Dunkelmodus"},
	}
	for _, tc := range tests {
		prefs, _, err := language.ParseAcceptLanguage(tc.accept)
		if err != nil {
			t.Fatal(err)
		}
		if lang, text := note.Localize(prefs); lang != tc.lang || text != tc.text {
			t.Errorf("Localize(%q) = %q %q, want %q %q", tc.accept, lang, text, tc.lang, tc.text)
		}
	}
}

func TestReleaseNotesDoNotAllocate(t *testing.T) {
	rs, err := eval.CompileWith(parseNotesDoc(t), "prod", nil, notesOverlays())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"u1", "s1"} {
		ctx := eval.NewContext(key)
		if n := testing.AllocsPerRun(100, func() { rs.Availability("app", ctx, "1.0.0") }); n != 0 {
			t.Errorf("Availability(app, %s) allocates %v times", key, n)
		}
	}
}

func parseNotesDoc(t testing.TB) *model.Document {
	t.Helper()
	d, err := model.Parse([]byte(notesDoc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
