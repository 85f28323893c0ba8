package relay

import sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"

// Report is what the follower's upstream stream reports of the SDK streams
// the relay serves for the environment, those behind its own relays
// included (the SDK client sends it when it changes); nil before the
// environment has a revision.
func (f *follower) Report() *sdkpb.RelayReport {
	r, err := f.r.hub.Report(f.project, f.env)
	if err != nil {
		return nil
	}
	return r
}
