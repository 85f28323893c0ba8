package release

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/domain"
	"github.com/switchyard/switchyard/internal/eval"
	"github.com/switchyard/switchyard/internal/model"
)

// VerifierName is the actor name of the verification results the Verifier
// records.
const VerifierName = "verifier"

// Published returns the ruleset the server serves for an environment;
// *snapshot.Set is one.
type Published interface {
	Get(project, env string) *eval.Ruleset
}

// publishWait bounds how long a check waits for the published ruleset to
// reach the store's revision of the release's environment.
const publishWait = 2 * time.Second

// The audit actions after which a release is checked: each changes who
// gets what, or (resume) asks for a new check of the stage.
var checkedActions = []string{"release.start", "release.advance", "release.complete", "release.roll_back", "release.resume"}

// Verifier runs the resolution check (CheckResolution) of a release after
// each transition that changes its audience — start, advance, complete,
// roll back — and after a resume, on the ruleset the server published for
// it, and records the result in the release (store
// Tx.PutReleaseVerification). It learns of transitions from the store's
// commits (Observe, a domain.Subscribe hook) and checks in the background,
// one release at a time in the order they moved, so a check never holds
// up a commit. Started, it also checks every running release whose
// current stage has no check yet (one pending when the server stopped).
type Verifier struct {
	store    *domain.Store
	rulesets Published
	log      *slog.Logger

	mu      sync.Mutex
	pending []releaseRef // in arrival order, each once
	kick    chan struct{}
}

// releaseRef names a release.
type releaseRef struct{ project, id string }

// NewVerifier returns a Verifier of st's releases against rulesets.
func NewVerifier(log *slog.Logger, st *domain.Store, rulesets Published) *Verifier {
	return &Verifier{store: st, rulesets: rulesets, log: log, kick: make(chan struct{}, 1)}
}

// Observe queues the releases a commit moved. It is a store commit hook:
// it only appends to a queue.
func (v *Verifier) Observe(_ *domain.State, c *domain.Commit) {
	for _, ev := range c.Events {
		if !slices.Contains(checkedActions, ev.Action) {
			continue
		}
		if id, ok := strings.CutPrefix(ev.Resource, domain.ReleaseName(ev.Project, "")); ok {
			v.enqueue(releaseRef{ev.Project, id})
		}
	}
}

func (v *Verifier) enqueue(ref releaseRef) {
	v.mu.Lock()
	if !slices.Contains(v.pending, ref) {
		v.pending = append(v.pending, ref)
	}
	v.mu.Unlock()
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// Run checks queued releases until ctx is done. Checks still queued then
// are not run; a running release's unchecked stage is checked at the next
// start.
func (v *Verifier) Run(ctx context.Context) {
	for _, ps := range v.store.State().Projects() {
		for _, r := range ps.Releases() {
			if r.State.Serving() && r.Stage >= 1 {
				if sv := findVerification(r, r.Stage); sv == nil || sv.Resolution == nil {
					v.enqueue(releaseRef{ps.Key(), r.ID})
				}
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-v.kick:
		}
		for {
			v.mu.Lock()
			if len(v.pending) == 0 {
				v.mu.Unlock()
				break
			}
			ref := v.pending[0]
			v.pending = v.pending[1:]
			v.mu.Unlock()
			if err := v.Check(ctx, ref.project, ref.id); err != nil && ctx.Err() == nil {
				v.log.Error("release resolution check", "project", ref.project, "release", ref.id, "err", err)
			}
		}
	}
}

// Check runs the resolution check of a release now, on the published
// ruleset of its environment, and records it: in the verification of its
// current stage while it runs, as its final check once it completed or was
// rolled back (once). A release in another state is not checked.
func (v *Verifier) Check(ctx context.Context, project, id string) error {
	ps, r, published, behind := v.consistent(ctx, project, id)
	if r == nil {
		return nil
	}
	var check *model.ResolutionCheck
	switch {
	case r.State == model.StateCompleted || r.State == model.StateRolledBack:
		if r.FinalCheck != nil {
			return nil
		}
	case r.State.Serving() && r.Stage >= 1:
	default:
		return nil
	}
	if behind != "" {
		check = &model.ResolutionCheck{Action: finalAction(r), Stage: r.Stage, Time: v.store.Now(), Error: behind}
		if published != nil {
			check.Revision = published.Revision
		}
	} else {
		var others []*model.Overlay
		for _, o := range ps.Overlays(r.Environment) {
			if o.Release != r.ID {
				others = append(others, o)
			}
		}
		check = CheckResolution(ps.Document(), r, others, published, v.store.Now())
	}
	_, err := v.store.Update(ctx, domain.Actor{Name: VerifierName}, func(tx *domain.Tx) error {
		return record(tx, project, id, r.State, check)
	})
	if err != nil {
		return fmt.Errorf("record the resolution check of %s: %w", domain.ReleaseName(project, id), err)
	}
	return nil
}

// consistent reads a release with the ruleset published for the store
// state it is read from, waiting up to publishWait for the ruleset to
// catch up (the store publishes its state before the ruleset is
// compiled). behind says why they never matched; r is nil when the release
// is gone.
func (v *Verifier) consistent(ctx context.Context, project, id string) (ps *domain.ProjectState, r *model.Release, published *eval.Ruleset, behind string) {
	deadline := time.Now().Add(publishWait)
	for {
		var ok bool
		ps, ok = v.store.State().Project(project)
		if !ok {
			return nil, nil, nil, ""
		}
		if r, _, ok = ps.Release(id); !ok {
			return nil, nil, nil, ""
		}
		env, ok := ps.Environment(r.Environment)
		if !ok {
			return nil, nil, nil, ""
		}
		published = v.rulesets.Get(project, r.Environment)
		if published != nil && published.Revision == env.Revision {
			return ps, r, published, ""
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if published == nil {
				return ps, r, nil, fmt.Sprintf("no ruleset is published for environment %s at revision %d", r.Environment, env.Revision)
			}
			return ps, r, published, fmt.Sprintf("the published ruleset of environment %s is at revision %d, the store at %d",
				r.Environment, published.Revision, env.Revision)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// record stores a check of a release that was in state when checked: in
// the verification of the check's stage, or as the final check.
func record(tx *domain.Tx, project, id string, state model.ReleaseState, check *model.ResolutionCheck) error {
	_, r, _, err := load(tx, Request{Project: project, ID: id})
	if err != nil {
		return err
	}
	if state == model.StateCompleted || state == model.StateRolledBack {
		if r.FinalCheck != nil {
			return nil
		}
		r.FinalCheck = check
	} else {
		verificationOf(r, check.Stage).Resolution = check
	}
	return tx.PutReleaseVerification(project, r)
}
