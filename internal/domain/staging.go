package domain

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A write too large for one Change of the engine is staged: see
// bucketSegmentKeys for the records, applyStaged for the steps.

// staging collects the chunks of the long lists a staged write puts in
// fresh generations.
type staging struct {
	id     string // the staging record's element, and the generations' stem
	ops    ops    // the chunk writes
	dirs   []Path // the generations' directories
	marker Cond   // the staging record, once written
}

// stagingRecord is the value of staged/{id}: what CollectStaged deletes if
// no switch took the staging.
type stagingRecord struct {
	Dirs  []Path    `json:"dirs"`
	Since time.Time `json:"since"`
}

// newStaging returns a staging with the id of prev (a staging not
// switched to: the same lists give the same writes), or a new one.
func newStaging(prev *staging) *staging {
	if prev != nil {
		return &staging{id: prev.id}
	}
	var b [8]byte
	rand.Read(b[:])
	return &staging{id: hex.EncodeToString(b[:])}
}

// fresh returns a new generation's name for a segment of project.
func (st *staging) fresh(project Path) string {
	gen := fmt.Sprintf("%s-%04x", st.id, len(st.dirs))
	st.dirs = append(st.dirs, project.Child(bucketSegmentChunks).Child(gen))
	return gen
}

// sameAs reports whether st writes exactly what prev staged.
func (st *staging) sameAs(prev *staging) bool {
	return prev != nil && slices.EqualFunc(st.dirs, prev.dirs, slices.Equal) && slices.EqualFunc(st.ops, prev.ops, func(a, b Op) bool {
		return a.Tree == b.Tree && slices.Equal(a.Path, b.Path) && bytes.Equal(a.Value, b.Value)
	})
}

// Bounds of one staged Change: within etcd's default limits (128
// operations, 1.5 MiB); halved while the engine still refuses one.
const (
	stageOps   = 96
	stageBytes = 1 << 20
)

// applyStaged applies a plan whose Change the engine refused as too large
// (tooLarge): it writes the long lists the plan changes, every shard, to
// fresh generations in Changes of their own, each conditioned on a
// staging record written first; then one small Change, with the plan's
// preconditions and the staging record's, points the segments' records at
// the new generations, deletes the old ones and the staging record, and
// bumps the revisions. Until it applies, readers see the old lists. A plan
// with no long list to stage fails with tooLarge.
//
// If the switch is overtaken (ErrCondition: Update tries again), the
// staging is left in *kept, and the next try switches to it without
// writing it again when it stages the same lists; any other failure
// deletes what was staged (best effort: CollectStaged deletes what a
// writer that stopped leaves).
func (s *Store) applyStaged(ctx context.Context, p *plan, tooLarge error, kept **staging) (uint64, head, error) {
	prev := *kept
	*kept = nil
	st := newStaging(prev)
	change, next, err := s.change(ctx, p, st)
	switch {
	case err == nil && len(st.dirs) == 0:
		err = tooLarge
	case err == nil && st.sameAs(prev):
		st.marker, prev = prev.marker, nil
	}
	if prev != nil {
		s.unstage(ctx, prev) // before staging again under its id
	}
	if err == nil && st.marker.Path == nil {
		err = s.stage(ctx, st)
	}
	if err != nil {
		if st.marker.Path != nil {
			s.unstage(ctx, st)
		}
		return 0, head{}, err
	}
	change.Conds = append(change.Conds, st.marker)
	change.Ops = append(change.Ops, Op{Path: st.marker.Path})
	rev, err := s.apply(ctx, change)
	switch {
	case errors.Is(err, ErrCondition):
		*kept = st
		return 0, head{}, err
	case err != nil:
		s.unstage(ctx, st)
		return 0, head{}, err
	}
	return rev, next, nil
}

// stage writes the staging record (st.marker), then st's chunks in
// Changes within stageOps and stageBytes, each on the condition that the
// record is still there (CollectStaged did not take it).
func (s *Store) stage(ctx context.Context, st *staging) error {
	rec, err := json.Marshal(stagingRecord{Dirs: st.dirs, Since: s.opts.Now().UTC()})
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	marker := Cond{Path: Path{prefixStaged, st.id}, Value: rec}
	if _, err := s.apply(ctx, Change{Conds: []Cond{{Path: marker.Path}}, Ops: []Op{{Path: marker.Path, Value: marker.Value}}}); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	st.marker = marker
	conds := []Cond{marker}
	rest := st.ops
	maxOps, maxBytes := stageOps, stageBytes
	for len(rest) > 0 {
		n, size := 0, 0
		for n < len(rest) && n < maxOps && (n == 0 || size+len(rest[n].Value) <= maxBytes) {
			size += len(rest[n].Value)
			n++
		}
		_, err := s.apply(ctx, Change{Conds: conds, Ops: rest[:n]})
		if errors.Is(err, ErrTooLarge) && n > 1 {
			maxOps, maxBytes = n/2, size/2
			continue
		}
		if err != nil {
			return fmt.Errorf("stage: %w", err)
		}
		rest = rest[n:]
	}
	return nil
}

// unstage deletes a staging: its generations and its record, on the
// condition that the record is still there (a switch that applied after
// all took it, and its generations are read). Errors are dropped: what
// stays is CollectStaged's.
func (s *Store) unstage(ctx context.Context, st *staging) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.backend.Apply(ctx, dropStaging(st.marker, st.dirs))
}

// dropStaging is the Change that deletes a staging.
func dropStaging(marker Cond, dirs []Path) Change {
	c := Change{Conds: []Cond{marker}}
	for _, d := range dirs {
		c.Ops = append(c.Ops, Op{Path: d, Tree: true})
	}
	c.Ops = append(c.Ops, Op{Path: marker.Path})
	return c
}

// CollectStaged deletes the stagings older than grace that no switch took
// (their writer stopped between staging and switching, or failed to clean
// up): each staging's generations of chunks and its record, in one
// Change, on the condition that the record is unchanged. It returns how
// many it deleted. A staging younger than grace may still be switched to;
// one collected under a slow writer only makes that write fail. ctx's
// conditions (WithConds) fence it: the leader runs it.
func (s *Store) CollectStaged(ctx context.Context, grace time.Duration) (int, error) {
	var old []Cond
	var dirs [][]Path
	cutoff := s.opts.Now().Add(-grace)
	err := s.backend.Range(ctx, Path{prefixStaged}, "", 0, false, func(r Record) error {
		var rec stagingRecord
		if err := json.Unmarshal(r.Value, &rec); err != nil {
			return fmt.Errorf("staging %s: %w", r.Path, err)
		}
		if rec.Since.Before(cutoff) {
			old = append(old, Cond(r))
			dirs = append(dirs, rec.Dirs)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("collect staged lists: %w", err)
	}
	n := 0
	for i, marker := range old {
		switch _, err := s.apply(ctx, dropStaging(marker, dirs[i])); {
		case errors.Is(err, ErrCondition):
			// Switched to or collected meanwhile (or the fence failed:
			// then so will the next).
		case err != nil:
			return n, fmt.Errorf("collect staged lists: %w", err)
		default:
			n++
		}
	}
	return n, nil
}
