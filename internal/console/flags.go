package console

import (
	"net/http"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// flagsPage is the flag list of one project.
type flagsPage struct {
	Layout
	Query string
	Type  string
	Types []string
	// Envs are the project's environments, one switch column each.
	Envs  []string
	Flags []flagRow
	Total int
}

type flagRow struct {
	Key         string
	Description string
	Type        string
	Variants    int
	Cells       []flagCell
}

// flagCell is a flag's switch in one environment.
type flagCell struct {
	Env     string
	Enabled bool
	// Configured is false when the flag has no targeting there (disabled).
	Configured bool
}

var flagTypes = []string{"bool", "string", "number", "json"}

// flagList lists the current project's flags, filtered by a search text
// (key or description) and a type, with an on/off switch per environment.
func (c *Console) flagList(w http.ResponseWriter, r *http.Request, s *Session) {
	p := &flagsPage{Layout: c.layout(r, s, "Flags", "flags"), Types: flagTypes}
	q := r.URL.Query()
	p.Query, p.Type = strings.TrimSpace(q.Get("q")), q.Get("type")
	p.Envs = p.Environments
	status := http.StatusOK
	flags, err := c.allFlags(r, s, p.Project)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Total = len(flags)
	needle := strings.ToLower(p.Query)
	for _, f := range flags {
		if p.Type != "" && f.GetType() != p.Type {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(f.GetKey()), needle) &&
			!strings.Contains(strings.ToLower(f.GetDescription()), needle) {
			continue
		}
		row := flagRow{Key: f.GetKey(), Description: f.GetDescription(), Type: f.GetType(), Variants: len(f.GetVariants())}
		for _, env := range p.Envs {
			t, ok := f.GetEnvironments()[env]
			row.Cells = append(row.Cells, flagCell{Env: env, Enabled: ok && t.GetEnabled(), Configured: ok})
		}
		p.Flags = append(p.Flags, row)
	}
	c.render(w, status, "flags", p)
}

// allFlags reads every flag of a project, page by page.
func (c *Console) allFlags(r *http.Request, s *Session, project string) ([]*pb.Flag, error) {
	var out []*pb.Flag
	token := ""
	for {
		resp, err := c.api.flags.ListFlags(call(r, s), &pb.ListFlagsRequest{Project: project, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetFlags()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// flagToggle switches a flag on or off in one environment (only the
// "enabled" field, so no one's targeting edit is overwritten) and goes
// back to the page it came from.
func (c *Console) flagToggle(w http.ResponseWriter, r *http.Request, s *Session) {
	key := r.PathValue("key")
	project, env := r.PostFormValue("project"), r.PostFormValue("env")
	enabled := r.PostFormValue("enabled") == "true"
	back := safeNext(r.PostFormValue("back"))
	_, err := c.api.flags.UpdateFlagTargeting(call(r, s), &pb.UpdateFlagTargetingRequest{
		Project: project, Flag: key, Environment: env,
		Targeting:  &pb.Targeting{Enabled: enabled},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}},
	})
	if err != nil {
		e := errorOf(err)
		if e.Status == http.StatusBadRequest || e.Status == http.StatusConflict {
			// Show the reason on the page the switch was on.
			c.sessions.flash(s, "Not switched: "+key+" in "+env+": "+e.Message)
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		c.apiFail(w, r, s, err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
