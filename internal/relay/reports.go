package relay

import sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"

// Report is what the follower's upstream stream reports of the SDK streams
// the relay serves for the environment, those behind its own relays
// included, nil before the environment has a revision; changed is closed
// when that changes (the SDK client sends a report then, not before).
func (f *follower) Report() (report *sdkpb.RelayReport, changed <-chan struct{}) {
	r, changed, err := f.r.hub.Report(f.project, f.env)
	if err != nil {
		return nil, changed
	}
	return r, changed
}
