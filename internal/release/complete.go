package release

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/model"
)

// finalAudience is what a plan's full audience (the union of every stage)
// amounts to once every partial stage is covered by a full one: everyone,
// or the contexts in any of segments.
type finalAudience struct {
	everyone bool
	segments []string // in order of first appearance
}

// empty reports whether the audience holds no one.
func (a finalAudience) empty() bool { return !a.everyone && len(a.segments) == 0 }

// finalAudienceOf computes a plan's final audience. A stage at a partial
// weight whose contexts no full stage covers cannot be written as plain
// targeting without a rollout: it is refused.
func finalAudienceOf(plan []model.Stage) (finalAudience, error) {
	var a finalAudience
	for _, st := range plan {
		if st.Weight < model.RolloutTotal {
			continue
		}
		if len(st.Segments) == 0 {
			a.everyone = true
		}
		for _, s := range st.Segments {
			if !slices.Contains(a.segments, s) {
				a.segments = append(a.segments, s)
			}
		}
	}
	if a.everyone {
		a.segments = nil
	}
	for i, st := range plan {
		if st.Weight == 0 || st.Weight >= model.RolloutTotal {
			continue
		}
		covered := a.everyone || len(st.Segments) > 0 && !slices.ContainsFunc(st.Segments, func(s string) bool { return !slices.Contains(a.segments, s) })
		if !covered {
			return a, fmt.Errorf("stage %d serves %.3f %% of its audience and no stage at 100 %% covers it: widen it to 100 %% in a last stage, or roll back",
				i+1, float64(st.Weight)/1000)
		}
	}
	return a, nil
}

// complete ends r: the overlay goes and each item's targeting in the
// environment gets what the final audience implies, in the same
// transaction (one revision). Everyone → the default serves the item (and,
// if a rule serves something else, a first rule "release-{id}" keeps
// serving it to everyone, as the release did); segments → a first rule
// "release-{id}" serves the item to any of them. The note lists what was
// written.
func complete(tx *domain.Tx, ps *domain.ProjectState, r *model.Release, ev *model.ReleaseEvent) error {
	a, err := finalAudienceOf(r.Plan)
	if err != nil {
		return failed(ps.Key(), r.ID, "cannot complete: %v", err)
	}
	var notes []string
	for _, it := range r.Items {
		var (
			cur   *model.Targeting
			serve model.Serve
		)
		if it.Component != "" {
			cur, _, _ = ps.ComponentTargeting(it.Component, r.Environment)
			serve = model.Serve{Version: it.Version}
		} else {
			cur, _, _ = ps.FlagTargeting(it.Flag, r.Environment)
			serve = model.Serve{Variant: it.Variant}
		}
		next, what, err := implied(cur, a, serve, r.ID)
		if err != nil {
			return err
		}
		if next == nil {
			continue
		}
		if it.Component != "" {
			err = tx.SetComponentTargeting(ps.Key(), it.Component, r.Environment, next, "")
		} else {
			err = tx.SetFlagTargeting(ps.Key(), it.Flag, r.Environment, next, "")
		}
		if err != nil {
			return fmt.Errorf("complete %s: %s: %w", domain.ReleaseName(ps.Key(), r.ID), it.Ref(), err)
		}
		notes = append(notes, it.Ref()+": "+what)
	}
	r.State = model.StateCompleted
	if len(notes) > 0 {
		addNote(ev, "wrote "+strings.Join(notes, "; "))
	}
	return nil
}

// CompletionRuleID is the id of the rule a completed release writes.
func CompletionRuleID(release string) string { return "release-" + release }

// implied returns a copy of cur (nil: no targeting) changed to serve
// serve to the audience a, and a description of the change; nil when
// there is nothing to change.
func implied(cur *model.Targeting, a finalAudience, serve model.Serve, id string) (*model.Targeting, string, error) {
	if a.empty() {
		return nil, "", nil
	}
	t := &model.Targeting{}
	if cur != nil {
		data, err := json.Marshal(cur)
		if err == nil {
			err = json.Unmarshal(data, t)
		}
		if err != nil {
			return nil, "", fmt.Errorf("copy targeting: %w", err)
		}
	}
	rule := model.Rule{ID: CompletionRuleID(id), Serve: serve}
	var what string
	if a.everyone {
		t.Default = &serve
		what = "default serves " + serveName(serve)
		if !slices.ContainsFunc(t.Rules, func(r model.Rule) bool { return !reflect.DeepEqual(r.Serve, serve) }) {
			return t, what, nil
		}
		what += ", and rule " + rule.ID + " serves it before the other rules"
	} else {
		if len(a.segments) == 1 {
			rule.Segments = a.segments
		} else {
			values := make([]any, len(a.segments))
			for i, s := range a.segments {
				values[i] = s
			}
			rule.Conditions = []model.Condition{{Op: model.OpInSegment, Values: values}}
		}
		what = "rule " + rule.ID + " serves " + serveName(serve) + " to segments " + strings.Join(a.segments, ", ")
	}
	t.Rules = slices.DeleteFunc(t.Rules, func(r model.Rule) bool { return r.ID == rule.ID })
	t.Rules = slices.Insert(t.Rules, 0, rule)
	return t, what, nil
}

func serveName(s model.Serve) string {
	if s.Version != "" {
		return "version " + s.Version
	}
	return "variant " + s.Variant
}
