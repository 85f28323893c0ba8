package model

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/text/language"
)

// MaxReleaseIDLength bounds a release id so that the rule id a completed
// release writes ("release-{id}") is still a key.
const MaxReleaseIDLength = 100

// MaxApprovals bounds an approval gate's count.
const MaxApprovals = 10

// The roles an approval gate may require (see internal/auth).
const (
	ApproverReleaseManager = "release-manager"
	ApproverAdmin          = "admin"
)

// ValidateRelease checks a release's definition on its own: keys, items,
// mode and plan. It reports every problem with its path ("plan[1].weight")
// as an Errors value, and nil for a valid definition. It does not look at
// the project: see CheckReleaseRefs.
func ValidateRelease(r *Release) error {
	var errs Errors
	if r == nil {
		errs.add("", "a release is required")
		return errs
	}
	switch {
	case !ValidKey(r.ID):
		errs.add("id", "%q is not a valid key (pattern %s)", r.ID, KeyPattern)
	case len(r.ID) > MaxReleaseIDLength:
		errs.add("id", "is longer than %d characters", MaxReleaseIDLength)
	}
	if !ValidKey(r.Environment) {
		errs.add("environment", "%q is not a valid environment key", r.Environment)
	}
	if _, err := AttributeKeys(r.BucketBy); err != nil {
		errs.add("bucket_by", "%v", err)
	}
	switch r.Mode {
	case "", ModePull, ModePush:
	default:
		errs.add("mode", "unknown mode %q; want pull or push", r.Mode)
	}
	seen := map[string]int{}
	for i, it := range r.Items {
		path := fmt.Sprintf("items[%d]", i)
		switch {
		case it.Flag != "" && it.Component == "" && it.Version == "":
			if !ValidKey(it.Flag) {
				errs.add(path+".flag", "%q is not a valid flag key", it.Flag)
			}
			if !ValidKey(it.Variant) {
				errs.add(path+".variant", "a flag item needs the variant to release")
			}
		case it.Component != "" && it.Flag == "" && it.Variant == "":
			if !ValidKey(it.Component) {
				errs.add(path+".component", "%q is not a valid component key", it.Component)
			}
			if it.Version == "" {
				errs.add(path+".version", "a component item needs the version to release")
			}
		default:
			errs.add(path, "an item is either a flag with a variant or a component with a version")
			continue
		}
		if j, dup := seen[it.Ref()]; dup {
			errs.add(path, "%s is already items[%d]", it.Ref(), j)
		}
		seen[it.Ref()] = i
	}
	for i, s := range r.Plan {
		validateStage(&errs, fmt.Sprintf("plan[%d]", i), s)
	}
	for _, tag := range slices.Sorted(maps.Keys(r.ReleaseNotesByLanguage)) {
		path := fmt.Sprintf("release_notes_by_language[%q]", tag)
		if _, err := language.Parse(tag); err != nil || tag == "" {
			errs.add(path, "%q is not a BCP 47 language tag such as \"de\" or \"pt-BR\"", tag)
		} else if r.ReleaseNotesByLanguage[tag] == "" {
			errs.add(path, "is empty")
		}
	}
	return errs.err()
}

func validateStage(errs *Errors, path string, s Stage) {
	if s.Weight < 0 || s.Weight > RolloutTotal {
		errs.add(path+".weight", "%d is not in [0, %d]", s.Weight, RolloutTotal)
	}
	for j, seg := range s.Segments {
		if !ValidKey(seg) {
			errs.add(fmt.Sprintf("%s.segments[%d]", path, j), "%q is not a valid segment key", seg)
		} else if slices.Index(s.Segments, seg) != j {
			errs.add(fmt.Sprintf("%s.segments[%d]", path, j), "segment %q is listed twice", seg)
		}
	}
	if s.MinConvergence < 0 || s.MinConvergence > 1 {
		errs.add(path+".min_convergence", "%v is not a share in [0, 1]", s.MinConvergence)
	}
	if s.MinConnected < 0 {
		errs.add(path+".min_connected", "%d is negative", s.MinConnected)
	}
	validateStageGuardrail(errs, path+".guardrail", s.Guardrail)
	g := s.Gate
	if g == nil {
		return
	}
	n := 0
	for _, set := range []bool{g.Manual != nil, g.Wait != nil, g.At != nil, g.Approval != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		errs.add(path+".gate", "set one of manual, wait, at, approval")
	}
	if g.Wait != nil {
		if d, err := time.ParseDuration(g.Wait.Duration); err != nil || d <= 0 {
			errs.add(path+".gate.wait.duration", "%q is not a positive duration such as \"90m\"", g.Wait.Duration)
		}
	}
	if g.At != nil && g.At.Time.IsZero() {
		errs.add(path+".gate.at.time", "is required")
	}
	if a := g.Approval; a != nil {
		validateApproval(errs, path+".gate.approval", a)
	}
}

// validateApproval checks who an approval gate (or a release model's
// approval) asks for.
func validateApproval(errs *Errors, path string, a *ApprovalGate) {
	switch a.Approvers {
	case "", ApproverReleaseManager, ApproverAdmin:
	default:
		errs.add(path+".approvers", "unknown role %q; want release-manager or admin", a.Approvers)
	}
	if a.Count < 0 || a.Count > MaxApprovals {
		errs.add(path+".count", "%d is not in [1, %d]", a.Count, MaxApprovals)
	}
}

// CheckStartable checks what a release needs before it may start, beyond
// ValidateRelease: release notes, at least one item and one stage.
func CheckStartable(r *Release) error {
	var errs Errors
	if r.ReleaseNotes == "" {
		errs.add("release_notes", "are required before the release starts")
	}
	if len(r.Items) == 0 {
		errs.add("items", "a release needs at least one item to start")
	}
	if len(r.Plan) == 0 {
		errs.add("plan", "a release needs at least one stage to start")
	}
	return errs.err()
}

// CheckReleaseRefs checks that what a release names exists in doc: its
// environment, every item's flag and variant or component and version (a
// withdrawn version is never served), and every stage's segments.
func CheckReleaseRefs(doc *Document, r *Release) error {
	var errs Errors
	if !slices.Contains(doc.Environments, r.Environment) {
		errs.add("environment", "project %q has no environment %q", doc.Project, r.Environment)
	}
	for i, it := range r.Items {
		path := fmt.Sprintf("items[%d]", i)
		if it.Component != "" {
			checkComponentItem(&errs, path, doc, it)
		} else {
			checkFlagItem(&errs, path, doc, it)
		}
	}
	for i, s := range r.Plan {
		for j, seg := range s.Segments {
			if !slices.ContainsFunc(doc.Segments, func(m *Segment) bool { return m.Key == seg }) {
				errs.add(fmt.Sprintf("plan[%d].segments[%d]", i, j), "unknown segment %q", seg)
			}
		}
	}
	return errs.err()
}

func checkFlagItem(errs *Errors, path string, doc *Document, it ReleaseItem) {
	i := slices.IndexFunc(doc.Flags, func(f *Flag) bool { return f.Key == it.Flag })
	if i < 0 {
		errs.add(path+".flag", "unknown flag %q", it.Flag)
		return
	}
	f := doc.Flags[i]
	ok := slices.ContainsFunc(f.Variants, func(v Variant) bool { return v.Key == it.Variant })
	if f.Type == TypeBool && len(f.Variants) == 0 {
		ok = it.Variant == "on" || it.Variant == "off"
	}
	if !ok {
		errs.add(path+".variant", "flag %q has no variant %q", it.Flag, it.Variant)
	}
}

func checkComponentItem(errs *Errors, path string, doc *Document, it ReleaseItem) {
	i := slices.IndexFunc(doc.Components, func(c *Component) bool { return c.Key == it.Component })
	if i < 0 {
		errs.add(path+".component", "unknown component %q", it.Component)
		return
	}
	j := slices.IndexFunc(doc.Components[i].Versions, func(v Version) bool { return v.Version == it.Version })
	switch {
	case j < 0:
		errs.add(path+".version", "component %q has no version %q", it.Component, it.Version)
	case doc.Components[i].Versions[j].Withdrawn:
		errs.add(path+".version", "version %q of component %q is withdrawn", it.Version, it.Component)
	}
}
