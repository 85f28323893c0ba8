package model

import (
	"slices"
	"time"
)

// Release is a release unit (DESIGN §1): flags and component versions
// released together in one environment to a growing audience, stage by
// stage. Releases are not part of the declarative document: export never
// shows them, and while one runs the flags' own targeting is not edited.
// Evaluation sees an active release through its Overlay.
//
// The fields up to Plan are the release's definition, written by clients
// while it is a draft; the others are its lifecycle, written by the server.
type Release struct {
	ID           string        `json:"id"`
	Title        string        `json:"title,omitempty"`
	Environment  string        `json:"environment"`
	Items        []ReleaseItem `json:"items,omitempty"`
	ReleaseNotes string        `json:"release_notes,omitempty"`
	Mode         ReleaseMode   `json:"mode,omitempty"`
	Owner        string        `json:"owner,omitempty"`
	Links        *ReleaseLinks `json:"links,omitempty"`
	// Salt is the bucketing salt of the release's percentages; default the
	// release id. Every item uses it, so a unit is in for all items or none.
	Salt string `json:"salt,omitempty"`
	// BucketBy is the context attribute whose value is bucketed; default
	// targetingKey.
	BucketBy string  `json:"bucket_by,omitempty"`
	Plan     []Stage `json:"plan,omitempty"`
	// ResolutionCheck asks for the resolution check (issue 4, item 8b)
	// after each stage; a release model may require it.
	ResolutionCheck bool `json:"resolution_check,omitempty"`
	// Model is the release model the release was created from, if any;
	// ModelEtag is that model's etag then. Both are set at creation only.
	Model     string `json:"model,omitempty"`
	ModelEtag string `json:"model_etag,omitempty"`

	// ReleaseNotesByLanguage holds the release notes in other languages, by
	// BCP 47 language tag; ReleaseNotes is the default text.
	ReleaseNotesByLanguage map[string]string `json:"release_notes_by_language,omitempty"`

	// State is where the release is in its lifecycle.
	State ReleaseState `json:"state,omitempty"`
	// Stage is the current stage, from 1; 0 before the release starts.
	Stage int `json:"stage,omitempty"`
	// StartTime is the start Start asked for, if any.
	StartTime *time.Time `json:"start_time,omitempty"`
	// StageTime is when the release entered its current stage or was last
	// resumed: a wait gate counts from it.
	StageTime *time.Time `json:"stage_time,omitempty"`
	// Requester is the key ID of whoever last started or advanced the
	// release by hand; they may not approve its next gate.
	Requester     string `json:"requester,omitempty"`
	RequesterName string `json:"requester_name,omitempty"`
	// RequesterPrincipal is the person or service the requester's key
	// belongs to: neither they nor a principal related to them by key
	// creation may approve the next gate. It is empty on releases started
	// before principals existed.
	RequesterPrincipal string `json:"requester_principal,omitempty"`
	// Approvals are the approvals given to the next gate.
	Approvals []Approval `json:"approvals,omitempty"`
	// Baseline holds, by ItemRef, the etag of each item's targeting in the
	// environment when the release started or its drift was last
	// acknowledged ("" when the item had no targeting): a different etag
	// now means the targeting was changed outside the release.
	Baseline map[string]string `json:"baseline,omitempty"`
	// Timeline is every lifecycle event, oldest first.
	Timeline []ReleaseEvent `json:"timeline,omitempty"`
	// Incidents are the incidents linked to the release, oldest first.
	Incidents []Incident `json:"incidents,omitempty"`
	// Review is the review written once the release ended.
	Review *Review `json:"review,omitempty"`
	// Verification holds, by stage, what the server verified of each stage
	// entered (see StageVerification). Recording it changes neither the
	// etag nor the timeline.
	Verification []StageVerification `json:"verification,omitempty"`
	// FinalCheck is the resolution check after the release completed or
	// was rolled back.
	FinalCheck *ResolutionCheck `json:"final_check,omitempty"`
	// FreezeOverrides are the emergency overrides of freezes asked for the
	// release, oldest first; an approved one lets the release move inside
	// one occurrence of its freeze.
	FreezeOverrides []FreezeOverride `json:"freeze_overrides,omitempty"`
}

// FreezeOverride is an emergency override of a freeze for one release:
// asked for by one person with a reason and, to take effect, approved by
// another (the two-person rule of approval gates). It covers one
// occurrence of the freeze, Window.
type FreezeOverride struct {
	Freeze string `json:"freeze"`
	Reason string `json:"reason"`
	Window Window `json:"window"`
	// The key, name and principal of who asked for it, and when.
	RequestedBy        string    `json:"requested_by"`
	RequesterName      string    `json:"requester_name,omitempty"`
	RequesterPrincipal string    `json:"requester_principal,omitempty"`
	RequestTime        time.Time `json:"request_time"`
	// The key, name and principal of who approved it, and when; empty
	// while it waits for approval.
	ApprovedBy        string     `json:"approved_by,omitempty"`
	ApproverName      string     `json:"approver_name,omitempty"`
	ApproverPrincipal string     `json:"approver_principal,omitempty"`
	ApproveTime       *time.Time `json:"approve_time,omitempty"`
}

// ReleaseItem is one thing a release releases: a flag's variant, or a
// component's version.
type ReleaseItem struct {
	Flag      string `json:"flag,omitempty"`
	Variant   string `json:"variant,omitempty"`
	Component string `json:"component,omitempty"`
	Version   string `json:"version,omitempty"`
}

// Ref names the item's flag or component: "flags/{key}" or
// "components/{key}".
func (it ReleaseItem) Ref() string {
	if it.Component != "" {
		return "components/" + it.Component
	}
	return "flags/" + it.Flag
}

// ReleaseMode says how clients learn of a released version: pushed to them
// (an update they must take) or pulled when they ask.
type ReleaseMode string

// The release modes.
const (
	ModePull ReleaseMode = "pull"
	ModePush ReleaseMode = "push"
)

// ReleaseLinks point to the records a release belongs to.
type ReleaseLinks struct {
	Ticket       string `json:"ticket,omitempty"`
	ChangeRecord string `json:"change_record,omitempty"`
}

// Stage is one step of a release plan. Its audience is the contexts in any
// of Segments (everyone when none are listed) whose bucket, under the
// release's salt, is below Weight (0 to RolloutTotal). Entering the stage
// waits for its Gate.
type Stage struct {
	Name     string   `json:"name,omitempty"`
	Segments []string `json:"segments,omitempty"`
	Weight   int      `json:"weight"`
	Gate     *Gate    `json:"gate,omitempty"`
	// MinConvergence is the share of connected SDKs (0 to 1) that must have
	// applied the stage's revision before the next gate opens (Advance
	// refuses, the scheduler waits). With no SDK connected it holds
	// vacuously.
	MinConvergence float64 `json:"min_convergence,omitempty"`
	// MinConnected is the number of SDK streams that must be connected to
	// the environment before the next gate opens: with it, a stage whose
	// SDKs have not (re)connected does not pass as "no SDKs connected".
	MinConnected int `json:"min_connected,omitempty"`
	// Guardrail, when set, watches a metric while the stage is current:
	// units served the release's variants (the treatment) against the
	// flag's other units (the control); when it trips, the server pauses
	// or rolls back the release (Guardrail.Action: pause or rollback).
	Guardrail *Guardrail `json:"guardrail,omitempty"`
}

// Gate is what entering a stage waits for: exactly one of its fields is
// set; none means Manual.
type Gate struct {
	// Manual: a release manager calls Advance.
	Manual *ManualGate `json:"manual,omitempty"`
	// Wait: the scheduler advances this long after the previous stage
	// began (or the release was resumed; for the first stage, after Start).
	Wait *WaitGate `json:"wait,omitempty"`
	// At: the scheduler advances at a time.
	At *AtGate `json:"at,omitempty"`
	// Approval: Advance needs approvals by release managers other than the
	// requester first.
	Approval *ApprovalGate `json:"approval,omitempty"`
}

// ManualGate opens when a release manager calls Advance.
type ManualGate struct{}

// WaitGate opens a duration after the previous step.
type WaitGate struct {
	// Duration is a Go duration, e.g. "90m" or "24h".
	Duration string `json:"duration"`
}

// AtGate opens at a time.
type AtGate struct {
	Time time.Time `json:"time"`
}

// ApprovalGate opens once Count distinct principals (people) holding at
// least the role Approvers, none of them the requester, have approved.
type ApprovalGate struct {
	// Approvers is the least role that may approve: release-manager
	// (default) or admin.
	Approvers string `json:"approvers,omitempty"`
	// Count is the number of approvals needed; default 1.
	Count int `json:"count,omitempty"`
}

// Approval is one approval of a release's next gate.
type Approval struct {
	Stage   int       `json:"stage"`
	By      string    `json:"by"`
	ByName  string    `json:"by_name,omitempty"`
	Time    time.Time `json:"time"`
	Comment string    `json:"comment,omitempty"`
	// Principal is the person the key By belongs to; empty on approvals
	// given before principals existed.
	Principal string `json:"principal,omitempty"`
}

// ReleaseState is a release's lifecycle state.
type ReleaseState string

// The release states: DRAFT → SCHEDULED → IN_PROGRESS ⇄ PAUSED →
// COMPLETED | ROLLED_BACK | CANCELLED.
const (
	StateDraft      ReleaseState = "DRAFT"
	StateScheduled  ReleaseState = "SCHEDULED"
	StateInProgress ReleaseState = "IN_PROGRESS"
	StatePaused     ReleaseState = "PAUSED"
	StateCompleted  ReleaseState = "COMPLETED"
	StateRolledBack ReleaseState = "ROLLED_BACK"
	StateCancelled  ReleaseState = "CANCELLED"
)

// Active reports whether a release in state s holds its items: no other
// release of the environment may take them.
func (s ReleaseState) Active() bool {
	return s == StateScheduled || s == StateInProgress || s == StatePaused
}

// Serving reports whether a release in state s has an audience that
// evaluation must see.
func (s ReleaseState) Serving() bool { return s == StateInProgress || s == StatePaused }

// ReleaseEvent is one entry of a release's timeline: a lifecycle step with
// who took it, when it was planned and when it happened.
type ReleaseEvent struct {
	// Action is the step: create, start, schedule, advance, approve,
	// pause, resume, acknowledge_drift, complete, roll_back, cancel; or
	// wait (the scheduler holds a due step for the stage's verification);
	// hold (a freeze holds a due step); request_override and
	// approve_override (an emergency override of a freeze); incident and
	// review record an incident or the review added.
	Action string       `json:"action"`
	From   ReleaseState `json:"from_state,omitempty"`
	To     ReleaseState `json:"to_state,omitempty"`
	// Stage is the stage after the step.
	Stage int `json:"stage,omitempty"`
	// Revision is the environment's revision after the step.
	Revision uint64 `json:"revision,omitempty"`
	// Time is when the step happened.
	Time time.Time `json:"time"`
	// PlannedTime is when a scheduled step was due.
	PlannedTime *time.Time `json:"planned_time,omitempty"`
	// DelaySeconds is how much later than planned the step ran.
	DelaySeconds float64 `json:"delay_seconds,omitempty"`
	// Late is set when the delay exceeded the scheduler's tolerance.
	Late      bool   `json:"late,omitempty"`
	Actor     string `json:"actor,omitempty"`
	ActorName string `json:"actor_name,omitempty"`
	Note      string `json:"note,omitempty"`
	// ActorPrincipal is the person or service the actor's key belongs to.
	ActorPrincipal string `json:"actor_principal,omitempty"`
	// Freeze names the freeze a hold or an override event is about, and
	// the freeze that held a step taken after its window ended.
	Freeze string `json:"freeze,omitempty"`
	// HeldSeconds is how long a freeze held the step.
	HeldSeconds float64 `json:"held_seconds,omitempty"`
}

// Overlay is what evaluation sees of a release that is in progress or
// paused: its audience so far and what it serves to it. For each item, a
// context that passes the flag's steps 1–4 (DESIGN §3) and is in the
// audience is served the item's variant (or version), with reason
// TARGETING_MATCH and rule "release:{Release}"; any other context falls
// through to the flag's own rules.
type Overlay struct {
	Release  string `json:"release"`
	Salt     string `json:"salt"`
	BucketBy string `json:"bucket_by,omitempty"`
	// Audience is the union of these stages.
	Audience []AudienceStage `json:"audience"`
	Items    []ReleaseItem   `json:"items"`
	// Experiment, when set, makes this the overlay of that running
	// experiment (model.Experiment.Overlay), and Release is then
	// "experiment:{id}": its one item names the flag without a variant, and a context in the audience
	// is served the variant of Allocation its bucket under Salt + ".alloc"
	// falls in, with reason SPLIT, rule "experiment:{id}" and the
	// experiment's key in the result.
	Experiment string     `json:"experiment,omitempty"`
	Allocation []Weighted `json:"allocation,omitempty"`
	// Push marks a release in push mode: a component version it serves is
	// an update its audience must take (availability answers REQUIRED).
	Push bool `json:"push,omitempty"`
	// Notes are the release's notes for the users of the component
	// versions it releases.
	Notes *ReleaseNotes `json:"notes,omitempty"`
	// Completed marks the overlay of a completed release
	// (Release.NotesOverlay): it has no audience and claims no item; it
	// only carries Notes for its component items, and evaluation ignores
	// an item that names a component or version the document lacks.
	Completed bool `json:"completed,omitempty"`
}

// ReleaseNotes is what a release tells the users of what it releases: a
// default text and translations by BCP 47 language tag.
type ReleaseNotes struct {
	Default    string            `json:"default,omitempty"`
	ByLanguage map[string]string `json:"by_language,omitempty"`
}

// notes returns the release's notes for the users of its component items,
// or nil when it has none or releases no component.
func (r *Release) notes() *ReleaseNotes {
	if (r.ReleaseNotes == "" && len(r.ReleaseNotesByLanguage) == 0) ||
		!slices.ContainsFunc(r.Items, func(it ReleaseItem) bool { return it.Component != "" }) {
		return nil
	}
	return &ReleaseNotes{Default: r.ReleaseNotes, ByLanguage: r.ReleaseNotesByLanguage}
}

// NotesOverlay returns the overlay of a COMPLETED release that released a
// component version and has notes: it carries the notes to availability
// answers after the release's audience became plain targeting. It is nil
// for any other release.
func (r *Release) NotesOverlay() *Overlay {
	if r == nil || r.State != StateCompleted {
		return nil
	}
	n := r.notes()
	if n == nil {
		return nil
	}
	var items []ReleaseItem
	for _, it := range r.Items {
		if it.Component != "" {
			items = append(items, it)
		}
	}
	return &Overlay{Release: r.ID, Salt: r.Salt, Items: items, Notes: n, Completed: true}
}

// Key identifies the overlay among an environment's overlays: the release
// id, or "experiment:{id}" for an experiment's.
func (o *Overlay) Key() string {
	if o.Experiment != "" {
		return ExperimentRule(o.Experiment)
	}
	return o.Release
}

// Rule is the rule id the overlay's matches carry: "release:{id}" or
// "experiment:{id}".
func (o *Overlay) Rule() string {
	if o.Experiment != "" {
		return ExperimentRule(o.Experiment)
	}
	return OverlayRule(o.Release)
}

// AudienceStage is one stage of an overlay's audience: the contexts in any
// of Segments (everyone when none are listed) whose bucket is below Weight.
// A weight of RolloutTotal needs no bucket; below it, a context without a
// bucketing unit is not in the stage.
type AudienceStage struct {
	Segments []string `json:"segments,omitempty"`
	Weight   int      `json:"weight"`
}

// OverlayRule is the rule id an overlay's matches carry: "release:{id}".
func OverlayRule(release string) string { return "release:" + release }

// Overlay returns the release's overlay, or nil when the release serves
// no audience (it has not started or has ended).
func (r *Release) Overlay() *Overlay {
	if r == nil || !r.State.Serving() || r.Stage < 1 || r.Stage > len(r.Plan) {
		return nil
	}
	o := &Overlay{
		Release:  r.ID,
		Salt:     r.Salt,
		BucketBy: r.BucketBy,
		Audience: make([]AudienceStage, r.Stage),
		Items:    r.Items,
		Push:     r.Mode == ModePush,
		Notes:    r.notes(),
	}
	if o.Salt == "" {
		o.Salt = r.ID
	}
	for i, s := range r.Plan[:r.Stage] {
		o.Audience[i] = AudienceStage{Segments: s.Segments, Weight: s.Weight}
	}
	return o
}
