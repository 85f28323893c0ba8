package server

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// Bounds of ListStaleFlags.days.
const (
	defaultStaleDays = 30
	maxStaleDays     = 3650
)

// staleDays checks ListStaleFlagsRequest.days or ListFlagsRequest.stale_days
// (field names it) and returns the days it means: 0 is def.
func staleDays(field string, days, def int32) (int32, error) {
	switch {
	case days < 0 || days > maxStaleDays:
		return 0, invalidField(field, "%d is not in [0, %d]", days, maxStaleDays)
	case days == 0:
		return def, nil
	}
	return days, nil
}

// flagUse is when flag key was last used in each environment of ps, from
// seen (Store.LastSeen), and the latest of them (zero: never).
func flagUse(ps *domain.ProjectState, seen map[string]map[string]time.Time, key string) (*pb.StaleFlag, time.Time) {
	var last time.Time
	sf := &pb.StaleFlag{Flag: key}
	for _, env := range ps.Environments() {
		t := seen[env.Key][key]
		sf.Environments = append(sf.Environments, &pb.StaleFlagEnvironment{Environment: env.Key, LastSeen: optionalTime(t)})
		if t.After(last) {
			last = t
		}
	}
	sf.LastSeen, sf.Never = optionalTime(last), last.IsZero()
	return sf, last
}

// ListStaleFlags reports the project's flags that no SDK exposed and the
// server did not evaluate in any environment within the last days (or
// ever), with each environment's last use, from the usage store.
func (s *flagService) ListStaleFlags(ctx context.Context, req *pb.ListStaleFlagsRequest) (*pb.ListStaleFlagsResponse, error) {
	days, err := staleDays("days", req.GetDays(), defaultStaleDays)
	if err != nil {
		return nil, err
	}
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	seen, err := s.events.LastSeen(ctx, req.GetProject())
	if err != nil {
		return nil, err
	}
	cutoff := s.store.Now().Add(-time.Duration(days) * 24 * time.Hour)
	resp := &pb.ListStaleFlagsResponse{Days: days, Cutoff: timestamppb.New(cutoff)}
	for _, f := range ps.Document().Flags {
		sf, last := flagUse(ps, seen, f.Key)
		if !last.IsZero() && !last.Before(cutoff) {
			continue
		}
		if _, meta, ok := ps.Flag(f.Key); ok {
			sf.CreateTime = optionalTime(meta.CreateTime)
		}
		resp.Flags = append(resp.Flags, sf)
	}
	slices.SortFunc(resp.Flags, func(a, b *pb.StaleFlag) int { return strings.Compare(a.GetFlag(), b.GetFlag()) })
	return resp, nil
}
