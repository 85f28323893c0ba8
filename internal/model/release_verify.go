package model

import "time"

// StageVerification is what the server verified of one stage of a
// release (issue 4, item 8): how far the environment's SDKs applied it,
// and whether the published ruleset resolved the release's items as
// planned after the release entered it.
type StageVerification struct {
	// Stage is the stage, from 1.
	Stage int `json:"stage"`
	// Convergence is the share of connected SDKs that had applied the
	// stage's revision when the release left the stage, or when the
	// scheduler last waited for it.
	Convergence *Convergence `json:"convergence,omitempty"`
	// Resolution is the resolution check after the release entered the
	// stage.
	Resolution *ResolutionCheck `json:"resolution,omitempty"`
}

// Convergence is how many of an environment's connected SDK streams had
// applied a revision at a time.
type Convergence struct {
	// Revision is the revision that entered the stage.
	Revision  uint64 `json:"revision"`
	Connected int    `json:"connected"`
	Converged int    `json:"converged"`
	// Share is Converged / Connected; 1 when no SDK is connected (the
	// requirement then holds vacuously).
	Share float64 `json:"share"`
	// Required is the stage's min_convergence.
	Required float64 `json:"required,omitempty"`
	// Met reports whether Share reached Required.
	Met  bool      `json:"met"`
	Time time.Time `json:"time"`
	// Note says what the numbers mean, e.g. "no SDKs connected".
	Note string `json:"note,omitempty"`
	// Basis says which case decided Met: one of the Basis* constants.
	Basis string `json:"basis,omitempty"`
	// Expected counts the streams connected before the server's last
	// restart, Returned those of them connected again.
	Expected int `json:"expected,omitempty"`
	Returned int `json:"returned,omitempty"`
	// MinConnected is the stage's min_connected.
	MinConnected int `json:"min_connected,omitempty"`
}

// The cases a convergence is judged by (Convergence.Basis).
const (
	// BasisConnected: the share of the connected SDKs decided.
	BasisConnected = "connected"
	// BasisNoneConnected: no SDK connected and none awaited: the
	// requirement holds vacuously.
	BasisNoneConnected = "none_connected"
	// BasisAwaitingReturn: after a restart, streams connected before it
	// have not all returned and the grace period has not passed: not met.
	BasisAwaitingReturn = "awaiting_return"
	// BasisReturned: after a restart, every stream connected before it
	// returned, then the share decided.
	BasisReturned = "returned"
	// BasisGraceElapsed: after a restart, the grace period passed before
	// every stream returned, then the share of those connected decided.
	BasisGraceElapsed = "grace_elapsed"
	// BasisBelowMinConnected: fewer SDKs connected than the stage's
	// min_connected: not met.
	BasisBelowMinConnected = "below_min_connected"
	// BasisMinConnected: the stage's min_connected was reached, then the
	// share decided.
	BasisMinConnected = "min_connected"
)

// ResolutionCheck is the result of evaluating every item of a release for
// sampled contexts, inside and outside its audience, on the ruleset the
// server published after a transition.
type ResolutionCheck struct {
	// Action is the transition checked: start, advance, complete or
	// roll_back.
	Action string `json:"action"`
	// Stage is the release's stage after the transition.
	Stage int `json:"stage"`
	// Revision is the revision of the ruleset checked.
	Revision uint64    `json:"revision"`
	Time     time.Time `json:"time"`
	Passed   bool      `json:"passed"`
	// Contexts counts the sampled contexts; InAudience and OutOfAudience
	// split them by the plan.
	Contexts      int `json:"contexts"`
	InAudience    int `json:"in_audience"`
	OutOfAudience int `json:"out_of_audience"`
	// Evaluations counts the evaluations (contexts × items); Mismatches
	// those that did not resolve as planned.
	Evaluations int `json:"evaluations"`
	Mismatches  int `json:"mismatches"`
	// First lists the first mismatches.
	First []ResolutionMismatch `json:"first_mismatches,omitempty"`
	// Error says why the check could not run (e.g. the published ruleset
	// is behind the release's revision); Passed is then false.
	Error string `json:"error,omitempty"`
}

// ResolutionMismatch is one evaluation that did not resolve as planned.
type ResolutionMismatch struct {
	// Item is the item's Ref: "flags/{key}" or "components/{key}".
	Item         string `json:"item"`
	TargetingKey string `json:"targeting_key"`
	InAudience   bool   `json:"in_audience"`
	// Want and Got describe the planned and the published outcome, e.g.
	// "on (TARGETING_MATCH, release:spring)".
	Want string `json:"want"`
	Got  string `json:"got"`
}
