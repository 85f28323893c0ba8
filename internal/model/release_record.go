package model

import "time"

// Incident is a problem linked to a release: what happened, how bad it
// was and when. Incidents feed the release report.
type Incident struct {
	// ID numbers the release's incidents from 1.
	ID       int      `json:"id"`
	Severity Severity `json:"severity"`
	Note     string   `json:"note"`
	// Time is when the incident happened (default: when it was recorded).
	Time time.Time `json:"time"`
	// Author is who reports it (default: the name of the recording key).
	Author string `json:"author,omitempty"`
	// Stage is the release's stage when the incident was recorded.
	Stage int `json:"stage,omitempty"`
}

// Severity is how bad an incident is.
type Severity string

// The incident severities, worst first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
)

// Severities lists the incident severities, worst first.
func Severities() []Severity {
	return []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}
}

// Review is what the team concluded once a release ended.
type Review struct {
	Outcome        ReviewOutcome `json:"outcome"`
	LessonsLearned string        `json:"lessons_learned,omitempty"`
	// Author is the name of the key that wrote the review; Time when.
	Author string    `json:"author,omitempty"`
	Time   time.Time `json:"time"`
}

// ReviewOutcome is a review's verdict on a release.
type ReviewOutcome string

// The review outcomes.
const (
	OutcomeSuccess ReviewOutcome = "success"
	OutcomePartial ReviewOutcome = "partial"
	OutcomeFailure ReviewOutcome = "failure"
)

// MaxRecordText bounds an incident's note and a review's lessons.
const MaxRecordText = 16 << 10

// ValidateIncident checks an incident a client reports; paths are
// relative to it ("severity").
func ValidateIncident(in *Incident) error {
	var errs Errors
	switch in.Severity {
	case SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow:
	case "":
		errs.add("severity", "is required: critical, high, medium or low")
	default:
		errs.add("severity", "unknown severity %q; want critical, high, medium or low", in.Severity)
	}
	checkText(&errs, "note", in.Note, true)
	return errs.err()
}

// ValidateReview checks a review a client writes; paths are relative to
// it ("outcome").
func ValidateReview(rv *Review) error {
	var errs Errors
	switch rv.Outcome {
	case OutcomeSuccess, OutcomePartial, OutcomeFailure:
	case "":
		errs.add("outcome", "is required: success, partial or failure")
	default:
		errs.add("outcome", "unknown outcome %q; want success, partial or failure", rv.Outcome)
	}
	checkText(&errs, "lessons_learned", rv.LessonsLearned, false)
	return errs.err()
}

func checkText(errs *Errors, path, s string, required bool) {
	switch {
	case required && s == "":
		errs.add(path, "is required")
	case len(s) > MaxRecordText:
		errs.add(path, "is %d bytes long; at most %d", len(s), MaxRecordText)
	}
}

// ReleaseStates lists the release states in lifecycle order.
func ReleaseStates() []ReleaseState {
	return []ReleaseState{StateDraft, StateScheduled, StateInProgress, StatePaused, StateCompleted, StateRolledBack, StateCancelled}
}

// Ended reports whether a release in state s has ended.
func (s ReleaseState) Ended() bool {
	return s == StateCompleted || s == StateRolledBack || s == StateCancelled
}
