// Package sdk is Switchyard's Go client. It evaluates feature flags locally,
// in well under a microsecond and without allocating, on the ruleset of one
// environment that the server streams over gRPC (SyncService.Sync), and it
// keeps evaluating on the last ruleset it received while the server is out
// of reach. Evaluation uses the same package as the server
// (internal/eval), so both give the same results.
//
// A Client is created with New, which returns at once: evaluations made
// before the first ruleset arrives return the caller's default value with
// the error code PROVIDER_NOT_READY. WaitReady waits for the first ruleset
// from the server. With Config.CacheFile the client writes every ruleset
// it applies to disk and starts from that file; with Config.Bootstrap it
// starts from a document and can run without a server at all.
//
// The typed getters (Bool, String, Float64, Int, JSON) return the flag's
// value or, on any problem, the default; their Detail variants say why.
// Getters never panic, never block on the network and, on a prepared
// Context, never allocate. A nil *Context is an empty context. Releases in
// progress are part of the ruleset: their audiences get the released
// variants and versions (Availability), and OnRelease reports each step.
//
// A connected client sends an exposure event for each unit's first
// evaluation of a flag and the events of Track, in batches in the
// background (Config.Events); Close flushes them. Package
// sdk/openfeature adapts a Client to OpenFeature.
package sdk
