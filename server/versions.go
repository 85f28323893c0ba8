package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard/switchyard/internal/domain"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/model"
	"github.com/switchyard/switchyard/internal/semver"
)

// Versions are kept in the component's document entry (model.Version); the
// version API reads and changes them there, in one store transaction each,
// so the document stays the one contract. A version's state is not stored
// but derived: the marks deprecated and withdrawn, and whether targeting
// serves it.

// The states of a version.
const (
	// stateDeployed: registered, served to nobody.
	stateDeployed = "DEPLOYED"
	// stateReleased: some environment's targeting serves it.
	stateReleased = "RELEASED"
	// stateDeprecated: marked deprecated; still served where targeted.
	stateDeprecated = "DEPRECATED"
	// stateWithdrawn: marked withdrawn; never served.
	stateWithdrawn = "WITHDRAWN"
)

// versionRef is one place in a component's targeting that names a version.
type versionRef struct {
	env  string
	path string // relative to the component: "environments.production.default.version"
	live bool   // serves an audience: not a rollout entry of weight 0 or a target without keys
}

// versionRefs lists, by environment, the targeting that names version (as
// the document spells it; targeting must use the registered spelling).
func versionRefs(c *model.Component, version string) []versionRef {
	var out []versionRef
	for _, env := range slices.Sorted(maps.Keys(c.Environments)) {
		t := c.Environments[env]
		if t == nil {
			continue
		}
		p := "environments." + env
		for i, tg := range t.Targets {
			if tg.Version == version {
				out = append(out, versionRef{env: env, path: fmt.Sprintf("%s.targets[%d].version", p, i), live: len(tg.Keys) > 0})
			}
		}
		for i := range t.Rules {
			out = serveRefs(out, env, fmt.Sprintf("%s.rules[%d].serve", p, i), &t.Rules[i].Serve, version)
		}
		if t.Default != nil {
			out = serveRefs(out, env, p+".default", t.Default, version)
		}
	}
	return out
}

func serveRefs(out []versionRef, env, path string, s *model.Serve, version string) []versionRef {
	if s.Version == version {
		out = append(out, versionRef{env: env, path: path + ".version", live: true})
	}
	for i, w := range s.Rollout {
		if w.Version == version {
			out = append(out, versionRef{env: env, path: fmt.Sprintf("%s.rollout[%d].version", path, i), live: w.Weight > 0})
		}
	}
	return out
}

// versionState derives the state of c's version v and the environments
// that serve it.
func versionState(c *model.Component, v *model.Version) (string, []string) {
	var envs []string
	for _, r := range versionRefs(c, v.Version) {
		if r.live && (len(envs) == 0 || envs[len(envs)-1] != r.env) {
			envs = append(envs, r.env)
		}
	}
	switch {
	case v.Withdrawn:
		return stateWithdrawn, envs
	case v.Deprecated:
		return stateDeprecated, envs
	case len(envs) > 0:
		return stateReleased, envs
	}
	return stateDeployed, envs
}

// versionProto converts version i of component c with the component's meta.
func versionProto(c *model.Component, meta domain.Meta, i int) (*pb.ComponentVersion, error) {
	v := &c.Versions[i]
	out := &pb.ComponentVersion{Component: c.Key, Version: &pb.Version{}, Etag: meta.Etag}
	if err := toProto(v, out.Version); err != nil {
		return nil, err
	}
	out.State, out.Environments = versionState(c, v)
	if !meta.UpdateTime.IsZero() {
		out.UpdateTime = timestamppb.New(meta.UpdateTime)
	}
	return out, nil
}

// parseVersion parses a version named in a request field.
func parseVersion(field, s string) (semver.Version, error) {
	if s == "" {
		return semver.Version{}, invalidField(field, "is required")
	}
	v, ok := semver.Parse(s)
	if !ok {
		return semver.Version{}, invalidField(field, "not a semantic version: %q", s)
	}
	return v, nil
}

// findVersion returns the index of c's version with v's precedence (build
// metadata ignored); versions are unique by it.
func findVersion(c *model.Component, v semver.Version) (int, bool) {
	for i := range c.Versions {
		if w, ok := semver.Parse(c.Versions[i].Version); ok && semver.Compare(w, v) == 0 {
			return i, true
		}
	}
	return 0, false
}

// componentIn returns a component of a project's state (nil: the project
// does not exist), or NotFound.
func componentIn(ps *domain.ProjectState, project, key string) (*model.Component, domain.Meta, error) {
	if ps == nil {
		return nil, domain.Meta{}, notFound("project %q", project)
	}
	c, meta, ok := ps.Component(key)
	if !ok {
		return nil, domain.Meta{}, notFound("component %s/%s", project, key)
	}
	return c, meta, nil
}

// versionAfter reads a version from the state a commit published.
func versionAfter(st *domain.State, project, key string, v semver.Version) (*pb.ComponentVersion, error) {
	ps, _ := st.Project(project)
	c, meta, err := componentIn(ps, project, key)
	if err != nil {
		return nil, err
	}
	i, ok := findVersion(c, v)
	if !ok {
		return nil, notFound("version %s/%s/%s", project, key, v)
	}
	return versionProto(c, meta, i)
}

// RegisterVersion appends a version to a component.
func (s *componentService) RegisterVersion(ctx context.Context, req *pb.RegisterVersionRequest) (*pb.ComponentVersion, error) {
	if req.GetVersion() == nil {
		return nil, invalidField("version", "is required")
	}
	sv, err := parseVersion("version.version", req.GetVersion().GetVersion())
	if err != nil {
		return nil, err
	}
	var mv model.Version
	if err := fromProto(req.GetVersion(), &mv); err != nil {
		return nil, invalidField("version", "%v", err)
	}
	project, key := req.GetProject(), req.GetComponent()
	ps, err := s.projectState(project)
	if err != nil {
		return nil, err
	}
	at := 0
	c, err := s.update(ctx, overriding(project, req, func(tx *domain.Tx) error {
		tps, _ := tx.Project(project)
		cur, _, err := componentIn(tps, project, key)
		if err != nil {
			return err
		}
		if i, dup := findVersion(cur, sv); dup {
			return fmt.Errorf("version %q of component %s/%s has the precedence of registered version %q: %w",
				mv.Version, project, key, cur.Versions[i].Version, domain.ErrAlreadyExists)
		}
		next := *cur
		next.Versions = append(slices.Clip(cur.Versions), mv)
		at = len(cur.Versions)
		return tx.UpdateComponent(project, &next, "")
	}))
	if err != nil {
		return nil, rebase(err, fmt.Sprintf("%s.versions[%d]", components.path(ps, key), at), "version")
	}
	return versionAfter(c.State, project, key, sv)
}

// ListVersions lists a component's versions in document order.
func (s *componentService) ListVersions(_ context.Context, req *pb.ListVersionsRequest) (*pb.ListVersionsResponse, error) {
	ps, err := s.projectState(req.GetProject())
	if err != nil {
		return nil, err
	}
	c, meta, err := componentIn(ps, req.GetProject(), req.GetComponent())
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(c.Versions))
	for i := range idx {
		idx[i] = i
	}
	items, next, err := page(idx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &pb.ListVersionsResponse{Versions: make([]*pb.ComponentVersion, 0, len(items)), NextPageToken: next}
	for _, i := range items {
		v, err := versionProto(c, meta, i)
		if err != nil {
			return nil, err
		}
		resp.Versions = append(resp.Versions, v)
	}
	return resp, nil
}

// GetVersion returns one version, found by precedence.
func (s *componentService) GetVersion(_ context.Context, req *pb.GetVersionRequest) (*pb.ComponentVersion, error) {
	if _, err := s.projectState(req.GetProject()); err != nil {
		return nil, err
	}
	sv, err := parseVersion("version", req.GetVersion())
	if err != nil {
		return nil, err
	}
	return versionAfter(s.store.State(), req.GetProject(), req.GetComponent(), sv)
}

// UpdateVersion changes a version's fields and marks. The version string
// is the version's identity and is kept as registered.
func (s *componentService) UpdateVersion(ctx context.Context, req *pb.UpdateVersionRequest) (*pb.ComponentVersion, error) {
	if req.GetVersion() == nil {
		return nil, invalidField("version", "is required")
	}
	sv, err := parseVersion("version.version", req.GetVersion().GetVersion())
	if err != nil {
		return nil, err
	}
	project, key := req.GetProject(), req.GetComponent()
	ps, err := s.projectState(project)
	if err != nil {
		return nil, err
	}
	at := 0
	c, err := s.update(ctx, overriding(project, req, func(tx *domain.Tx) error {
		tps, _ := tx.Project(project)
		cur, _, err := componentIn(tps, project, key)
		if err != nil {
			return err
		}
		i, ok := findVersion(cur, sv)
		if !ok {
			return notFound("version %s/%s/%s", project, key, req.GetVersion().GetVersion())
		}
		at = i
		old := cur.Versions[i]
		merged := &pb.Version{}
		if err := toProto(&old, merged); err != nil {
			return err
		}
		if err := applyMask(merged, req.GetVersion(), req.GetUpdateMask()); err != nil {
			return err
		}
		merged.Version = old.Version
		var nv model.Version
		if err := fromProto(merged, &nv); err != nil {
			return invalidField("version", "%v", err)
		}
		if err := checkTransition(cur, &old, &nv, components.path(tps, key)); err != nil {
			return fmt.Errorf("version %q of component %s/%s: %w", old.Version, project, key, err)
		}
		next := *cur
		next.Versions = slices.Clone(cur.Versions)
		next.Versions[i] = nv
		return tx.UpdateComponent(project, &next, req.GetEtag())
	}))
	if err != nil {
		return nil, rebase(err, fmt.Sprintf("%s.versions[%d]", components.path(ps, key), at), "version")
	}
	return versionAfter(c.State, project, key, sv)
}

// checkTransition refuses the state changes the version lifecycle does not
// allow: restoring a withdrawn version, and withdrawing a version that
// targeting still names (prefix is the component's document path).
func checkTransition(c *model.Component, old, next *model.Version, prefix string) error {
	switch {
	case old.Withdrawn && !next.Withdrawn:
		return fmt.Errorf("is withdrawn and cannot be restored (register a new version instead): %w", errFailedPrecondition)
	case next.Withdrawn && !old.Withdrawn:
		refs := versionRefs(c, old.Version)
		if len(refs) == 0 {
			return nil
		}
		paths := make([]string, len(refs))
		for i, r := range refs {
			paths[i] = prefix + "." + r.path
		}
		return fmt.Errorf("cannot be withdrawn while targeting serves it at %s (change that targeting first): %w",
			strings.Join(paths, ", "), errFailedPrecondition)
	}
	return nil
}
