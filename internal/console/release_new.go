package console

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// The rows of the new-release form.
const (
	newReleaseItems      = 3
	newReleaseComponents = 2
	newReleaseStages     = 4
)

// newReleasePage is the form that drafts a release. Field errors are keyed
// by the API's field path ("plan[1].weight"), so each shows next to its
// field.
type newReleasePage struct {
	Layout
	// Top are the id, title, owner and link fields.
	Top, Links                           []FormField
	ID, Title, Environment, Owner, Notes string
	Mode, Ticket, ChangeRecord           string
	Modes                                []string
	// Model is the release model the release is created from; Models
	// the project's release model keys.
	Model          string
	Models         []string
	Items          []ItemRow
	Stages         []StageRow
	Gates, Actions []string
	// Versions are the registered component versions an item may
	// release, by component, withdrawn ones left out.
	Versions []VersionGroup
	// Errs are the field errors by form field path; Other are the errors
	// no field of the form shows.
	Errs  map[string]string
	Other []string
}

// ItemRow is one item of the form: a flag and its variant, or (Component
// set) a component version picked as "component@version" in Pick.
type ItemRow struct {
	Index                   int
	Component               bool
	Flag, Variant, Pick     string
	FlagError, VariantError string
}

// VersionGroup is one component's registered versions; each option's
// value is "component@version".
type VersionGroup struct {
	Component string
	Versions  []string
}

// StageRow is one stage of the form.
type StageRow struct {
	Index                               int
	Name, Percent, Segments, Gate, Wait string
	// At is the at gate's time, a datetime-local value read in UTC.
	At string
	// Convergence is min_convergence in percent, Connected min_connected.
	Convergence, Connected string
	// Metric, Threshold (percent) and Action are the stage's guardrail;
	// no metric, no guardrail.
	Metric, Threshold, Action string
	// Errs are the row's errors by field: name, weight, segments, gate,
	// wait, at, min_convergence, min_connected, metric, threshold, action.
	Errs map[string]string
	// Fields are the name, percent, segments, wait, at, convergence,
	// connected, metric and threshold inputs, and GateError and
	// ActionError the selects' errors, filled by fill for the template.
	Fields                 []FormField
	GateError, ActionError string
}

// FormField is one text input with its label and error; Path is the API
// field path the error names.
type FormField struct {
	ID, Name, Label, Value, Placeholder, Path, Error string
	// Type is the input's type; empty is text.
	Type string
}

// fill prepares the page's fields for the template.
func (p *newReleasePage) fill() {
	top := func(name, label, value, placeholder string) FormField {
		return FormField{ID: "f-" + name, Name: name, Label: label, Value: value, Placeholder: placeholder, Path: name, Error: p.Errs[name]}
	}
	p.Top = []FormField{top("id", "Id", p.ID, "e.g. spring-launch"), top("title", "Title", p.Title, ""), top("owner", "Owner", p.Owner, "")}
	link := func(name, label, value string) FormField {
		f := top(name, label, value, "")
		f.Path = "links." + name
		f.Error = p.Errs[f.Path]
		return f
	}
	p.Links = []FormField{link("ticket", "Ticket", p.Ticket), link("change_record", "Change record", p.ChangeRecord)}
	for i := range p.Stages {
		st := &p.Stages[i]
		in := func(field, errKey, label, value, placeholder, path string) FormField {
			return FormField{
				ID: fmt.Sprintf("plan-%d-%s", st.Index, field), Name: fmt.Sprintf("plan[%d].%s", st.Index, field),
				Label: label, Value: value, Placeholder: placeholder, Path: fmt.Sprintf("plan[%d].%s", st.Index, path), Error: st.Errs[errKey],
			}
		}
		st.Fields = []FormField{
			in("name", "name", fmt.Sprintf("Stage %d name", st.Index+1), st.Name, "", "name"),
			in("percent", "weight", "Percent", st.Percent, "10", "weight"),
			in("segments", "segments", "Segments (comma-separated)", st.Segments, "", "segments"),
			in("wait", "wait", "Wait (wait gate)", st.Wait, "24h", "gate.wait.duration"),
			in("at", "at", "At (at gate, UTC)", st.At, "", "gate.at.time"),
			in("convergence", "min_convergence", "Min. convergence %", st.Convergence, "0", "min_convergence"),
			in("connected", "min_connected", "Min. connected SDKs", st.Connected, "0", "min_connected"),
			in("metric", "metric", "Guardrail metric", st.Metric, "", "guardrail.metric"),
			in("threshold", "threshold", "Guardrail threshold %", st.Threshold, "5", "guardrail.threshold"),
		}
		st.Fields[4].Type = "datetime-local"
		st.GateError, st.ActionError = st.Errs["gate"], st.Errs["action"]
	}
}

var (
	releaseGates     = []string{"manual", "approval", "wait", "at"}
	releaseModes     = []string{"", "pull", "push"}
	guardrailActions = []string{"pause", "rollback"}
)

// atLayout is the value format of a datetime-local input; the form reads
// and shows it in UTC.
const atLayout = "2006-01-02T15:04"

// newReleaseForm shows an empty form: one 10 % stage behind a manual gate
// and one of everyone behind an approval.
func (c *Console) newReleaseForm(w http.ResponseWriter, r *http.Request, s *Session) {
	p := c.newReleasePage(r, s)
	if err := c.loadVersions(r, s, p); err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Environment = p.Layout.Environment
	p.Stages[0].Name, p.Stages[0].Percent, p.Stages[0].Gate = "canary", "10", "manual"
	p.Stages[1].Name, p.Stages[1].Percent, p.Stages[1].Gate = "everyone", "100", "approval"
	if key := r.URL.Query().Get("model"); key != "" {
		m, err := c.api.models.GetReleaseModel(call(r, s), &pb.GetReleaseModelRequest{Project: p.Project, Key: key})
		if err != nil {
			c.apiFail(w, r, s, err)
			return
		}
		p.fromModel(m)
	}
	p.fill()
	c.render(w, http.StatusOK, "release_new", p)
}

func (c *Console) newReleasePage(r *http.Request, s *Session) *newReleasePage {
	p := &newReleasePage{Layout: c.layout(r, s, "New release", "releases"), Gates: releaseGates, Modes: releaseModes, Actions: guardrailActions, Errs: map[string]string{}}
	for i := range newReleaseItems + newReleaseComponents {
		p.Items = append(p.Items, ItemRow{Index: i, Component: i >= newReleaseItems})
	}
	for i := range newReleaseStages {
		p.Stages = append(p.Stages, StageRow{Index: i, Gate: "manual", Errs: map[string]string{}})
	}
	return p
}

// fromModel fills the plan with release model m's stages and takes its
// mode.
func (p *newReleasePage) fromModel(m *pb.ReleaseModel) {
	p.Model, p.Mode = m.GetKey(), m.GetMode()
	p.Stages = p.Stages[:0]
	for i, st := range m.GetStages() {
		row := StageRow{Index: i, Name: st.GetName(), Segments: strings.Join(st.GetSegments(), ", "), Gate: "manual", Errs: map[string]string{}}
		row.Percent = strconv.FormatFloat(float64(st.GetWeight())/1000, 'f', -1, 64)
		g := st.GetGate()
		switch {
		case g.GetApproval() != nil:
			row.Gate = "approval"
		case g.GetWait() != nil:
			row.Gate, row.Wait = "wait", g.GetWait().GetDuration()
		case g.GetAt() != nil:
			row.Gate, row.At = "at", g.GetAt().GetTime().AsTime().UTC().Format(atLayout)
		}
		if v := st.GetMinConvergence(); v != 0 {
			row.Convergence = strconv.FormatFloat(v*100, 'f', -1, 64)
		}
		if v := st.GetMinConnected(); v != 0 {
			row.Connected = strconv.Itoa(int(v))
		}
		if gr := st.GetGuardrail(); gr != nil {
			row.Metric, row.Threshold, row.Action = gr.GetMetric(), strconv.FormatFloat(gr.GetThreshold()*100, 'f', -1, 64), gr.GetAction()
		}
		p.Stages = append(p.Stages, row)
	}
	for i := len(p.Stages); i < newReleaseStages; i++ {
		p.Stages = append(p.Stages, StageRow{Index: i, Gate: "manual", Errs: map[string]string{}})
	}
}

// loadVersions reads the project's components into p.Versions and its
// release model keys into p.Models.
func (c *Console) loadVersions(r *http.Request, s *Session, p *newReleasePage) error {
	for token := ""; ; {
		resp, err := c.api.models.ListReleaseModels(call(r, s), &pb.ListReleaseModelsRequest{Project: p.Project, PageSize: 1000, PageToken: token})
		if err != nil {
			return err
		}
		for _, m := range resp.GetReleaseModels() {
			p.Models = append(p.Models, m.GetKey())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	token := ""
	for {
		resp, err := c.api.components.ListComponents(call(r, s), &pb.ListComponentsRequest{Project: p.Project, PageSize: 1000, PageToken: token})
		if err != nil {
			return err
		}
		for _, cp := range resp.GetComponents() {
			g := VersionGroup{Component: cp.GetKey()}
			for _, v := range cp.GetVersions() {
				if !v.GetWithdrawn() {
					g.Versions = append(g.Versions, v.GetVersion())
				}
			}
			if len(g.Versions) > 0 {
				p.Versions = append(p.Versions, g)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return nil
		}
	}
}

// rowPath matches a field path of an item or stage: items[2].variant,
// plan[0].gate.wait.duration.
var rowPath = regexp.MustCompile(`^(items|plan)\[(\d+)\]\.?(.*)$`)

// createRelease drafts the release the form describes through
// CreateRelease. Rows left blank are skipped; an invalid release is shown
// again with each error next to its field.
func (c *Console) createRelease(w http.ResponseWriter, r *http.Request, s *Session) {
	r.URL.RawQuery = url.Values{"project": {r.PostFormValue("project")}}.Encode()
	p := c.newReleasePage(r, s)
	f := r.PostFormValue
	p.ID, p.Title, p.Environment, p.Owner, p.Notes = strings.TrimSpace(f("id")), f("title"), f("environment"), f("owner"), f("release_notes")
	// A plan filled from a release model may have more rows than the
	// form's default.
	for i := len(p.Stages); r.PostForm.Has(fmt.Sprintf("plan[%d].name", i)); i++ {
		p.Stages = append(p.Stages, StageRow{Index: i, Gate: "manual", Errs: map[string]string{}})
	}
	p.Mode, p.Ticket, p.ChangeRecord, p.Model = f("mode"), strings.TrimSpace(f("ticket")), strings.TrimSpace(f("change_record")), f("model")
	rel := &pb.Release{Id: p.ID, Title: p.Title, Environment: p.Environment, Owner: p.Owner, ReleaseNotes: p.Notes, Mode: p.Mode, Model: p.Model}
	if p.Ticket != "" || p.ChangeRecord != "" {
		rel.Links = &pb.ReleaseLinks{Ticket: p.Ticket, ChangeRecord: p.ChangeRecord}
	}
	var itemRow, stageRow []int // API index → form row
	for i := range p.Items {
		it := &p.Items[i]
		if it.Component {
			it.Pick = f(fmt.Sprintf("items[%d].version", i))
			if it.Pick == "" {
				continue
			}
			component, version, _ := strings.Cut(it.Pick, "@")
			rel.Items = append(rel.Items, &pb.ReleaseItem{Component: component, Version: version})
			itemRow = append(itemRow, i)
			continue
		}
		it.Flag, it.Variant = f(fmt.Sprintf("items[%d].flag", i)), strings.TrimSpace(f(fmt.Sprintf("items[%d].variant", i)))
		if it.Flag == "" && it.Variant == "" {
			continue
		}
		rel.Items = append(rel.Items, &pb.ReleaseItem{Flag: it.Flag, Variant: it.Variant})
		itemRow = append(itemRow, i)
	}
	for i := range p.Stages {
		st := &p.Stages[i]
		field := func(name string) string { return strings.TrimSpace(f(fmt.Sprintf("plan[%d].%s", i, name))) }
		st.Name, st.Percent, st.Segments, st.Gate, st.Wait = field("name"), field("percent"), field("segments"), field("gate"), field("wait")
		st.At, st.Convergence, st.Connected = field("at"), field("convergence"), field("connected")
		st.Metric, st.Threshold, st.Action = field("metric"), field("threshold"), field("action")
		if st.Name == "" && st.Percent == "" && st.Segments == "" {
			continue
		}
		stage := &pb.ReleaseStage{Name: st.Name, Gate: &pb.ReleaseGate{}}
		if w, ok := parsePercent(st.Percent); ok {
			stage.Weight = w
		} else {
			st.Errs["weight"] = fmt.Sprintf("%q is not a percentage from 0 to 100", st.Percent)
		}
		for _, seg := range strings.Split(st.Segments, ",") {
			if seg = strings.TrimSpace(seg); seg != "" {
				stage.Segments = append(stage.Segments, seg)
			}
		}
		switch st.Gate {
		case "approval":
			stage.Gate.Approval = &pb.ApprovalGate{}
		case "wait":
			stage.Gate.Wait = &pb.WaitGate{Duration: st.Wait}
		case "at":
			if at, err := time.ParseInLocation(atLayout, st.At, time.UTC); err == nil {
				stage.Gate.At = &pb.AtGate{Time: timestamppb.New(at)}
			} else {
				st.Errs["at"] = "pick the date and time (UTC) the stage begins"
			}
		default:
			stage.Gate.Manual = &pb.ManualGate{}
		}
		if st.Convergence != "" {
			if v, err := strconv.ParseFloat(strings.TrimSuffix(st.Convergence, "%"), 64); err == nil && v >= 0 && v <= 100 {
				stage.MinConvergence = v / 100
			} else {
				st.Errs["min_convergence"] = fmt.Sprintf("%q is not a percentage from 0 to 100", st.Convergence)
			}
		}
		if st.Connected != "" {
			if v, err := strconv.ParseInt(st.Connected, 10, 32); err == nil && v >= 0 {
				stage.MinConnected = int32(v)
			} else {
				st.Errs["min_connected"] = fmt.Sprintf("%q is not a count of SDKs", st.Connected)
			}
		}
		if st.Metric != "" || st.Threshold != "" {
			g := &pb.Guardrail{Metric: st.Metric, Action: st.Action}
			if v, err := strconv.ParseFloat(strings.TrimSuffix(st.Threshold, "%"), 64); err == nil && v >= 0 {
				g.Threshold = v / 100
			} else {
				st.Errs["threshold"] = fmt.Sprintf("%q is not a percentage", st.Threshold)
			}
			stage.Guardrail = g
		}
		rel.Plan = append(rel.Plan, stage)
		stageRow = append(stageRow, i)
	}
	if err := c.loadVersions(r, s, p); err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	if hasStageErrors(p.Stages) {
		p.fill()
		c.render(w, http.StatusBadRequest, "release_new", p)
		return
	}
	created, err := c.api.releases.CreateRelease(call(r, s), &pb.CreateReleaseRequest{Project: p.Project, Release: rel})
	if err != nil {
		e := errorOf(err)
		if e.Code == codes.Unauthenticated || e.Status >= 500 {
			c.apiFail(w, r, s, err)
			return
		}
		p.Error = e.Headline()
		if e.Code != codes.InvalidArgument && e.Code != codes.PermissionDenied && e.Code != codes.Aborted {
			p.Error = "Not created: " + e.Message
		}
		for _, fe := range e.Fields {
			p.place(strings.TrimPrefix(fe.Path, "release."), fe.Description, itemRow, stageRow)
		}
		p.fill()
		c.render(w, e.Status, "release_new", p)
		return
	}
	http.Redirect(w, r, "/releases/"+url.PathEscape(created.GetId())+"?project="+url.QueryEscape(p.Project), http.StatusSeeOther)
}

func hasStageErrors(rows []StageRow) bool {
	for _, r := range rows {
		if len(r.Errs) > 0 {
			return true
		}
	}
	return false
}

// place puts an API field error next to the form field it names, mapping
// the API's item and stage indexes back to the form's rows.
func (p *newReleasePage) place(path, msg string, itemRow, stageRow []int) {
	m := rowPath.FindStringSubmatch(path)
	if m == nil {
		switch path {
		case "id", "title", "environment", "owner", "release_notes", "mode", "model", "links.ticket", "links.change_record":
			p.Errs[path] = msg
		default:
			p.Other = append(p.Other, strings.TrimSpace(path+": "+msg))
		}
		return
	}
	i, _ := strconv.Atoi(m[2])
	rest := m[3]
	switch {
	case m[1] == "items" && i < len(itemRow):
		it := &p.Items[itemRow[i]]
		if rest == "variant" && !it.Component {
			it.VariantError = msg
		} else {
			it.FlagError = msg
		}
	case m[1] == "plan" && i < len(stageRow):
		field := strings.SplitN(rest, ".", 2)[0]
		switch {
		case strings.HasPrefix(rest, "gate.wait"):
			field = "wait"
		case strings.HasPrefix(rest, "gate.at"):
			field = "at"
		case strings.HasPrefix(rest, "segments"):
			field = "segments"
		case strings.HasPrefix(rest, "guardrail."):
			field = strings.TrimPrefix(rest, "guardrail.")
			if field != "metric" && field != "threshold" && field != "action" {
				field, msg = "metric", rest+": "+msg
			}
		case field == "name" || field == "weight" || field == "gate" || field == "min_convergence" || field == "min_connected":
		default:
			field = "name"
			msg = rest + ": " + msg
		}
		p.Stages[stageRow[i]].Errs[field] = msg
	default:
		p.Other = append(p.Other, path+": "+msg)
	}
}
