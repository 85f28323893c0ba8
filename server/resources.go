package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
)

// kind describes one kind of project resource kept in the document —
// segments, flags, components — so that their CRUD handlers are written
// once. M is the model type, P the proto message.
type kind[M any, P proto.Message] struct {
	field      string // request field and audit noun: "segment"
	collection string // document path: "segments"
	items      func(*model.Document) []M
	keyOf      func(M) string
	get        func(*domain.ProjectState, string) (M, domain.Meta, bool)
	create     func(tx *domain.Tx, project string, m M) error
	update     func(tx *domain.Tx, project string, m M, etag string) error
	remove     func(tx *domain.Tx, project, key, etag string) error
	newProto   func() P
	newModel   func() M
	// targeting and setTargeting read and write an item's targeting in one
	// environment; nil for segments, which have none.
	targeting    func(ps *domain.ProjectState, key, env string) (*model.Targeting, domain.Meta, bool)
	setTargeting func(tx *domain.Tx, project, key, env string, t *model.Targeting, etag string) error

	// outside, if set, lists the items of a kind kept beside the document
	// (release models) instead of items; their validation errors have
	// paths relative to the item, put under field.
	outside func(*domain.ProjectState) []M

	// view, if set, is what answers show of a stored item, and annotate
	// fills the answer's output-only fields from the stored item.
	view     func(M) M
	annotate func(*domain.ProjectState, M, P)
	// keep, if set, returns the item an update stores: next, with what the
	// answers do not show of stored kept unless mask names it.
	keep func(stored, next M, mask *fieldmaskpb.FieldMask) M
}

// toProto converts a stored resource with its meta.
func (k kind[M, P]) toProto(ps *domain.ProjectState, m M, meta domain.Meta) (P, error) {
	out := k.newProto()
	shown := m
	if k.view != nil {
		shown = k.view(m)
	}
	if err := toProto(shown, out); err != nil {
		return out, err
	}
	setMeta(out, meta)
	if k.annotate != nil {
		k.annotate(ps, m, out)
	}
	return out, nil
}

// fromProto converts a request's resource.
func (k kind[M, P]) fromProto(p P) (M, error) {
	m := k.newModel()
	if err := fromProto(p, m); err != nil {
		return m, invalidField(k.field, "%v", err)
	}
	return m, nil
}

func (k kind[M, P]) list(s *Server, project string, size int32, token string) ([]P, string, error) {
	return k.listWhere(s, project, size, token, nil)
}

// listWhere is list of the items keep accepts (all when keep is nil);
// only the page's items are converted.
func (k kind[M, P]) listWhere(s *Server, project string, size int32, token string, keep func(M) bool) ([]P, string, error) {
	ps, err := s.projectState(project)
	if err != nil {
		return nil, "", err
	}
	all := k.itemsOf(ps)
	if keep != nil {
		var kept []M
		for _, m := range all {
			if keep(m) {
				kept = append(kept, m)
			}
		}
		all = kept
	}
	items, next, err := page(all, size, token)
	if err != nil {
		return nil, "", err
	}
	out := make([]P, 0, len(items))
	for _, m := range items {
		_, meta, _ := k.get(ps, k.keyOf(m))
		p, err := k.toProto(ps, m, meta)
		if err != nil {
			return nil, "", err
		}
		out = append(out, p)
	}
	return out, next, nil
}

func (k kind[M, P]) read(s *Server, project, key string) (P, error) {
	ps, err := s.projectState(project)
	if err != nil {
		var zero P
		return zero, err
	}
	m, meta, ok := k.get(ps, key)
	if !ok {
		var zero P
		return zero, notFound("%s %s/%s", k.field, project, key)
	}
	return k.toProto(ps, m, meta)
}

// after reads a resource from the state a commit published.
func (k kind[M, P]) after(c *domain.Commit, project, key string) (P, error) {
	ps, ok := c.State.Project(project)
	if !ok {
		var zero P
		return zero, notFound("project %q", project)
	}
	m, meta, ok := k.get(ps, key)
	if !ok {
		var zero P
		return zero, notFound("%s %s/%s", k.field, project, key)
	}
	return k.toProto(ps, m, meta)
}

func (k kind[M, P]) createFrom(ctx context.Context, s *Server, project string, p P) (P, error) {
	var zero P
	if !p.ProtoReflect().IsValid() {
		return zero, invalidField(k.field, "is required")
	}
	ps, err := s.projectState(project)
	if err != nil {
		return zero, err
	}
	m, err := k.fromProto(p)
	if err != nil {
		return zero, err
	}
	if err := checkKey(k.field+".key", k.keyOf(m)); err != nil {
		return zero, err
	}
	prefix := k.path(ps, k.keyOf(m))
	c, err := s.update(ctx, func(tx *domain.Tx) error { return k.create(tx, project, m) })
	if err != nil {
		return zero, rebase(err, prefix, k.field)
	}
	return k.after(c, project, k.keyOf(m))
}

func (k kind[M, P]) updateFrom(ctx context.Context, s *Server, project string, p P, mask *fieldmaskpb.FieldMask, etag string, o releaseOverride) (P, error) {
	var zero P
	if !p.ProtoReflect().IsValid() {
		return zero, invalidField(k.field, "is required")
	}
	key := p.ProtoReflect().Get(p.ProtoReflect().Descriptor().Fields().ByName("key")).String()
	cur, err := k.read(s, project, key)
	if err != nil {
		return zero, err
	}
	if err := applyMask(cur, p, mask); err != nil {
		return zero, err
	}
	m, err := k.fromProto(cur)
	if err != nil {
		return zero, err
	}
	ps, _ := s.projectState(project)
	if stored, _, ok := k.get(ps, key); ok && k.keep != nil {
		m = k.keep(stored, m, mask)
	}
	c, err := s.update(ctx, overriding(project, o, func(tx *domain.Tx) error { return k.update(tx, project, m, etag) }))
	if err != nil {
		return zero, rebase(err, k.path(ps, key), k.field)
	}
	return k.after(c, project, key)
}

// itemsOf lists the kind's items in ps.
func (k kind[M, P]) itemsOf(ps *domain.ProjectState) []M {
	if k.outside != nil {
		return k.outside(ps)
	}
	return k.items(ps.Document())
}

// path is the document path of the item key ("flags[3]"); an item not in
// the project gets the path it would have if appended. Items kept beside
// the document have none ("").
func (k kind[M, P]) path(ps *domain.ProjectState, key string) string {
	if k.outside != nil {
		return ""
	}
	items := k.items(ps.Document())
	at := len(items)
	for i, it := range items {
		if k.keyOf(it) == key {
			at = i
			break
		}
	}
	return fmt.Sprintf("%s[%d]", k.collection, at)
}

func (k kind[M, P]) delete(ctx context.Context, s *Server, project, key, etag string, o releaseOverride) error {
	_, err := s.update(ctx, overriding(project, o, func(tx *domain.Tx) error { return k.remove(tx, project, key, etag) }))
	return err
}

// targetingView is one item's targeting in one environment: what
// FlagTargeting and ComponentTargeting share.
type targetingView struct {
	targeting  *pb.Targeting
	etag       string
	revision   uint64
	updateTime *timestamppb.Timestamp
}

// readTargeting reads an item's targeting in one environment from a state.
// An item without targeting there has an empty one and no etag.
func (k kind[M, P]) readTargeting(st *domain.State, project, key, env string) (targetingView, error) {
	ps, ok := st.Project(project)
	if !ok {
		return targetingView{}, notFound("project %q", project)
	}
	e, ok := ps.Environment(env)
	if !ok {
		return targetingView{}, notFound("environment %s/%s", project, env)
	}
	if _, _, ok := k.get(ps, key); !ok {
		return targetingView{}, notFound("%s %s/%s", k.field, project, key)
	}
	out := targetingView{targeting: &pb.Targeting{}, revision: e.Revision}
	if t, meta, ok := k.targeting(ps, key, env); ok {
		if err := toProto(t, out.targeting); err != nil {
			return targetingView{}, err
		}
		out.etag = meta.Etag
		if !meta.UpdateTime.IsZero() {
			out.updateTime = timestamppb.New(meta.UpdateTime)
		}
	}
	return out, nil
}

// updateTargeting applies the fields of t that mask names (all when empty)
// to an item's targeting in one environment. A non-empty etag must be the
// targeting's current etag.
func (k kind[M, P]) updateTargeting(ctx context.Context, s *Server, project, key, env string, t *pb.Targeting, mask *fieldmaskpb.FieldMask, etag string, o releaseOverride) (targetingView, error) {
	cur, err := k.readTargeting(s.store.State(), project, key, env)
	if err != nil {
		return targetingView{}, err
	}
	if t == nil {
		return targetingView{}, invalidField("targeting", "is required")
	}
	next := cur.targeting
	if err := applyMask(next, t, mask); err != nil {
		return targetingView{}, err
	}
	var mt model.Targeting
	if err := fromProto(next, &mt); err != nil {
		return targetingView{}, invalidField("targeting", "%v", err)
	}
	ps, err := s.projectState(project)
	if err != nil {
		return targetingView{}, err
	}
	c, err := s.update(ctx, overriding(project, o, func(tx *domain.Tx) error {
		return k.setTargeting(tx, project, key, env, &mt, etag)
	}))
	if err != nil {
		return targetingView{}, rebase(err, k.path(ps, key)+".environments."+env, "targeting")
	}
	return k.readTargeting(c.State, project, key, env)
}

// checkKey refuses a new resource's name unless it is a key
// (model.KeyPattern), naming the request field path it came in.
func checkKey(path, key string) error {
	switch {
	case key == "":
		return invalidField(path, "is required")
	case !model.ValidKey(key):
		return invalidField(path, "invalid key %q: must match %s", key, model.KeyPattern)
	}
	return nil
}

// releaseOverride is a request's override of an active release's hold on
// the items it changes (override_release, override_reason; see
// domain.HeldError).
type releaseOverride interface {
	GetOverrideRelease() string
	GetOverrideReason() string
}

// overriding returns fn preceded by o's override, if o is not nil.
func overriding(project string, o releaseOverride, fn func(*domain.Tx) error) func(*domain.Tx) error {
	if o == nil {
		return fn
	}
	return func(tx *domain.Tx) error {
		tx.OverrideRelease(project, o.GetOverrideRelease(), o.GetOverrideReason())
		return fn(tx)
	}
}

// rebase rewrites the document paths of validation errors under prefix
// (flags[3]) to the request field (flag), so a client sees where in its
// request a problem is. An empty prefix puts every path under field.
func rebase(err error, prefix, field string) error {
	var fes model.Errors
	if !errors.As(err, &fes) {
		return err
	}
	out := make(model.Errors, len(fes))
	for i, fe := range fes {
		path := fe.Path
		switch rest, ok := strings.CutPrefix(path, prefix); {
		case prefix == "" && path == "":
			path = field
		case prefix == "":
			path = field + "." + path
		case ok && (rest == "" || rest[0] == '.' || rest[0] == '['):
			path = field + rest
		}
		out[i] = &model.FieldError{Path: path, Message: fe.Message}
	}
	return out
}
