// Package eventlog holds the event log: the exposure and track events SDKs
// and clients send, kept apart from the resources (never validated as
// documents, never audited, never bumping a revision), and the usage
// counters derived from them. Log is what the server and the experiment
// consumer need of one; boltlog keeps it in the store's bbolt file and
// jetstream in a replicated NATS JetStream stream. Both pass the contract
// suite in eventlogtest.
package eventlog

import (
	"context"
	"errors"
	"time"
)

// Log is an event log. Its methods are safe for concurrent use; Append and
// AddEvaluations wait for Run.
type Log interface {
	// Append stores a batch of accepted events of one environment and
	// counts the events rejected, by code. It returns once both are
	// durable, with b.Seq set; or an error matching ErrOverloaded when the
	// log cannot take more now; or ErrClosed when Run has stopped. If ctx
	// ends first Append returns its error, and the batch may or may not be
	// stored. A batch with neither events nor rejections stores nothing.
	//
	// A batch with an ID is stored once: a batch whose ID was stored for
	// the same environment within Options.BatchRetention is not stored
	// again (nor its rejections counted); Append then sets b.Duplicate
	// and b.Seq to the earlier batch's. b must not be modified until
	// Append returns.
	Append(ctx context.Context, b *Batch, rejected map[string]int) error
	// AddEvaluations adds counts of the server's own evaluations, made up
	// to at, to the usage counters. It returns once they are durable, or
	// fails like Append. Callers count in memory and add in batches.
	AddEvaluations(ctx context.Context, at time.Time, counts []EvaluationCount) error
	// Batches returns up to limit stored batches with a Seq greater than
	// after, in Seq order: a reader keeps the last Seq it consumed with
	// what it made of the batches (its checkpoint) and asks again from
	// there, after a restart too. Batches deleted by retention are skipped.
	Batches(ctx context.Context, after uint64, limit int) ([]Batch, error)
	// LastSeq returns the Seq of the last batch stored (0 when none was),
	// whether or not retention has deleted it since. Seqs of batches only
	// grow, but need not be consecutive.
	LastSeq(ctx context.Context) (uint64, error)
	// FlagUsage reads the usage counters of q's environment. It reflects
	// every Append and AddEvaluations that returned on this Log.
	FlagUsage(ctx context.Context, q UsageQuery) (*Usage, error)
	// LastSeen returns, for each environment of a project with usage
	// recorded, the latest time each flag was exposed (an SDK event) or
	// evaluated by the server: environment → flag → time.
	LastSeen(ctx context.Context, project string) (map[string]map[string]time.Time, error)
	// Run does the log's background work until ctx is done; then it
	// refuses new writes, finishes those under way and returns.
	Run(ctx context.Context) error
}

// Errors of a Log.
var (
	// ErrOverloaded means the log cannot take more now: the caller should
	// retry later.
	ErrOverloaded = errors.New("event queue is full")
	// ErrClosed means the log has stopped.
	ErrClosed = errors.New("event log closed")
	// ErrUnavailable means the log's storage cannot be reached now (a
	// JetStream cluster without a leader, say): the caller should retry.
	ErrUnavailable = errors.New("event log unavailable")
)

// errCorrupt means a stored batch does not decode.
var errCorrupt = errors.New("corrupt event batch")

// Kind says what an Event records.
type Kind uint8

// The kinds of events.
const (
	// Exposure: a unit was served a flag's variant.
	Exposure Kind = 1
	// Track: a unit did something an experiment metric counts.
	Track Kind = 2
)

// Event is one accepted event. Exposures use Flag, Variant, Rule, Revision
// and Experiment; track events use Key, Value and HasValue.
type Event struct {
	Kind Kind
	// Time is when the event happened (UTC, microsecond precision).
	Time time.Time
	// Unit is the bucketing unit, usually the targeting key.
	Unit       string
	Flag       string
	Variant    string // "" when no variant was served
	Rule       string
	Revision   uint64
	Experiment string
	Key        string
	Value      float64
	HasValue   bool
}

// Batch is the accepted events of one SendEvents call, stored as one
// record.
type Batch struct {
	// Seq orders batches; Append sets it.
	Seq         uint64
	Project     string
	Environment string
	// Received is when the server received the batch.
	Received   time.Time
	SDKName    string
	SDKVersion string
	Events     []Event
	// ID, when set, makes Append idempotent (a sender that retries, such
	// as a relay forwarding its spool, names each batch). It is not
	// stored with the batch.
	ID string
	// Duplicate is set by Append when the batch's ID was stored before.
	Duplicate bool
}

// EvaluationCount is how often the server itself evaluated a flag to a
// variant ("" for an error) in an environment.
type EvaluationCount struct {
	Project, Environment, Flag, Variant string
	Count                               uint64
}

// Options configures a Log. Zero fields take the defaults.
type Options struct {
	// BatchRetention is how long raw batches, and batch IDs, are kept;
	// default 7 days.
	BatchRetention time.Duration
	// BatchMaxBytes caps the total size of the raw batches kept; default
	// 256 MiB. The oldest go first.
	BatchMaxBytes int64
	// UsageRetention is how long hourly counters are kept; default 35 days.
	UsageRetention time.Duration
	// MaxQueued caps the events waiting to be written; an Append beyond it
	// fails with ErrOverloaded. Default 100,000.
	MaxQueued int
	// MaxPerCommit caps the events written in one transaction; default
	// 50,000.
	MaxPerCommit int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Default retention and queue limits.
const (
	DefaultBatchRetention = 7 * 24 * time.Hour
	DefaultBatchMaxBytes  = 256 << 20
	DefaultUsageRetention = 35 * 24 * time.Hour
	DefaultMaxQueued      = 100_000
	DefaultMaxPerCommit   = 50_000
)

// WithDefaults returns o with its zero fields set to the defaults.
func (o Options) WithDefaults() Options {
	if o.BatchRetention <= 0 {
		o.BatchRetention = DefaultBatchRetention
	}
	if o.BatchMaxBytes <= 0 {
		o.BatchMaxBytes = DefaultBatchMaxBytes
	}
	if o.UsageRetention <= 0 {
		o.UsageRetention = DefaultUsageRetention
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.MaxPerCommit <= 0 {
		o.MaxPerCommit = DefaultMaxPerCommit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// UsageQuery selects the flag usage of one environment.
type UsageQuery struct {
	Project     string
	Environment string
	// Flag, if set, selects one flag.
	Flag string
	// From and To select the hours reported: from the one From falls in
	// through the one To falls in.
	From, To time.Time
}

// Usage is the flag usage of one environment.
type Usage struct {
	// Flags are the flags with exposures or evaluations recorded, in key
	// order.
	Flags []FlagUsage
	// Rejected counts the refused events by code, in code order.
	Rejected []RejectedCount
}

// FlagUsage is the recorded exposures of one flag.
type FlagUsage struct {
	Flag string
	// Variants are in key order; "" stands for "no variant served".
	Variants []VariantUsage
}

// VariantUsage is the recorded exposures of one variant of a flag.
type VariantUsage struct {
	Variant string
	// Total counts every exposure ever recorded.
	Total uint64
	// LastSeen is the time of the latest one (UTC, millisecond precision).
	LastSeen time.Time
	// Hours are the hours of the queried range with exposures, oldest first.
	Hours []HourCount
	// Evaluations counts the server's own evaluations ever recorded
	// (OFREP, gRPC Evaluate), LastEvaluated is the flush that recorded the
	// latest, and EvaluationHours are the hours of the range with some.
	Evaluations     uint64
	LastEvaluated   time.Time
	EvaluationHours []HourCount
}

// HourCount is the exposures in one hour.
type HourCount struct {
	Hour  time.Time // the start of the hour, UTC
	Count uint64
}

// RejectedCount is the events refused with one code.
type RejectedCount struct {
	Code     string
	Count    uint64
	LastSeen time.Time
}

// HourOf is the hour t falls in, counted from the Unix epoch.
func HourOf(t time.Time) uint32 {
	h := t.Unix() / 3600
	if h < 0 {
		return 0
	}
	return uint32(h)
}
