package domain

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/internal/model"
)

// An active release (model.ReleaseState.Active: scheduled, in progress or
// paused) holds its items in its environment: a commit that changes what
// such an item serves there — a flag's type or variants, a component's
// minimum or versions, the item's targeting in that environment, or its
// deletion, by any operation including Import — is refused with a
// HeldError, unless the transaction overrides that release
// (Tx.OverrideRelease). An override is recorded on the release's timeline
// (action "override": who, when, the reason and what changed). The edit
// becomes the item's own targeting: the release's overlay keeps serving
// its audience on top of it, Advance and Resume then see it as drift (it
// must be acknowledged), and rolling the release back keeps the edit.
// Descriptions and targeting in other environments are not held.

// HeldError refuses a change to items an active release holds. It matches
// ErrConflict (HTTP 409).
type HeldError struct {
	Project string
	Release string
	State   model.ReleaseState
	// Items are the changed items, by model.ReleaseItem.Ref.
	Items []string
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s: %s held by active release %q (%s); complete or roll back the release first, or pass override_release=%s with a reason to change it anyway",
		ReleaseName(e.Project, e.Release), strings.Join(e.Items, ", "), e.Release, e.State, e.Release)
}

// Is makes a HeldError match ErrConflict.
func (e *HeldError) Is(target error) bool { return target == ErrConflict }

// releaseOverride is one release a Tx may change the items of.
type releaseOverride struct {
	project, release, reason string
}

// OverrideRelease lets this transaction change items that release id of
// the project holds; reason is recorded on the release's timeline with
// what changed. Naming a release that holds none of the changed items has
// no effect.
func (tx *Tx) OverrideRelease(project, id, reason string) {
	if id == "" {
		return
	}
	tx.overrides = append(tx.overrides, releaseOverride{project: project, release: id, reason: reason})
}

// overridden returns the override of a release, if any.
func (tx *Tx) overridden(project, id string) (releaseOverride, bool) {
	for _, o := range tx.overrides {
		if o.project == project && o.release == id {
			return o, true
		}
	}
	return releaseOverride{}, false
}

// checkHeld refuses the transaction's changes to items held by active
// releases, or records the overrides on their timelines. Update calls it
// after the transaction's function returns.
func (tx *Tx) checkHeld() error {
	for _, key := range slices.Sorted(maps.Keys(tx.drafts)) {
		d := tx.drafts[key]
		if d.base == nil || d.ps == nil || len(d.dirty[kindFlag])+len(d.dirty[kindComponent]) == 0 {
			continue
		}
		ps, _ := tx.Project(key)
		for _, r := range ps.Releases() {
			if !r.State.Active() {
				continue
			}
			var changed []string
			for _, it := range r.Items {
				if heldItemChanged(d.base, ps, r.Environment, it) {
					changed = append(changed, it.Ref())
				}
			}
			if len(changed) == 0 {
				continue
			}
			o, ok := tx.overridden(key, r.ID)
			if !ok {
				return &HeldError{Project: key, Release: r.ID, State: r.State, Items: changed}
			}
			if err := tx.recordOverride(key, r, o, changed); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordOverride appends an override event to a release's timeline.
func (tx *Tx) recordOverride(project string, r *model.Release, o releaseOverride, changed []string) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("copy %s: %w", ReleaseName(project, r.ID), err)
	}
	nr := new(model.Release)
	if err := json.Unmarshal(data, nr); err != nil {
		return fmt.Errorf("copy %s: %w", ReleaseName(project, r.ID), err)
	}
	note := "changed " + strings.Join(changed, ", ") + " while the release holds them"
	if o.reason != "" {
		note = o.reason + "; " + note
	}
	ev := &model.ReleaseEvent{
		Action: "override", From: r.State, To: r.State, Stage: r.Stage,
		Time: tx.now, Actor: tx.actor.KeyID, ActorName: tx.actor.Name, Note: note,
	}
	return tx.PutRelease(project, nr, "", ev)
}

// heldItemChanged reports whether what item it serves in env differs
// between two states of a project.
func heldItemChanged(before, after *ProjectState, env string, it model.ReleaseItem) bool {
	if it.Component != "" {
		b, _, okb := before.Component(it.Component)
		a, _, oka := after.Component(it.Component)
		if okb != oka {
			return true
		}
		if !okb {
			return false
		}
		return a != b && (a.MinSupported != b.MinSupported || !reflect.DeepEqual(a.Versions, b.Versions) ||
			!sameTargeting(b.Environments[env], a.Environments[env]))
	}
	b, _, okb := before.Flag(it.Flag)
	a, _, oka := after.Flag(it.Flag)
	if okb != oka {
		return true
	}
	if !okb {
		return false
	}
	return a != b && (a.Type != b.Type || !reflect.DeepEqual(a.Variants, b.Variants) ||
		!sameTargeting(b.Environments[env], a.Environments[env]))
}

func sameTargeting(a, b *model.Targeting) bool {
	return a == b || reflect.DeepEqual(a, b)
}
