package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
)

// cookieName names the session cookie.
const cookieName = "switchyard_session"

// SessionOptions bound the sessions a console keeps.
type SessionOptions struct {
	// Idle ends a session not used for this long (default 30 min).
	Idle time.Duration
	// Max ends every session this long after sign-in (default 12 h).
	Max time.Duration
	// Limit is the most sessions kept; signing in beyond it ends the
	// least recently used one (default 10,000).
	Limit int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Session is one signed-in browser. Its fields other than the choice of
// project and environment never change after sign-in.
type Session struct {
	id        string
	secret    string // the admin token, sent as bearer credentials
	principal auth.Principal
	csrf      string
	created   time.Time

	// Guarded by Sessions.mu.
	lastSeen    time.Time
	project     string
	environment string
	flash       string
	notice      string
}

// CSRF is the session's CSRF token.
func (s *Session) CSRF() string { return s.csrf }

// Sessions is the server-side session table: random 256-bit ids, idle and
// absolute expiry, bounded in size. It is safe for concurrent use.
type Sessions struct {
	opts SessionOptions
	mu   sync.Mutex
	byID map[string]*Session
}

// NewSessions returns an empty session table.
func NewSessions(opts SessionOptions) *Sessions {
	if opts.Idle <= 0 {
		opts.Idle = 30 * time.Minute
	}
	if opts.Max <= 0 {
		opts.Max = 12 * time.Hour
	}
	if opts.Limit <= 0 {
		opts.Limit = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sessions{opts: opts, byID: make(map[string]*Session)}
}

// Create starts a session for the principal that secret belongs to. When
// the table is full it first drops expired sessions, then the least
// recently used one.
func (ss *Sessions) Create(secret string, p auth.Principal) *Session {
	now := ss.opts.Now()
	s := &Session{id: randomToken(), secret: secret, principal: p, csrf: randomToken(), created: now, lastSeen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= ss.opts.Limit {
		var oldest *Session
		for id, o := range ss.byID {
			if ss.expired(o, now) {
				delete(ss.byID, id)
				continue
			}
			if oldest == nil || o.lastSeen.Before(oldest.lastSeen) {
				oldest = o
			}
		}
		if len(ss.byID) >= ss.opts.Limit && oldest != nil {
			delete(ss.byID, oldest.id)
		}
	}
	ss.byID[s.id] = s
	return s
}

// Get returns the live session with id and marks it used; an expired
// session is deleted and reported as missing.
func (ss *Sessions) Get(id string) (*Session, bool) {
	return ss.get(id, true)
}

// Peek is Get without marking the session used: a page's background
// polling does not keep an idle session alive.
func (ss *Sessions) Peek(id string) (*Session, bool) {
	return ss.get(id, false)
}

func (ss *Sessions) get(id string, touch bool) (*Session, bool) {
	now := ss.opts.Now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if !ok {
		return nil, false
	}
	if ss.expired(s, now) {
		delete(ss.byID, id)
		return nil, false
	}
	if touch {
		s.lastSeen = now
	}
	return s, true
}

// Delete ends a session.
func (ss *Sessions) Delete(id string) {
	ss.mu.Lock()
	delete(ss.byID, id)
	ss.mu.Unlock()
}

// Len is the number of sessions held, expired ones not yet dropped
// included.
func (ss *Sessions) Len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.byID)
}

// choice returns the session's project and environment.
func (ss *Sessions) choice(s *Session) (project, environment string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return s.project, s.environment
}

// choose sets the session's project and environment.
func (ss *Sessions) choose(s *Session, project, environment string) {
	ss.mu.Lock()
	s.project, s.environment = project, environment
	ss.mu.Unlock()
}

// flash keeps a message for the session's next page.
func (ss *Sessions) flash(s *Session, msg string) {
	ss.mu.Lock()
	s.flash = msg
	ss.mu.Unlock()
}

// notify keeps a success message for the session's next page.
func (ss *Sessions) notify(s *Session, msg string) {
	ss.mu.Lock()
	s.notice = msg
	ss.mu.Unlock()
}

// takeFlash returns and clears the session's error and success messages.
func (ss *Sessions) takeFlash(s *Session) (errMsg, notice string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	errMsg, notice = s.flash, s.notice
	s.flash, s.notice = "", ""
	return errMsg, notice
}

func (ss *Sessions) expired(s *Session, now time.Time) bool {
	return now.Sub(s.lastSeen) >= ss.opts.Idle || now.Sub(s.created) >= ss.opts.Max
}

// randomToken is 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidCSRF reports whether token is the session's CSRF token, comparing in
// constant time.
func (s *Session) ValidCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

// sameOrigin reports whether a state-changing request came from a page of
// this server: its Origin header, or else its Referer, names r's host. A
// request with neither (not a browser's) passes this check; the CSRF token
// still applies.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host && u.Scheme == scheme(r)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && u.Host == r.Host
	}
	return true
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// session returns the request's live session and marks it used.
func (c *Console) session(r *http.Request) (*Session, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return nil, false
	}
	return c.sessions.Get(ck.Value)
}

// setCookie sets (or, with an empty value, clears) the session cookie:
// HttpOnly, SameSite=Strict, Path=/, Secure when the request came over TLS.
func setCookie(w http.ResponseWriter, r *http.Request, value string) {
	ck := &http.Cookie{
		Name: cookieName, Value: value, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	}
	if value == "" {
		ck.MaxAge = -1
	}
	http.SetCookie(w, ck)
}

// handler is a page or action handler with the request's session.
type handler func(w http.ResponseWriter, r *http.Request, s *Session)

// page wraps a read-only page: without a session it redirects to the
// sign-in page, naming the page to come back to.
func (c *Console) page(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r, s)
	})
}

// live wraps a fragment the page's poller fetches: without a session it
// answers 401 (the poller leaves the page as it is), and polling does not
// count as use of the session, so an unattended page still goes idle.
func (c *Console) live(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(cookieName)
		if err != nil {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		s, ok := c.sessions.Peek(ck.Value)
		if !ok {
			http.Error(w, "not signed in (or the session expired)", http.StatusUnauthorized)
			return
		}
		h(w, r, s)
	})
}

// action wraps a state-changing request: it needs a session, a same-origin
// Origin/Referer and the session's CSRF token in the "csrf" form field or
// the X-CSRF-Token header; anything else is refused with 403 before the
// handler runs.
func (c *Console) action(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r) {
			http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
			return
		}
		s, ok := c.session(r)
		if !ok {
			http.Error(w, "forbidden: not signed in (or the session expired)", http.StatusForbidden)
			return
		}
		token := r.Header.Get("X-CSRF-Token")
		if token == "" {
			token = r.PostFormValue("csrf")
		}
		if !s.ValidCSRF(token) {
			http.Error(w, "forbidden: missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		h(w, r, s)
	})
}

// signinPage is the sign-in form.
type signinPage struct {
	Layout
	Next string
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "signin", &signinPage{Layout: Layout{Title: "Sign in"}, Next: safeNext(r.URL.Query().Get("next"))})
}

// signin checks the posted admin token and starts a session. The token
// travels only in the POST body and lives only in the server-side session.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
		return
	}
	secret := r.PostFormValue("token")
	next := safeNext(r.PostFormValue("next"))
	p, err := c.identify(secret)
	if err == nil && p.Kind != auth.KindAdmin {
		err = auth.ErrPermissionDenied
	}
	if err != nil {
		page := &signinPage{Layout: Layout{Title: "Sign in"}, Next: next}
		page.Error = "That token was not accepted. Sign in with an admin token (any role)."
		c.render(w, http.StatusUnauthorized, "signin", page)
		return
	}
	s := c.sessions.Create(secret, p)
	setCookie(w, r, s.id)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, s *Session) {
	c.sessions.Delete(s.id)
	setCookie(w, r, "")
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in destination on this site: a path, never a
// URL of another host.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) {
		return "/flags"
	}
	return next
}
