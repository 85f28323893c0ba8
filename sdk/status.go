package sdk

// Status is the state of a client's ruleset.
type Status string

// The states of a client.
const (
	// StatusNotReady: the client has no ruleset yet; getters return the
	// default with PROVIDER_NOT_READY.
	StatusNotReady Status = "NOT_READY"
	// StatusReady: the client is connected and holds the server's current
	// ruleset.
	StatusReady Status = "READY"
	// StatusStale: the client is not connected (or not yet) and evaluates
	// on the last ruleset it had: from the server, the cache file or the
	// bootstrap document. It keeps reconnecting.
	StatusStale Status = "STALE"
	// StatusError: the server refused the SDK key (unknown, revoked, or
	// not a server SDK key). The client keeps evaluating on what it has,
	// and retries only every Backoff.AfterAuthError. Err returns the
	// server's message.
	StatusError Status = "ERROR"
)

// statusInfo is a status and the error behind it.
type statusInfo struct {
	status Status
	err    error
}
