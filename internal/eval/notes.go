package eval

// This file holds the release notes of availability answers: the notes of
// the releases that brought a component's versions to a client (the
// release in progress that served it, and the completed releases of the
// environment), each in the language the client reads best.

import (
	"maps"
	"slices"
	"sort"

	"golang.org/x/text/language"

	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/semver"
)

// ReleaseNote is one release's notes for the users of a component version
// it released. Its translations are chosen with Localize.
type ReleaseNote struct {
	// Release is the release's id.
	Release string
	// Version is the version the release released, as it names it.
	Version string
	// Notes is the default text.
	Notes string
	// langs are the translations' tags as the release gives them, sorted,
	// texts the translations in the same order, and matcher matches a
	// client's preferences against langs (nil without translations).
	langs   []string
	texts   []string
	matcher language.Matcher
}

// Localize returns the note's text for a client that reads prefs, most
// preferred first: the translation that matches prefs best, with its tag
// as the release gives it, or the default text with lang "" when no
// translation matches (or prefs is empty).
func (n *ReleaseNote) Localize(prefs []language.Tag) (lang, text string) {
	if n.matcher == nil || len(prefs) == 0 {
		return "", n.Notes
	}
	_, i, conf := n.matcher.Match(prefs...)
	if conf == language.No {
		return "", n.Notes
	}
	return n.langs[i], n.texts[i]
}

// newReleaseNote compiles the notes of release id for version.
func newReleaseNote(id, version string, src *model.ReleaseNotes) ReleaseNote {
	n := ReleaseNote{Release: id, Version: version, Notes: src.Default}
	var tags []language.Tag
	for _, lang := range slices.Sorted(maps.Keys(src.ByLanguage)) {
		tag, err := language.Parse(lang)
		if err != nil {
			continue // model.ValidateRelease refuses it
		}
		n.langs = append(n.langs, lang)
		n.texts = append(n.texts, src.ByLanguage[lang])
		tags = append(tags, tag)
	}
	if len(tags) > 0 {
		n.matcher = language.NewMatcher(tags)
	}
	return n
}

// noteSource is one component item of a completed release's notes overlay.
type noteSource struct {
	release, version string
	notes            *model.ReleaseNotes
}

// sameNotes reports whether two lists of note sources say the same.
func sameNotes(a, b []noteSource) bool {
	return slices.EqualFunc(a, b, func(x, y noteSource) bool {
		return x.release == y.release && x.version == y.version && x.notes.Default == y.notes.Default &&
			maps.Equal(x.notes.ByLanguage, y.notes.ByLanguage)
	})
}

// releaseNotes is a component's release notes sorted by version.
type releaseNotes struct {
	notes    []ReleaseNote
	versions []semver.Version // notes[i]'s version, parsed
}

// between returns the notes of the versions above current up to and
// including resolved. It does not allocate.
func (rn *releaseNotes) between(current, resolved semver.Version) []ReleaseNote {
	lo := sort.Search(len(rn.versions), func(i int) bool { return semver.Compare(rn.versions[i], current) > 0 })
	hi := sort.Search(len(rn.versions), func(i int) bool { return semver.Compare(rn.versions[i], resolved) > 0 })
	if hi <= lo {
		return nil
	}
	return rn.notes[lo:hi:hi]
}

// compileReleaseNotes sorts the completed releases' notes of cc by
// version, in their order for one version, leaving out versions cc lacks
// or has withdrawn; and, when a release in progress claims cc, the notes
// its audience gets: those of the completed releases up to its version,
// then its own.
func (cc *component) compileReleaseNotes(srcs []noteSource, claim overlayItem) {
	cc.noteSrcs = srcs
	type entry struct {
		note ReleaseNote
		v    semver.Version
	}
	var all []entry
	for _, s := range srcs {
		if i, ok := cc.version(s.version); ok {
			all = append(all, entry{newReleaseNote(s.release, s.version, s.notes), cc.versions[i].v})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return semver.Compare(all[a].v, all[b].v) < 0 })
	for _, e := range all {
		cc.relNotes.notes = append(cc.relNotes.notes, e.note)
		cc.relNotes.versions = append(cc.relNotes.versions, e.v)
	}
	if claim.aud == nil || claim.aud.src.Notes == nil || claim.aud.experiment != "" {
		return
	}
	i, ok := cc.version(claim.name)
	if !ok {
		return
	}
	v := cc.versions[i].v
	for _, e := range all {
		if semver.Compare(e.v, v) <= 0 {
			cc.servedNotes.notes = append(cc.servedNotes.notes, e.note)
			cc.servedNotes.versions = append(cc.servedNotes.versions, e.v)
		}
	}
	cc.servedNotes.notes = append(cc.servedNotes.notes, newReleaseNote(claim.aud.src.Release, claim.name, claim.aud.src.Notes))
	cc.servedNotes.versions = append(cc.servedNotes.versions, v)
}

// version finds the non-withdrawn version v of c in c.versions (sorted).
func (c *component) version(v string) (int, bool) {
	pv, ok := semver.Parse(v)
	if !ok {
		return 0, false
	}
	i := sort.Search(len(c.versions), func(i int) bool { return semver.Compare(c.versions[i].v, pv) >= 0 })
	if i == len(c.versions) || semver.Compare(c.versions[i].v, pv) != 0 || c.versions[i].withdrawn {
		return 0, false
	}
	return i, true
}

// servedBy reports whether m was served by the release in progress that
// claims c.
func (c *component) servedBy(m *match) bool {
	r := c.t.release
	return r != nil && r.alloc == nil && m.rule == r.aud.rule
}
