package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// releaseRoutes registers the releases list, the release page with its
// live fragments and actions, and the release report.
func (c *Console) releaseRoutes() {
	c.mux.Handle("GET /releases", c.page(c.releaseList))
	c.mux.Handle("GET /fragments/releases", c.live(c.releaseListFragment))
	// Not under /releases/, where it would shadow a release named "new".
	c.mux.Handle("GET /new/release", c.page(c.newReleaseForm))
	c.mux.Handle("POST /releases", c.action(c.createRelease))
	c.mux.Handle("GET /releases/{id}", c.page(c.releasePage))
	c.mux.Handle("GET /fragments/releases/{id}/{part}", c.live(c.releaseFragment))
	c.mux.Handle("POST /releases/{id}/{action}", c.action(c.releaseAction))
	c.mux.Handle("GET /reports", c.page(c.reportPage))
}

// releasesPage is a project's releases, grouped by state.
type releasesPage struct {
	Layout
	// State filters the list; empty: every state.
	State  string
	States []StateOption
	Groups []ReleaseGroup
	Total  int
}

// StateOption is one choice of a state filter.
type StateOption struct {
	Key   string
	Badge StateBadge
}

// releaseList lists the current project's releases by state (in-progress
// first), optionally only one state.
func (c *Console) releaseList(w http.ResponseWriter, r *http.Request, s *Session) {
	p := &releasesPage{Layout: c.layout(r, s, "Releases", "releases"), State: r.URL.Query().Get("state")}
	for _, st := range releaseStates {
		p.States = append(p.States, StateOption{Key: st, Badge: releaseBadge(st)})
	}
	if err := c.fillReleases(r, s, p); err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	c.render(w, http.StatusOK, "releases", p)
}

// releaseListFragment renders the list's groups for the page's poller, so
// states and stages the scheduler changes show without a reload.
func (c *Console) releaseListFragment(w http.ResponseWriter, r *http.Request, s *Session) {
	q := r.URL.Query()
	p := &releasesPage{Layout: Layout{User: userOf(s), CSRF: s.csrf, Project: q.Get("project")}, State: q.Get("state")}
	if err := c.fillReleases(r, s, p); err != nil {
		http.Error(w, errorOf(err).Headline(), errorOf(err).Status)
		return
	}
	c.fragment(w, r, "releases", "releases-list", p)
}

// fillReleases reads every release of p's project (in p's state, if set)
// into p's groups.
func (c *Console) fillReleases(r *http.Request, s *Session, p *releasesPage) error {
	var all []*pb.Release
	token := ""
	for {
		resp, err := c.api.releases.ListReleases(call(r, s), &pb.ListReleasesRequest{
			Project: p.Project, State: p.State, PageSize: 1000, PageToken: token,
		})
		if err != nil {
			return err
		}
		all = append(all, resp.GetReleases()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	p.Total = len(all)
	p.Groups = releaseRows(all)
	return nil
}

// releasePageData is a release page: the view and, after a refused
// action, what the API said.
type releasePageData struct {
	Layout
	Release ReleaseView
	// Fields are the refused action's field errors; IncidentFields and
	// ReviewFields those of a refused incident or review (paths without
	// "incident." or "review."), shown in their forms.
	Fields, IncidentFields, ReviewFields []fieldError
}

// releasePage shows one release of the current project.
func (c *Console) releasePage(w http.ResponseWriter, r *http.Request, s *Session) {
	l := c.layout(r, s, "Release "+r.PathValue("id"), "releases")
	c.showRelease(w, r, s, l, http.StatusOK, nil)
}

// showRelease reads the release named in the path and renders its page
// with status; failed, when set, is the refused action shown on top.
func (c *Console) showRelease(w http.ResponseWriter, r *http.Request, s *Session, l Layout, status int, failed *apiError) {
	rel, err := c.api.releases.GetRelease(call(r, s), &pb.GetReleaseRequest{Project: l.Project, Id: r.PathValue("id")})
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p := &releasePageData{Layout: l, Release: releaseView(rel, l.User, time.Now())}
	if failed != nil {
		p.Error = failed.Headline()
		if failed.Code != codes.Aborted && failed.Code != codes.InvalidArgument && failed.Code != codes.PermissionDenied {
			p.Error = "Not done: " + failed.Message
		}
		for _, f := range failed.Fields {
			if rest, ok := strings.CutPrefix(f.Path, "incident."); ok {
				p.IncidentFields = append(p.IncidentFields, fieldError{Path: rest, Description: f.Description})
			} else if rest, ok := strings.CutPrefix(f.Path, "review."); ok {
				p.ReviewFields = append(p.ReviewFields, fieldError{Path: rest, Description: f.Description})
			} else {
				p.Fields = append(p.Fields, f)
			}
		}
	}
	if p.Release.Title != "" {
		p.Title = p.Release.Title
	}
	c.render(w, status, "release", p)
}

// releaseFragment renders one live part of a release page ("status": the
// state, stages, charts and timeline; "actions": the buttons) for the
// page's poller. The ETag is the part's content, so an unchanged part
// costs a 304 and a form the viewer is filling in is replaced only when
// the release changed.
func (c *Console) releaseFragment(w http.ResponseWriter, r *http.Request, s *Session) {
	part := r.PathValue("part")
	if part != "status" && part != "actions" {
		http.NotFound(w, r)
		return
	}
	project := r.URL.Query().Get("project")
	rel, err := c.api.releases.GetRelease(call(r, s), &pb.GetReleaseRequest{Project: project, Id: r.PathValue("id")})
	if err != nil {
		http.Error(w, errorOf(err).Headline(), errorOf(err).Status)
		return
	}
	u := userOf(s)
	p := &releasePageData{Layout: Layout{User: u, CSRF: s.csrf, Project: project}, Release: releaseView(rel, u, time.Now())}
	c.fragment(w, r, "release", "release-"+part, p)
}

// releaseAction takes a lifecycle action on a release (start, approve,
// advance, pause, resume, rollback, cancel) with the etag the page was
// rendered with, so an action on a release someone else changed is
// refused (409) instead of applied to a state the viewer did not see.
// Done, it goes back to the release page; refused, it shows the page with
// the reason and the API's status.
func (c *Console) releaseAction(w http.ResponseWriter, r *http.Request, s *Session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if !releaseActionNames[action] {
		http.NotFound(w, r)
		return
	}
	project, etag, note := r.PostFormValue("project"), r.PostFormValue("etag"), r.PostFormValue("note")
	drift := r.PostFormValue("acknowledge_drift") == "true"
	ctx, api := call(r, s), c.api.releases
	var err error
	switch action {
	case "start":
		_, err = api.StartRelease(ctx, &pb.StartReleaseRequest{Project: project, Id: id, Etag: etag, Note: note})
	case "approve":
		_, err = api.ApproveRelease(ctx, &pb.ApproveReleaseRequest{Project: project, Id: id, Etag: etag, Comment: note})
	case "advance":
		_, err = api.AdvanceRelease(ctx, &pb.AdvanceReleaseRequest{Project: project, Id: id, Etag: etag, Note: note, AcknowledgeDrift: drift})
	case "pause":
		_, err = api.PauseRelease(ctx, &pb.PauseReleaseRequest{Project: project, Id: id, Etag: etag, Reason: note})
	case "resume":
		_, err = api.ResumeRelease(ctx, &pb.ResumeReleaseRequest{Project: project, Id: id, Etag: etag, Note: note, AcknowledgeDrift: drift})
	case "rollback":
		_, err = api.RollBackRelease(ctx, &pb.RollBackReleaseRequest{Project: project, Id: id, Etag: etag, Reason: note})
	case "cancel":
		_, err = api.CancelRelease(ctx, &pb.CancelReleaseRequest{Project: project, Id: id, Etag: etag, Reason: note})
	case "incident":
		inc := &pb.ReleaseIncident{Severity: r.PostFormValue("severity"), Note: note}
		if at := r.PostFormValue("time"); at != "" {
			t, perr := time.ParseInLocation(atLayout, at, time.UTC)
			if perr != nil {
				r.URL.RawQuery = url.Values{"project": {project}}.Encode()
				c.showRelease(w, r, s, c.layout(r, s, "Release "+id, "releases"), http.StatusBadRequest,
					&apiError{Code: codes.InvalidArgument, Status: http.StatusBadRequest, Message: "invalid incident",
						Fields: []fieldError{{Path: "incident.time", Description: fmt.Sprintf("%q is not a date and time", at)}}})
				return
			}
			inc.Time = timestamppb.New(t)
		}
		_, err = api.AddReleaseIncident(ctx, &pb.AddReleaseIncidentRequest{Project: project, Id: id, Incident: inc})
	case "review":
		_, err = api.SetReleaseReview(ctx, &pb.SetReleaseReviewRequest{Project: project, Id: id, Etag: etag,
			Review: &pb.ReleaseReview{Outcome: r.PostFormValue("outcome"), LessonsLearned: note}})
	}
	if err != nil {
		e := errorOf(err)
		if e.Code == codes.Unauthenticated || e.Status >= 500 {
			c.apiFail(w, r, s, err)
			return
		}
		r.URL.RawQuery = url.Values{"project": {project}}.Encode()
		c.showRelease(w, r, s, c.layout(r, s, "Release "+id, "releases"), e.Status, e)
		return
	}
	http.Redirect(w, r, "/releases/"+url.PathEscape(id)+"?project="+url.QueryEscape(project), http.StatusSeeOther)
}
