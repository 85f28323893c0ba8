package server

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// Bounds of ListStaleFlags.days.
const (
	defaultStaleDays = 30
	maxStaleDays     = 3650
)

// ListStaleFlags reports the project's flags that no SDK exposed and the
// server did not evaluate in any environment within the last days (or
// ever), with each environment's last use, from the usage store.
func (s *flagService) ListStaleFlags(ctx context.Context, req *pb.ListStaleFlagsRequest) (*pb.ListStaleFlagsResponse, error) {
	days := req.GetDays()
	switch {
	case days < 0 || days > maxStaleDays:
		return nil, invalidField("days", "%d is not in [0, %d]", days, maxStaleDays)
	case days == 0:
		days = defaultStaleDays
	}
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	seen, err := s.store.LastSeen(ctx, req.GetProject())
	if err != nil {
		return nil, err
	}
	cutoff := s.store.Now().Add(-time.Duration(days) * 24 * time.Hour)
	resp := &pb.ListStaleFlagsResponse{Days: days, Cutoff: timestamppb.New(cutoff)}
	for _, f := range ps.Document().Flags {
		var last time.Time
		sf := &pb.StaleFlag{Flag: f.Key}
		for _, env := range ps.Environments() {
			t := seen[env.Key][f.Key]
			sf.Environments = append(sf.Environments, &pb.StaleFlagEnvironment{Environment: env.Key, LastSeen: optionalTime(t)})
			if t.After(last) {
				last = t
			}
		}
		if !last.IsZero() && !last.Before(cutoff) {
			continue
		}
		sf.LastSeen, sf.Never = optionalTime(last), last.IsZero()
		if _, meta, ok := ps.Flag(f.Key); ok {
			sf.CreateTime = optionalTime(meta.CreateTime)
		}
		resp.Flags = append(resp.Flags, sf)
	}
	slices.SortFunc(resp.Flags, func(a, b *pb.StaleFlag) int { return strings.Compare(a.GetFlag(), b.GetFlag()) })
	return resp, nil
}
