package console

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/internal/auth"
	pb "github.com/switchyard/switchyard/internal/gen/switchyard/v1"
	sdkpb "github.com/switchyard/switchyard/internal/gen/switchyard/v1/sdkpb"
)

// api holds a client of every service the console calls.
type api struct {
	projects    pb.ProjectServiceClient
	flags       pb.FlagServiceClient
	segments    pb.SegmentServiceClient
	components  pb.ComponentServiceClient
	evaluation  sdkpb.EvaluationServiceClient
	audit       pb.AuditServiceClient
	avail       sdkpb.AvailabilityServiceClient
	releases    pb.ReleaseServiceClient
	models      pb.ReleaseModelServiceClient
	experiments pb.ExperimentServiceClient
	sync        sdkpb.SyncServiceClient
	freezes     pb.FreezeServiceClient
}

func newAPI(conn grpc.ClientConnInterface) *api {
	return &api{
		projects:    pb.NewProjectServiceClient(conn),
		flags:       pb.NewFlagServiceClient(conn),
		segments:    pb.NewSegmentServiceClient(conn),
		components:  pb.NewComponentServiceClient(conn),
		evaluation:  sdkpb.NewEvaluationServiceClient(conn),
		audit:       pb.NewAuditServiceClient(conn),
		avail:       sdkpb.NewAvailabilityServiceClient(conn),
		releases:    pb.NewReleaseServiceClient(conn),
		models:      pb.NewReleaseModelServiceClient(conn),
		experiments: pb.NewExperimentServiceClient(conn),
		sync:        sdkpb.NewSyncServiceClient(conn),
		freezes:     pb.NewFreezeServiceClient(conn),
	}
}

// Metadata the server's interceptors read (server/interceptors.go).
const (
	mdAuthorization = "authorization"
	mdPeer          = "x-switchyard-peer" // believed only over the in-process connection
)

// call is the context for an API call on behalf of the session: the
// session's token as bearer credentials and the browser's address for the
// audit log.
func call(r *http.Request, s *Session) context.Context {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return metadata.AppendToOutgoingContext(r.Context(), mdAuthorization, "Bearer "+s.secret, mdPeer, host)
}

// apiError is a failed API call as a page shows it.
type apiError struct {
	// Status is the HTTP status the page answers with.
	Status int
	// Code is the gRPC code.
	Code codes.Code
	// Message is the server's message.
	Message string
	// Fields are the offending field paths with their descriptions, in the
	// server's order.
	Fields []fieldError
}

type fieldError struct {
	Path        string
	Description string
}

// errorOf turns an API error into what a page shows: the HTTP status the
// REST API would answer (400, 403, 404, 409, 429, …) and every field
// violation with its path.
func errorOf(err error) *apiError {
	st := status.Convert(err)
	e := &apiError{Status: runtime.HTTPStatusFromCode(st.Code()), Code: st.Code(), Message: st.Message()}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				e.Fields = append(e.Fields, fieldError{Path: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return e
}

// Headline is a one-line explanation for the top of a page.
func (e *apiError) Headline() string {
	switch e.Code {
	case codes.PermissionDenied:
		return "Your role may not do this: " + e.Message
	case codes.Aborted:
		return "Changed by someone else since you loaded it. Reload to see their change; nothing of yours was saved."
	case codes.NotFound:
		return "Not found: " + e.Message
	case codes.ResourceExhausted:
		return "The server is busy; try again in a moment."
	case codes.InvalidArgument:
		return "Not saved: fix the fields marked below."
	}
	return e.Message
}

// apiFail renders the page for a failed call that leaves nothing else to
// show; an expired or revoked token ends the session.
func (c *Console) apiFail(w http.ResponseWriter, r *http.Request, s *Session, err error) {
	e := errorOf(err)
	if e.Code == codes.Unauthenticated {
		c.sessions.Delete(s.id)
		setCookie(w, r, "")
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	c.fail(w, r, s, e.Status, e.Headline())
}

// user describes the session's principal for the layout.
func userOf(s *Session) *User {
	p := s.principal
	return &User{
		Name:       p.Name,
		Role:       string(p.Role),
		CanEdit:    auth.Authorize(&p, auth.Edit) == nil,
		CanRelease: auth.Authorize(&p, auth.Release) == nil,
		CanAdmin:   auth.Authorize(&p, auth.Admin) == nil,
		KeyID:      p.KeyID,
		Principal:  p.Owner,
	}
}

// layout fills the base layout: the user, the CSRF token and the project
// and environment switcher. A "project" or "env" query parameter changes
// the session's choice; otherwise the previous choice, or the first
// project and environment, applies.
func (c *Console) layout(r *http.Request, s *Session, title, nav string) Layout {
	l := Layout{Title: title, Nav: nav}
	if s == nil {
		return l
	}
	l.User = userOf(s)
	l.CSRF = s.csrf
	l.Error, l.Notice = c.sessions.takeFlash(s)
	ctx := call(r, s)
	project, env := c.sessions.choice(s)
	if q := r.URL.Query().Get("project"); q != "" {
		if q != project {
			env = ""
		}
		project = q
	}
	if q := r.URL.Query().Get("env"); q != "" {
		env = q
	}
	if resp, err := c.api.projects.ListProjects(ctx, &pb.ListProjectsRequest{PageSize: 1000}); err == nil {
		for _, p := range resp.GetProjects() {
			l.Projects = append(l.Projects, p.GetKey())
		}
	}
	if !contains(l.Projects, project) && len(l.Projects) > 0 {
		project = l.Projects[0]
	}
	if project != "" {
		if resp, err := c.api.projects.ListEnvironments(ctx, &pb.ListEnvironmentsRequest{Project: project, PageSize: 1000}); err == nil {
			for _, e := range resp.GetEnvironments() {
				l.Environments = append(l.Environments, e.GetKey())
			}
		}
	}
	if !contains(l.Environments, env) && len(l.Environments) > 0 {
		env = l.Environments[0]
	}
	l.Project, l.Environment = project, env
	c.sessions.choose(s, project, env)
	return l
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// formatPercent shows a rollout weight (0–100000) as a percentage with up
// to three decimals: 50000 → "50", 1234 → "1.234".
func formatPercent(weight int32) string {
	s := strconv.FormatFloat(float64(weight)/1000, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// parsePercent reads a percentage with up to three decimals as a weight:
// "50" → 50000, "1.234" → 1234.
func parsePercent(s string) (int32, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || f < 0 || f > 100 {
		return 0, false
	}
	w := int32(f*1000 + 0.5)
	if float64(w) != f*1000 && abs(float64(w)-f*1000) > 1e-6 {
		return 0, false
	}
	return w, true
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
