package eval

import (
	"testing"

	"github.com/switchyard/switchyard/internal/model"
)

func TestCompileWithReusesOverlays(t *testing.T) {
	doc := parseDoc(t, reuseDoc)
	overlay := func(weight int) []*model.Overlay {
		return []*model.Overlay{{Release: "r", Salt: "r", Audience: []model.AudienceStage{{Weight: weight}},
			Items: []model.ReleaseItem{{Flag: "base", Variant: "on"}}}}
	}
	prev, err := CompileWith(doc, "prod", nil, overlay(1000))
	if err != nil {
		t.Fatal(err)
	}

	// An equal overlay (a new value): everything is reused.
	same, err := CompileWith(doc, "prod", prev, overlay(1000))
	if err != nil {
		t.Fatal(err)
	}
	for key, f := range prev.flags {
		if same.flags[key] != f {
			t.Errorf("flag %q was compiled again under an unchanged overlay", key)
		}
	}

	// A wider audience: the released flag and the flags that require it
	// are compiled again, the rest is reused.
	wider, err := CompileWith(doc, "prod", prev, overlay(2000))
	if err != nil {
		t.Fatal(err)
	}
	for key, wantNew := range map[string]bool{"base": true, "needs-base": true, "plain": false} {
		if gotNew := wider.flags[key] != prev.flags[key]; gotNew != wantNew {
			t.Errorf("after widening: flag %q compiled again = %v, want %v", key, gotNew, wantNew)
		}
	}

	// The overlay removed (roll back): the flag is compiled without it.
	plain, err := CompileWith(doc, "prod", wider, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plain.flags["base"] == wider.flags["base"] || plain.flags["base"].t.release != nil {
		t.Error("the released flag kept its overlay after the overlay was removed")
	}
	if got := plain.Releases(); len(got) != 0 {
		t.Errorf("Releases() = %v after the overlay was removed", got)
	}
	if got := wider.Releases(); len(got) != 1 || got[0] != "r" {
		t.Errorf("Releases() = %v, want [r]", got)
	}
}
