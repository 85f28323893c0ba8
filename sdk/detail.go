package sdk

// Reason says why a getter returned its value; the values are OpenFeature's
// resolution reasons, plus PREREQUISITE_FAILED.
type Reason string

// The reasons.
const (
	ReasonStatic             Reason = "STATIC"
	ReasonDefault            Reason = "DEFAULT"
	ReasonTargetingMatch     Reason = "TARGETING_MATCH"
	ReasonSplit              Reason = "SPLIT"
	ReasonDisabled           Reason = "DISABLED"
	ReasonError              Reason = "ERROR"
	ReasonPrerequisiteFailed Reason = "PREREQUISITE_FAILED"
)

// ErrorCode classifies why a getter returned the default value; the values
// are OpenFeature's error codes.
type ErrorCode string

// The error codes.
const (
	ErrorProviderNotReady    ErrorCode = "PROVIDER_NOT_READY"
	ErrorFlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	ErrorTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	ErrorTypeMismatch        ErrorCode = "TYPE_MISMATCH"
	ErrorParse               ErrorCode = "PARSE_ERROR"
	ErrorInvalidContext      ErrorCode = "INVALID_CONTEXT"
	ErrorGeneral             ErrorCode = "GENERAL"
)

// Detail is a getter's value and how it came about.
type Detail[T any] struct {
	// Value is the flag's value, or the caller's default when ErrorCode is
	// set or no variant was served.
	Value T
	// Variant is the served variant; "" when the default was returned.
	Variant string
	// Reason says why: DESIGN §3's reasons, ERROR with an ErrorCode.
	Reason Reason
	// Rule is "targets", a rule id or "default"; "" for DISABLED,
	// PREREQUISITE_FAILED and errors.
	Rule string
	// Revision is the environment revision evaluated (0 for a bootstrap
	// document or no ruleset).
	Revision uint64
	// ErrorCode is set when the default was returned because of an error.
	ErrorCode ErrorCode
	// ErrorMessage explains ErrorCode.
	ErrorMessage string
}

// Error messages; static so that getters do not allocate.
const (
	msgNotReady     = "the client has no ruleset yet"
	msgTypeMismatch = "the flag is of another type"
)
