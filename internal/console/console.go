// Package console is Switchyard's operations console: server-rendered HTML
// pages for release managers and product owners, served by the same binary
// at / on the HTTP listener.
//
// Every read and every action goes through the gRPC services the REST API
// uses, over the server's in-process client connection, with the signed-in
// token as bearer credentials: the same interceptors, permission table,
// validation and audit apply, and there is no second path around them. The
// console adds sessions (an HttpOnly, SameSite=Strict cookie naming a
// server-side session), CSRF protection on every state-changing request and
// the pages. Templates are parsed once at start from embedded files; a
// handler fills a page struct and a template renders it.
package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/switchyard/switchyard/internal/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure New.
type Options struct {
	// Conn reaches the gRPC services; the server passes its in-process
	// gateway connection.
	Conn grpc.ClientConnInterface
	// Identify tells who a secret presented from the client address addr
	// belongs to, counting a failure against addr (auth.ErrThrottled once
	// addr has failed too often). The console asks it only to decide which
	// buttons to render and to name the signed-in user; every call is
	// still authorized by the server's interceptors.
	Identify func(addr, secret string) (auth.Principal, error)
	// Log receives errors the console cannot show to the user.
	Log *slog.Logger
	// Sessions bound the server-side sessions; zero fields take defaults.
	Sessions SessionOptions
}

// Console serves the console's pages. It is an http.Handler.
type Console struct {
	api      *api
	identify func(addr, secret string) (auth.Principal, error)
	log      *slog.Logger
	sessions *Sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New parses the templates and builds the console. It fails only when a
// template does not parse.
func New(opts Options) (*Console, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	c := &Console{
		api:      newAPI(opts.Conn),
		identify: opts.Identify,
		log:      opts.Log,
		sessions: NewSessions(opts.Sessions),
		pages:    pages,
		mux:      http.NewServeMux(),
	}
	c.routes()
	return c, nil
}

// routes registers every page. Pages that need a session are wrapped by
// c.page (GET), c.live (fragments the page's poller refreshes, see
// fragment) and c.action (state-changing, CSRF-checked).
func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /static/", cacheStatic(http.StripPrefix("/static/", http.FileServerFS(static))))
	c.mux.HandleFunc("GET /signin", c.signinForm)
	c.mux.HandleFunc("POST /signin", c.signin)
	c.mux.Handle("POST /signout", c.action(c.signout))
	c.mux.Handle("GET /{$}", c.page(func(w http.ResponseWriter, r *http.Request, s *Session) {
		http.Redirect(w, r, "/flags", http.StatusSeeOther)
	}))
	c.mux.Handle("GET /styleguide", c.page(c.styleguide))
	c.releaseRoutes()
	c.experimentRoutes()
	c.calendarRoutes()

	c.mux.Handle("GET /flags", c.page(c.flagList))
	c.mux.Handle("POST /flags", c.action(c.createFlag))
	c.mux.Handle("GET /fragments/flags", c.live(c.flagRows))
	c.mux.Handle("GET /flags/{key}", c.page(c.flagPage))
	c.mux.Handle("POST /switch", c.action(c.flagToggle))
	c.mux.Handle("POST /flags/{key}", c.action(c.saveFlag))
	c.mux.Handle("POST /flags/{key}/targeting", c.action(c.flagTargeting))

	c.mux.Handle("GET /evaluate", c.page(c.evaluateForm))
	c.mux.Handle("POST /evaluate", c.action(c.evaluate))

	c.mux.Handle("GET /segments", c.page(c.segmentList))
	c.mux.Handle("POST /segments", c.action(c.createSegment))
	c.mux.Handle("GET /segments/{key}", c.page(c.segmentPage))
	c.mux.Handle("POST /segments/{key}", c.action(c.saveSegment))
	c.mux.Handle("POST /segments/{key}/keys", c.action(c.segmentKeys))

	c.mux.Handle("GET /components", c.page(c.componentList))
	c.mux.Handle("GET /components/{key}", c.page(c.componentPage))
	c.mux.Handle("POST /components/{key}/versions", c.action(c.registerVersion))
	c.mux.Handle("POST /components/{key}/versions/{version}/withdraw", c.action(c.withdrawVersion))
	c.mux.Handle("POST /components/{key}/simulate", c.action(c.simulate))

	c.mux.Handle("GET /audit", c.page(c.auditLog))

	// Any other path is 404: through the layout when signed in, plainly
	// otherwise (never a redirect that would answer 200 for any path).
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			http.Error(w, "404 page not found (the console is at /signin)", http.StatusNotFound)
			return
		}
		c.fail(w, r, s, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
}

// ServeHTTP serves a console page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.mux.ServeHTTP(w, r)
}

// cacheStatic lets browsers keep the embedded assets for an hour.
func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// parseTemplates parses base.html with each other template into one
// template set per page, keyed by the page file's name without ".html".
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template)
	for _, name := range names {
		base := path.Base(name)
		if base == "base.html" {
			continue
		}
		t, err := template.New(base).Funcs(templateFuncs).ParseFS(templateFS, "templates/base.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

// templateFuncs are the formatting helpers templates may call; they hold
// no page logic.
var templateFuncs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"percent": func(weight int32) string {
		return formatPercent(weight)
	},
	"add": func(a, b int) int { return a + b },
	// args passes named values to a sub-template: args "F" x "Blank" true.
	"args": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("args: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("args: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// Layout is what the base layout needs on every page.
type Layout struct {
	Title string
	// Nav is the active navigation entry ("flags", "segments", …).
	Nav string
	// User is the signed-in principal; nil on the sign-in page.
	User *User
	// CSRF is the session's CSRF token for forms.
	CSRF string
	// Projects and Environments fill the switcher; Project and Environment
	// are the current choice.
	Projects     []string
	Project      string
	Environments []string
	Environment  string
	// Error is a page-level error message, Status its HTTP status.
	Error  string
	Notice string
}

// User is the signed-in principal as the layout shows it.
type User struct {
	Name string
	Role string
	// CanEdit, CanRelease and CanAdmin decide which buttons exist; the
	// server enforces the same permissions regardless.
	CanEdit    bool
	CanRelease bool
	CanAdmin   bool
	// KeyID and Principal identify the signed-in key and who holds it,
	// so the pages hide what the server refuses to this person (such as
	// approving a release they requested).
	KeyID, Principal string
}

// render executes page's template with data (a struct embedding Layout)
// into a buffer and writes it with status, so a failing template never
// sends half a page.
func (c *Console) render(w http.ResponseWriter, status int, page string, data any) {
	t, ok := c.pages[page]
	if !ok {
		c.log.Error("console: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
		c.log.Error("console: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is the layout alone with an error.
type errorPage struct {
	Layout
}

// fail renders an error page with status and msg.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *Session, status int, msg string) {
	p := errorPage{Layout: c.layout(r, s, http.StatusText(status), "")}
	p.Error = msg
	c.render(w, status, "error", &p)
}

// styleguide shows every component of the console in one place.
func (c *Console) styleguide(w http.ResponseWriter, r *http.Request, s *Session) {
	c.render(w, http.StatusOK, "styleguide", &errorPage{Layout: c.layout(r, s, "Style guide", "")})
}
