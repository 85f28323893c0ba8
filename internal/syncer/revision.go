package syncer

import (
	"sync"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/section"
)

// Revision is one environment's sections at one revision, encoded once and
// shared by every stream of the environment. It is immutable; the messages
// it hands out are shared too and must not be modified (gRPC may marshal
// one message on many streams at once).
type Revision struct {
	Project     string
	Environment string
	Number      uint64

	manifest []*pb.SectionRef
	sections []*pb.Section // sections[i] is the payload of manifest[i]
	index    map[section.Hash]int

	mu     sync.Mutex
	full   *pb.SyncResponse // every section
	bare   *pb.SyncResponse // the manifest alone
	deltas []delta          // most recent first, at most maxDeltas
}

// delta is the message that brings a stream from one revision to another.
type delta struct {
	from *Revision
	msg  *pb.SyncResponse
}

// maxDeltas bounds the messages a revision keeps for streams coming from
// older revisions; nearly every stream comes from the one before.
const maxDeltas = 4

// newRevision builds a revision from its sections in manifest order.
func newRevision(project, env string, number uint64, sections []*pb.Section) *Revision {
	r := &Revision{
		Project:     project,
		Environment: env,
		Number:      number,
		manifest:    make([]*pb.SectionRef, len(sections)),
		sections:    sections,
		index:       make(map[section.Hash]int, len(sections)),
	}
	for i, s := range sections {
		r.manifest[i] = s.GetRef()
		if h, ok := section.HashFromBytes(s.GetRef().GetHash()); ok {
			r.index[h] = i
		}
	}
	return r
}

// Sections returns the number of sections in the revision.
func (r *Revision) Sections() int { return len(r.manifest) }

// Has reports whether the revision holds a section with hash h.
func (r *Revision) Has(h section.Hash) bool {
	_, ok := r.index[h]
	return ok
}

// message builds a Ruleset message carrying the manifest and the sections
// for which send returns true.
func (r *Revision) message(send func(i int) bool) *pb.SyncResponse {
	rs := &pb.Ruleset{Project: r.Project, Environment: r.Environment, Revision: r.Number, Manifest: r.manifest}
	for i, s := range r.sections {
		if send(i) {
			rs.Sections = append(rs.Sections, s)
		}
	}
	return &pb.SyncResponse{Message: &pb.SyncResponse_Ruleset{Ruleset: rs}}
}

// MessageFrom returns the message for a stream whose SDK holds exactly the
// sections of from (nil: none): the manifest and the sections from lacks.
// Messages are built once per pair of revisions and shared.
func (r *Revision) MessageFrom(from *Revision) *pb.SyncResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case from == nil:
		if r.full == nil {
			r.full = r.message(func(int) bool { return true })
		}
		return r.full
	case from == r:
		if r.bare == nil {
			r.bare = r.message(func(int) bool { return false })
		}
		return r.bare
	}
	for _, d := range r.deltas {
		if d.from == from {
			return d.msg
		}
	}
	msg := r.message(func(i int) bool {
		h, _ := section.HashFromBytes(r.manifest[i].GetHash())
		return !from.Has(h)
	})
	if len(r.deltas) == maxDeltas {
		r.deltas = r.deltas[:maxDeltas-1]
	}
	r.deltas = append([]delta{{from: from, msg: msg}}, r.deltas...)
	return msg
}

// MessageHolding returns the message for an SDK that holds the sections
// whose hashes are in held (from its Hello): the manifest and the sections
// it lacks. It is built for this one stream.
func (r *Revision) MessageHolding(held map[section.Hash]struct{}) *pb.SyncResponse {
	if len(held) == 0 {
		return r.MessageFrom(nil)
	}
	return r.message(func(i int) bool {
		h, _ := section.HashFromBytes(r.manifest[i].GetHash())
		_, ok := held[h]
		return !ok
	})
}
