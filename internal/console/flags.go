package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// flagsPage is the flag list of one project.
type flagsPage struct {
	Layout
	Query string
	Type  string
	Types []string
	// StaleOnly lists only the flags not used for staleDays days.
	StaleOnly bool
	// Tag lists only the flags carrying it.
	Tag string
	// Envs are the project's environments, one switch column each.
	Envs  []string
	Flags []flagRow
	// First and Next link the first and the next page, Back is this page
	// (the switches come back to it).
	First, Next, Back string
	// New is the form that creates a flag.
	New newFlagForm
}

// flagsPerPage bounds the rows of the flag list (and so its weight).
const flagsPerPage = 50

// staleDays is how long a flag goes unused (no SDK exposure, no server
// evaluation in any environment) before the list marks it stale.
const staleDays = 30

type flagRow struct {
	Key         string
	Description string
	Type        string
	Variants    int
	Tags        []string
	Cells       []flagCell
	// Stale: not used anywhere for staleDays days, or never.
	Stale bool
}

// flagCell is a flag's switch in one environment.
type flagCell struct {
	Env     string
	Enabled bool
	// Configured is false when the flag has no targeting there (disabled).
	Configured bool
	// LastUsed says when the flag was last evaluated there ("3 min ago",
	// "never"); the flag list only.
	LastUsed string
}

var flagTypes = []string{"bool", "string", "number", "json"}

// flagList lists the current project's flags, filtered by a search text
// (key or description), a type and staleness, with an on/off switch and
// the last evaluation per environment, and flags unused for staleDays
// marked stale. It shows one page of the API's listing (usage included,
// one call), so its cost does not grow with the project.
func (c *Console) flagList(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadFlagList(r, s)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "flags", p)
}

// flagRows is the live fragment of the flag list: its rows, refreshed by
// the page's poller so switches others flip show up without a reload.
func (c *Console) flagRows(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadFlagList(r, s)
	if err != nil {
		e := errorOf(err)
		http.Error(w, e.Message, e.Status)
		return
	}
	c.fragment(w, r, "flags", "flagrows", p)
}

func (c *Console) loadFlagList(r *http.Request, s *Session) (*flagsPage, error) {
	p := &flagsPage{Layout: c.layout(r, s, "Flags", "flags"), Types: flagTypes, New: emptyFlagForm()}
	q := r.URL.Query()
	p.Query, p.Type, p.StaleOnly = strings.TrimSpace(q.Get("q")), q.Get("type"), q.Get("stale") == "1"
	p.Tag = strings.TrimSpace(q.Get("tag"))
	p.Envs = p.Environments
	after := q.Get("after")
	req := &pb.ListFlagsRequest{
		Project: p.Project, PageSize: flagsPerPage, PageToken: after, Query: p.Query, Type: p.Type, Tag: p.Tag, Usage: true,
	}
	if p.StaleOnly {
		req.StaleDays = staleDays
	}
	resp, err := c.api.flags.ListFlags(call(r, s), req)
	if err != nil {
		return nil, err
	}
	link := func(after string) string {
		v := url.Values{}
		if p.Query != "" {
			v.Set("q", p.Query)
		}
		if p.Type != "" {
			v.Set("type", p.Type)
		}
		if p.StaleOnly {
			v.Set("stale", "1")
		}
		if p.Tag != "" {
			v.Set("tag", p.Tag)
		}
		if after != "" {
			v.Set("after", after)
		}
		if len(v) == 0 {
			return "/flags"
		}
		return "/flags?" + v.Encode()
	}
	p.Back = link(after)
	if after != "" {
		p.First = link("")
	}
	if next := resp.GetNextPageToken(); next != "" {
		p.Next = link(next)
	}
	now := time.Now()
	cutoff := now.Add(-staleDays * 24 * time.Hour)
	for i, f := range resp.GetFlags() {
		row := flagRow{Key: f.GetKey(), Description: f.GetDescription(), Type: f.GetType(), Variants: len(f.GetVariants()), Tags: f.GetTags()}
		var use *pb.StaleFlag
		if i < len(resp.GetUsage()) && resp.GetUsage()[i].GetFlag() == f.GetKey() {
			use = resp.GetUsage()[i]
		}
		for _, env := range p.Envs {
			t, ok := f.GetEnvironments()[env]
			row.Cells = append(row.Cells, flagCell{Env: env, Enabled: ok && t.GetEnabled(), Configured: ok,
				LastUsed: lastUsedWords(use, env, now)})
		}
		row.Stale = use != nil && (use.GetNever() || use.GetLastSeen().AsTime().Before(cutoff))
		p.Flags = append(p.Flags, row)
	}
	return p, nil
}

// lastUsedWords says when use (nil: unknown) shows the flag last used in
// env, relative to now: "never", "just now", "3 min ago", "5 h ago",
// "12 days ago".
func lastUsedWords(use *pb.StaleFlag, env string, now time.Time) string {
	if use == nil {
		return ""
	}
	for _, e := range use.GetEnvironments() {
		if e.GetEnvironment() != env {
			continue
		}
		if e.GetLastSeen() == nil {
			return "never"
		}
		switch d := now.Sub(e.GetLastSeen().AsTime()); {
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return fmt.Sprintf("%d min ago", int(d/time.Minute))
		case d < 48*time.Hour:
			return fmt.Sprintf("%d h ago", int(d/time.Hour))
		default:
			return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
		}
	}
	return "never"
}

// flagToggle switches a flag on or off in one environment (only the
// "enabled" field, so no one's targeting edit is overwritten) and goes
// back to the page it came from. The pressed switch posts
// set="on|off <environment> <flag>".
func (c *Console) flagToggle(w http.ResponseWriter, r *http.Request, s *Session) {
	parts := strings.Fields(r.PostFormValue("set"))
	if len(parts) != 3 || (parts[0] != "on" && parts[0] != "off") {
		c.fail(w, r, s, http.StatusBadRequest, "set: want \"on|off <environment> <flag>\"")
		return
	}
	enabled, env, key := parts[0] == "on", parts[1], parts[2]
	project := r.PostFormValue("project")
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

// flagPage is one flag with the targeting editor of one environment.
type flagPage struct {
	Layout
	Key         string
	Type        string
	Description string
	Tags        []string
	Variants    []variantRow
	// Envs are the environments with the flag's state, Env the one edited.
	Envs []flagCell
	Env  string
	// Etag is the edited targeting's etag when the page was read.
	Etag     string
	Revision uint64
	Updated  string
	Form     *targetingForm
	// Review shows the change preview and the Save button.
	Review bool
	Diff   []diffLine
	// Unchanged: the review found nothing to save.
	Unchanged bool
	// Stale: someone else changed the targeting since Etag.
	Stale bool
	// Details edits the flag's description and variants.
	Details flagDetails
}

// flagDetails is the form that edits a flag's description, tags and
// variants.
type flagDetails struct {
	Description, Tags, Variants field
	// Etag is the flag's etag when the page was read.
	Etag string
	// Open unfolds the form; Stale: the flag changed since Etag.
	Open, Stale bool
}

type variantRow struct{ Key, Value string }

// flagPage shows a flag and the editor of its targeting in the current
// environment (the switcher's, or ?env=).
func (c *Console) flagPage(w http.ResponseWriter, r *http.Request, s *Session) {
	p, t, err := c.loadFlag(r, s, r.PathValue("key"))
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Form = formFromTargeting(t.GetTargeting(), variantKeys(p))
	c.render(w, http.StatusOK, "flag", p)
}

// loadFlag reads a flag and its targeting in the current environment.
func (c *Console) loadFlag(r *http.Request, s *Session, key string) (*flagPage, *pb.FlagTargeting, error) {
	ctx := call(r, s)
	p := &flagPage{Layout: c.layout(r, s, key, "flags"), Key: key}
	p.Env = p.Environment
	f, err := c.api.flags.GetFlag(ctx, &pb.GetFlagRequest{Project: p.Project, Key: key})
	if err != nil {
		return nil, nil, err
	}
	p.Type, p.Description, p.Tags = f.GetType(), f.GetDescription(), f.GetTags()
	p.Details = flagDetails{
		Description: field{Name: "description", Value: f.GetDescription()},
		Tags:        field{Name: "tags", Value: strings.Join(f.GetTags(), ", ")},
		Variants:    field{Name: "variants", Value: formatVariants(f.GetVariants())},
		Etag:        f.GetEtag(),
	}
	for _, v := range f.GetVariants() {
		data, _ := protojson.Marshal(v.GetValue())
		p.Variants = append(p.Variants, variantRow{Key: v.GetKey(), Value: string(data)})
	}
	if len(p.Variants) == 0 && f.GetType() == "bool" {
		p.Variants = []variantRow{{"on", "true"}, {"off", "false"}}
	}
	for _, env := range p.Environments {
		t, ok := f.GetEnvironments()[env]
		p.Envs = append(p.Envs, flagCell{Env: env, Enabled: ok && t.GetEnabled(), Configured: ok})
	}
	t, err := c.api.flags.GetFlagTargeting(ctx, &pb.GetFlagTargetingRequest{Project: p.Project, Flag: key, Environment: p.Env})
	if err != nil {
		return nil, nil, err
	}
	p.Etag, p.Revision = t.GetEtag(), t.GetRevision()
	if t.GetUpdateTime() != nil {
		p.Updated = t.GetUpdateTime().AsTime().UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return p, t, nil
}

func variantKeys(p *flagPage) []string {
	keys := make([]string, len(p.Variants))
	for i, v := range p.Variants {
		keys[i] = v.Key
	}
	return keys
}

// flagTargeting reviews or saves an edited targeting. "review" shows the
// diff against the stored targeting; "save" sends it with the etag the
// editor was loaded with, so a concurrent change is refused (409) and
// shown, never overwritten. Field violations show next to their inputs.
func (c *Console) flagTargeting(w http.ResponseWriter, r *http.Request, s *Session) {
	key := r.PathValue("key")
	p, cur, err := c.loadFlag(r, s, key)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	if env := r.PostFormValue("env"); env != p.Env {
		c.fail(w, r, s, http.StatusConflict, "The environment changed in another tab; reload the flag.")
		return
	}
	p.Form = formFromRequest(r, variantKeys(p))
	loaded := r.PostFormValue("etag")
	p.Stale = loaded != p.Etag
	p.Etag = loaded
	next, ok := p.Form.Targeting(false)
	status := http.StatusOK
	switch {
	case !ok:
		status = http.StatusBadRequest
		p.Error = "Not saved: fix the fields marked below."
	case r.PostFormValue("step") == "save" && !p.Stale:
		_, err := c.api.flags.UpdateFlagTargeting(call(r, s), &pb.UpdateFlagTargetingRequest{
			Project: p.Project, Flag: key, Environment: p.Env, Targeting: next, Etag: loaded,
		})
		if err == nil {
			c.sessions.notify(s, "Saved the targeting of "+key+" in "+p.Env+".")
			http.Redirect(w, r, "/flags/"+key, http.StatusSeeOther)
			return
		}
		e := errorOf(err)
		switch e.Status {
		case http.StatusBadRequest:
			p.Form.attach("targeting", e.Fields)
			p.Error = e.Headline()
			status = http.StatusBadRequest
		case http.StatusConflict:
			p.Stale = true
		default:
			c.apiFail(w, r, s, err)
			return
		}
	default:
		p.Review = true
		full := diffMessages(cur.GetTargeting(), next)
		p.Unchanged = !changed(full)
		p.Diff = compactDiff(full, 4, 400)
	}
	if p.Stale {
		status = http.StatusConflict
		p.Review = false
	}
	c.render(w, status, "flag", p)
}
