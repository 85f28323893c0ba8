package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// calendarPage is the release schedule of the current project: the steps
// across releases by time, the freezes in the range, the conflicts, the
// project's freezes and, for editors, a form that adds one.
type calendarPage struct {
	Layout
	// From and To are the range shown, as date inputs take them.
	From, To  string
	Steps     []calendarStep
	Windows   []freezeWindow
	Conflicts []calendarConflict
	Freezes   []freezeRow
	Form      freezeForm
	Open      bool
}

type calendarStep struct {
	Time, Release, Environment, Stage, Gate, State, Freeze string
	Conflict                                               bool
}

type freezeWindow struct {
	Freeze, Start, End, Scope, Reason string
}

type calendarConflict struct {
	Kind, Message string
}

type freezeRow struct {
	Key, Start, End, Repeats, Scope, Reason, Etag string
}

// freezeForm creates a freeze: the times are datetime-local values read
// in TZ (default UTC); environments and components are comma-separated.
type freezeForm struct {
	Key, Start, End, RRule, TZ, Environments, Components, Reason field
}

const dateInput = "2006-01-02"

func (c *Console) calendarRoutes() {
	c.mux.Handle("GET /calendar", c.page(c.calendar))
	c.mux.Handle("POST /freezes", c.action(c.createFreeze))
	c.mux.Handle("POST /freezes/{key}/delete", c.action(c.deleteFreeze))
}

func (c *Console) calendar(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadCalendar(r, s)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "calendar", p)
}

// loadCalendar reads the schedule of the range the query asks for (from
// and to as dates; default the next 30 days from yesterday).
func (c *Console) loadCalendar(r *http.Request, s *Session) (*calendarPage, error) {
	p := &calendarPage{Layout: c.layout(r, s, "Calendar", "calendar"), Form: freezeForm{
		Key: field{Name: "key"}, Start: field{Name: "start_time"}, End: field{Name: "end_time"}, RRule: field{Name: "rrule"},
		TZ: field{Name: "time_zone"}, Environments: field{Name: "environments"}, Components: field{Name: "components"}, Reason: field{Name: "reason"},
	}}
	q := r.URL.Query()
	from := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	if t, err := time.Parse(dateInput, q.Get("from")); err == nil {
		from = t
	}
	to := from.AddDate(0, 0, 31)
	if t, err := time.Parse(dateInput, q.Get("to")); err == nil && t.After(from) {
		to = t
	}
	p.From, p.To = from.Format(dateInput), to.Format(dateInput)
	cal, err := c.api.freezes.GetCalendar(call(r, s), &pb.GetCalendarRequest{Project: p.Project, From: timestamppb.New(from), To: timestamppb.New(to)})
	if err != nil {
		return nil, err
	}
	// An overlap marks every step of its releases, a step in a freeze
	// only that step (stage 0 stands for every stage).
	type stepRef struct {
		release string
		stage   int32
	}
	conflicted := map[stepRef]bool{}
	for _, cf := range cal.GetConflicts() {
		p.Conflicts = append(p.Conflicts, calendarConflict{Kind: cf.GetKind(), Message: cf.GetMessage()})
		for _, rel := range cf.GetReleases() {
			conflicted[stepRef{rel, cf.GetStage()}] = true
		}
	}
	for _, st := range cal.GetSteps() {
		stage := st.GetStageName()
		if stage == "" {
			stage = "stage " + strconv.Itoa(int(st.GetStage()))
		}
		p.Steps = append(p.Steps, calendarStep{
			Time: st.GetTime().AsTime().UTC().Format("2006-01-02 15:04 UTC"), Release: st.GetRelease(), Environment: st.GetEnvironment(),
			Stage: stage, Gate: st.GetGate(), State: st.GetState(), Freeze: st.GetFreeze(), Conflict: conflicted[stepRef{st.GetRelease(), 0}] || conflicted[stepRef{st.GetRelease(), st.GetStage()}],
		})
	}
	for _, fw := range cal.GetFreezes() {
		p.Windows = append(p.Windows, freezeWindow{
			Freeze: fw.GetFreeze(), Start: minuteUTC(fw.GetStartTime()), End: minuteUTC(fw.GetEndTime()),
			Scope: scopeOf(fw.GetEnvironments(), fw.GetComponents()), Reason: fw.GetReason(),
		})
	}
	resp, err := c.api.freezes.ListFreezes(call(r, s), &pb.ListFreezesRequest{Project: p.Project, PageSize: 1000})
	if err != nil {
		return nil, err
	}
	for _, f := range resp.GetFreezes() {
		repeats := "once"
		if f.GetRrule() != "" {
			repeats = f.GetRrule()
			if f.GetTimeZone() != "" {
				repeats += " (" + f.GetTimeZone() + ")"
			}
		}
		p.Freezes = append(p.Freezes, freezeRow{
			Key: f.GetKey(), Start: minuteUTC(f.GetStartTime()), End: minuteUTC(f.GetEndTime()), Repeats: repeats,
			Scope: scopeOf(f.GetEnvironments(), f.GetComponents()), Reason: f.GetReason(), Etag: f.GetEtag(),
		})
	}
	return p, nil
}

func minuteUTC(ts *timestamppb.Timestamp) string {
	return ts.AsTime().UTC().Format("2006-01-02 15:04 UTC")
}

func scopeOf(envs, comps []string) string {
	var parts []string
	if len(envs) > 0 {
		parts = append(parts, "environments "+strings.Join(envs, ", "))
	}
	if len(comps) > 0 {
		parts = append(parts, "components "+strings.Join(comps, ", "))
	}
	if len(parts) == 0 {
		return "all releases"
	}
	return strings.Join(parts, "; ")
}

// createFreeze adds a freeze from the form; field errors go back to their
// inputs.
func (c *Console) createFreeze(w http.ResponseWriter, r *http.Request, s *Session) {
	p, err := c.loadCalendar(r, s)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p.Open = true
	fm := &p.Form
	for _, f := range []*field{&fm.Key, &fm.Start, &fm.End, &fm.RRule, &fm.TZ, &fm.Environments, &fm.Components, &fm.Reason} {
		f.Value = strings.TrimSpace(r.PostFormValue(f.Name))
	}
	loc, err := time.LoadLocation(fm.TZ.Value)
	if err != nil {
		fm.TZ.Err = "not an IANA time zone (e.g. Europe/Berlin)"
		c.render(w, http.StatusBadRequest, "calendar", p)
		return
	}
	freeze := &pb.Freeze{
		Key: fm.Key.Value, Rrule: fm.RRule.Value, TimeZone: fm.TZ.Value, Reason: fm.Reason.Value,
		Environments: splitList(fm.Environments.Value), Components: splitList(fm.Components.Value),
	}
	for _, t := range []struct {
		f   *field
		dst **timestamppb.Timestamp
	}{{&fm.Start, &freeze.StartTime}, {&fm.End, &freeze.EndTime}} {
		tm, err := time.ParseInLocation("2006-01-02T15:04", t.f.Value, loc)
		if err != nil {
			t.f.Err = "give a date and time"
			continue
		}
		*t.dst = timestamppb.New(tm)
	}
	if fm.Start.Err != "" || fm.End.Err != "" {
		c.render(w, http.StatusBadRequest, "calendar", p)
		return
	}
	_, err = c.api.freezes.CreateFreeze(call(r, s), &pb.CreateFreezeRequest{Project: p.Project, Freeze: freeze})
	if err == nil {
		c.sessions.notify(s, "Created freeze "+freeze.Key+".")
		http.Redirect(w, r, "/calendar", http.StatusSeeOther)
		return
	}
	e := errorOf(err)
	if e.Status != http.StatusBadRequest && e.Status != http.StatusConflict {
		c.apiFail(w, r, s, err)
		return
	}
	p.Error = e.Headline()
	byPath := map[string]*field{
		"freeze.key": &fm.Key, "freeze.start_time": &fm.Start, "freeze.end_time": &fm.End, "freeze.rrule": &fm.RRule,
		"freeze.time_zone": &fm.TZ, "freeze.environments": &fm.Environments, "freeze.components": &fm.Components, "freeze.reason": &fm.Reason,
	}
	matched := false
	for _, fe := range e.Fields {
		path, _, _ := strings.Cut(fe.Path, "[")
		if f, ok := byPath[path]; ok {
			f.Err, matched = fe.Description, true
		}
	}
	if !matched {
		fm.Key.Err = e.Message
	}
	c.render(w, e.Status, "calendar", p)
}

func (c *Console) deleteFreeze(w http.ResponseWriter, r *http.Request, s *Session) {
	key := r.PathValue("key")
	project, _ := c.sessions.choice(s)
	if v := r.PostFormValue("project"); v != "" {
		project = v
	}
	_, err := c.api.freezes.DeleteFreeze(call(r, s), &pb.DeleteFreezeRequest{Project: project, Key: key, Etag: r.PostFormValue("etag")})
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	c.sessions.notify(s, "Deleted freeze "+key+"; the steps it held are taken when the scheduler next looks.")
	http.Redirect(w, r, "/calendar", http.StatusSeeOther)
}
