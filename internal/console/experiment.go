package console

import (
	"net/http"
	"net/url"

	"google.golang.org/grpc/codes"

	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
)

// experimentRoutes registers the experiments list, the experiment page
// with its live fragments, and its actions.
func (c *Console) experimentRoutes() {
	c.mux.Handle("GET /experiments", c.page(c.experimentList))
	c.mux.Handle("GET /experiments/{id}", c.page(c.experimentPage))
	c.mux.Handle("GET /fragments/experiments/{id}/{part}", c.live(c.experimentFragment))
	c.mux.Handle("POST /experiments/{id}/{action}", c.action(c.experimentAction))
}

// experimentsPage is a project's experiments.
type experimentsPage struct {
	Layout
	Rows []ExperimentRow
}

func (c *Console) experimentList(w http.ResponseWriter, r *http.Request, s *Session) {
	p := &experimentsPage{Layout: c.layout(r, s, "Experiments", "experiments")}
	var all []*pb.Experiment
	token := ""
	for {
		resp, err := c.api.experiments.ListExperiments(call(r, s), &pb.ListExperimentsRequest{Project: p.Project, PageSize: 1000, PageToken: token})
		if err != nil {
			c.apiFail(w, r, s, err)
			return
		}
		all = append(all, resp.GetExperiments()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	p.Rows = experimentRows(all)
	c.render(w, http.StatusOK, "experiments", p)
}

// experimentPageData is an experiment page.
type experimentPageData struct {
	Layout
	Experiment ExperimentView
	Fields     []fieldError
}

func (c *Console) experimentPage(w http.ResponseWriter, r *http.Request, s *Session) {
	c.showExperiment(w, r, s, c.layout(r, s, "Experiment "+r.PathValue("id"), "experiments"), http.StatusOK, nil)
}

// readExperiment reads the experiment named in the path and its results
// with the exposures over time.
func (c *Console) readExperiment(r *http.Request, s *Session, project string, canRelease bool) (ExperimentView, error) {
	ctx, id := call(r, s), r.PathValue("id")
	e, err := c.api.experiments.GetExperiment(ctx, &pb.GetExperimentRequest{Project: project, Id: id})
	if err != nil {
		return ExperimentView{}, err
	}
	res, err := c.api.experiments.GetExperimentResults(ctx, &pb.GetExperimentResultsRequest{Project: project, Id: id, Exposures: true})
	if err != nil {
		return ExperimentView{}, err
	}
	return experimentView(e, res, canRelease), nil
}

// showExperiment renders the experiment page with status; failed, when
// set, is the refused action shown on top.
func (c *Console) showExperiment(w http.ResponseWriter, r *http.Request, s *Session, l Layout, status int, failed *apiError) {
	v, err := c.readExperiment(r, s, l.Project, l.User.CanRelease)
	if err != nil {
		c.apiFail(w, r, s, err)
		return
	}
	p := &experimentPageData{Layout: l, Experiment: v}
	if v.Title != "" {
		p.Title = v.Title
	}
	if failed != nil {
		p.Error = failed.Headline()
		if failed.Code != codes.Aborted && failed.Code != codes.InvalidArgument && failed.Code != codes.PermissionDenied {
			p.Error = "Not done: " + failed.Message
		}
		p.Fields = failed.Fields
	}
	c.render(w, status, "experiment", p)
}

// experimentFragment renders a live part of an experiment page ("status":
// results, SRM and charts; "actions": the buttons), as releaseFragment.
func (c *Console) experimentFragment(w http.ResponseWriter, r *http.Request, s *Session) {
	part := r.PathValue("part")
	if part != "status" && part != "actions" {
		http.NotFound(w, r)
		return
	}
	project := r.URL.Query().Get("project")
	u := userOf(s)
	v, err := c.readExperiment(r, s, project, u.CanRelease)
	if err != nil {
		http.Error(w, errorOf(err).Headline(), errorOf(err).Status)
		return
	}
	c.fragment(w, r, "experiment", "experiment-"+part, &experimentPageData{Layout: Layout{User: u, CSRF: s.csrf, Project: project}, Experiment: v})
}

// experimentAction starts an experiment, or stops it shipping the chosen
// variant or reverting, with the etag the page was rendered with.
func (c *Console) experimentAction(w http.ResponseWriter, r *http.Request, s *Session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if !experimentActionNames[action] {
		http.NotFound(w, r)
		return
	}
	project, etag := r.PostFormValue("project"), r.PostFormValue("etag")
	ctx, api := call(r, s), c.api.experiments
	var err error
	if action == "start" {
		_, err = api.StartExperiment(ctx, &pb.StartExperimentRequest{Project: project, Id: id, Etag: etag})
	} else {
		req := &pb.StopExperimentRequest{Project: project, Id: id, Etag: etag, Decision: action, Reason: r.PostFormValue("reason")}
		if action == "ship" {
			req.Variant = r.PostFormValue("variant")
		}
		_, err = api.StopExperiment(ctx, req)
	}
	if err != nil {
		e := errorOf(err)
		if e.Code == codes.Unauthenticated || e.Status >= 500 {
			c.apiFail(w, r, s, err)
			return
		}
		r.URL.RawQuery = url.Values{"project": {project}}.Encode()
		c.showExperiment(w, r, s, c.layout(r, s, "Experiment "+id, "experiments"), e.Status, e)
		return
	}
	http.Redirect(w, r, "/experiments/"+url.PathEscape(id)+"?project="+url.QueryEscape(project), http.StatusSeeOther)
}
