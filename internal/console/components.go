package console

import (
	"net/http"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// componentsPage lists a project's components.
type componentsPage struct {
	Layout
	Components []componentRow
}

type componentRow struct {
	Key, Description, MinSupported, Latest string
	Versions                               int
}

func (c *Console) componentList(w http.ResponseWriter, r *http.Request, s *Session) {
	p := &componentsPage{Layout: c.layout(r, s, "Components", "components")}
	token := ""
	for {
		resp, err := c.api.components.ListComponents(call(r, s), &pb.ListComponentsRequest{Project: p.Project, PageSize: 1000, PageToken: token})
		if err != nil {
			c.apiFail(w, r, s, err)
			return
		}
		for _, cp := range resp.GetComponents() {
			row := componentRow{Key: cp.GetKey(), Description: cp.GetDescription(), MinSupported: cp.GetMinSupported(), Versions: len(cp.GetVersions())}
			if n := len(cp.GetVersions()); n > 0 {
				row.Latest = cp.GetVersions()[n-1].GetVersion()
			}
			p.Components = append(p.Components, row)
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	c.render(w, http.StatusOK, "components", p)
}

// componentPage is one component: its versions with their state, the
// register and withdraw actions and the availability simulator.
type componentPage struct {
	Layout
	Key, Description, MinSupported string
	Etag                           string
	Versions                       []versionRow
	// Register is the register form, with errors after a refused post.
	Register registerForm
	// Sim is the simulator's input and, once run, its answer.
	Sim simForm
}

type versionRow struct {
	Version, Notes, Artifact, State string
	Environments                    []string
	Required, Withdrawn, Deprecated bool
}

type registerForm struct {
	Version, Notes, Artifact field
	Required                 bool
	Errors                   []fieldError
}

type simForm struct {
	Environment    string
	CurrentVersion field
	TargetingKey   string
	Attributes     field
	// Answer is the availability once simulated.
	Answer *simAnswer
}

type simAnswer struct {
	Version, Reason, Rule, Update, Error string
	Revision                             uint64
	Notes                                []versionNote
}

type versionNote struct{ Version, Notes string }

func (c *Console) componentPage(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadComponent(r, s, r.PathValue("key"))
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Sim.Attributes.Value = "{}"
	c.render(w, http.StatusOK, "component", p)
}

func (c *Console) loadComponent(r *http.Request, s *Session, key string) (*componentPage, error) {
	p := &componentPage{Layout: c.layout(r, s, key, "components")}
	p.Sim.Environment = p.Environment
	p.Register.Version.Name, p.Register.Notes.Name, p.Register.Artifact.Name = "version", "notes", "artifact"
	p.Sim.CurrentVersion.Name, p.Sim.Attributes.Name = "current_version", "attributes"
	ctx := call(r, s)
	cp, err := c.api.components.GetComponent(ctx, &pb.GetComponentRequest{Project: p.Project, Key: key})
	if err != nil {
		return nil, err
	}
	p.Key, p.Description, p.MinSupported, p.Etag = cp.GetKey(), cp.GetDescription(), cp.GetMinSupported(), cp.GetEtag()
	token := ""
	for {
		resp, err := c.api.components.ListVersions(ctx, &pb.ListVersionsRequest{Project: p.Project, Component: key, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, v := range resp.GetVersions() {
			ver := v.GetVersion()
			p.Versions = append(p.Versions, versionRow{
				Version: ver.GetVersion(), Notes: ver.GetNotes(), Artifact: ver.GetArtifact(), State: v.GetState(),
				Environments: v.GetEnvironments(), Required: ver.GetRequired(), Withdrawn: ver.GetWithdrawn(), Deprecated: ver.GetDeprecated(),
			})
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return p, nil
}

// registerVersion registers a deployed version (deployed is not released:
// no environment serves it until targeting does).
func (c *Console) registerVersion(w http.ResponseWriter, r *http.Request, s *Session) {
	key := r.PathValue("key")
	p, err := c.loadComponent(r, s, key)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Sim.Attributes.Value = "{}"
	f := &p.Register
	f.Version.Value = strings.TrimSpace(r.PostFormValue("version"))
	f.Notes.Value = strings.TrimSpace(r.PostFormValue("notes"))
	f.Artifact.Value = strings.TrimSpace(r.PostFormValue("artifact"))
	f.Required = r.PostFormValue("required") == "true"
	_, err = c.api.components.RegisterVersion(call(r, s), &pb.RegisterVersionRequest{
		Project: p.Project, Component: key,
		Version: &pb.Version{Version: f.Version.Value, Notes: f.Notes.Value, Artifact: f.Artifact.Value, Required: f.Required},
	})
	if err == nil {
		c.sessions.notify(s, "Registered version "+f.Version.Value+" of "+key+" (deployed; not served until targeting releases it).")
		http.Redirect(w, r, "/components/"+key, http.StatusSeeOther)
		return
	}
	e := errorOf(err)
	if e.Status != http.StatusBadRequest && e.Status != http.StatusConflict {
		c.apiFail(w, r, s, err)
		return
	}
	p.Error = e.Headline()
	for _, fe := range e.Fields {
		switch rest := strings.TrimPrefix(fe.Path, "version."); {
		case strings.HasPrefix(rest, "notes"):
			f.Notes.Err = fe.Description
		case strings.HasPrefix(rest, "artifact"):
			f.Artifact.Err = fe.Description
		case strings.HasPrefix(fe.Path, "version"):
			f.Version.Err = fe.Description
		default:
			f.Errors = append(f.Errors, fe)
		}
	}
	if e.Status == http.StatusConflict {
		f.Version.Err = e.Message
	}
	c.render(w, e.Status, "component", p)
}

// withdrawVersion marks a version withdrawn: never served again, and
// clients on it must update. The server refuses while targeting serves it.
func (c *Console) withdrawVersion(w http.ResponseWriter, r *http.Request, s *Session) {
	key, version := r.PathValue("key"), r.PathValue("version")
	project, _ := c.sessions.choice(s)
	if v := r.PostFormValue("project"); v != "" {
		project = v
	}
	_, err := c.api.components.UpdateVersion(call(r, s), &pb.UpdateVersionRequest{
		Project: project, Component: key, Etag: r.PostFormValue("etag"),
		Version:    &pb.Version{Version: version, Withdrawn: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"withdrawn"}},
	})
	if err != nil {
		e := errorOf(err)
		if e.Status >= 500 || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
			c.apiFail(w, r, s, err)
			return
		}
		c.sessions.flash(s, "Version "+version+" was not withdrawn: "+e.Headline())
	} else {
		c.sessions.notify(s, "Withdrew version "+version+" of "+key+": it is never served again, and clients on it must update.")
	}
	http.Redirect(w, r, "/components/"+key, http.StatusSeeOther)
}

// simulate asks the availability service which version a client gets and
// whether the update is NONE, OPTIONAL or REQUIRED.
func (c *Console) simulate(w http.ResponseWriter, r *http.Request, s *Session) {
	key := r.PathValue("key")
	p, err := c.loadComponent(r, s, key)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	sim := &p.Sim
	if env := r.PostFormValue("environment"); env != "" {
		sim.Environment = env
	}
	sim.CurrentVersion.Value = strings.TrimSpace(r.PostFormValue("current_version"))
	sim.TargetingKey = strings.TrimSpace(r.PostFormValue("targetingKey"))
	sim.Attributes.Value = r.PostFormValue("attributes")
	ctx, err := buildContext(sim.TargetingKey, sim.Attributes.Value)
	if err != nil {
		sim.Attributes.Err = err.Error()
		c.render(w, http.StatusBadRequest, "component", p)
		return
	}
	a, err := c.api.avail.GetAvailability(call(r, s), &sdkpb.GetAvailabilityRequest{
		Project: p.Project, Environment: sim.Environment, Component: key, Context: ctx, CurrentVersion: sim.CurrentVersion.Value,
	})
	if err != nil {
		e := errorOf(err)
		if e.Status != http.StatusBadRequest {
			c.apiFail(w, r, s, err)
			return
		}
		p.Error = e.Headline()
		c.render(w, http.StatusBadRequest, "component", p)
		return
	}
	ans := &simAnswer{Version: a.GetVersion(), Reason: a.GetReason(), Rule: a.GetRule(), Update: a.GetUpdate(), Revision: a.GetRevision()}
	if a.GetErrorCode() != "" {
		ans.Error = a.GetErrorCode() + ": " + a.GetErrorMessage()
		if a.GetErrorCode() == "INVALID_CONTEXT" {
			sim.CurrentVersion.Err = a.GetErrorMessage()
		}
	}
	for _, n := range a.GetNotes() {
		ans.Notes = append(ans.Notes, versionNote{Version: n.GetVersion(), Notes: n.GetNotes()})
	}
	sim.Answer = ans
	c.render(w, http.StatusOK, "component", p)
}
