package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/server/servertest"
)

// browserless is a cookie-keeping HTTP client signed in to the console.
type browserless struct {
	t    *testing.T
	srv  *servertest.Server
	http *http.Client
}

// signInHTTP signs in with token by posting the sign-in form.
func signInHTTP(t *testing.T, srv *servertest.Server, token string) *browserless {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &browserless{t: t, srv: srv, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	status, _ := c.post("/signin", url.Values{"token": {token}}, "")
	if status != http.StatusSeeOther {
		t.Fatalf("POST /signin = %d, want 303", status)
	}
	return c
}

func (c *browserless) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.srv.HTTPURL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post posts a form; a non-empty origin is sent as the Origin header.
func (c *browserless) post(path string, form url.Values, origin string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.srv.HTTPURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the session's CSRF token from a page.
func (c *browserless) csrf() string {
	c.t.Helper()
	_, body := c.get("/flags")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no CSRF field on /flags: %s", body)
	}
	return m[1]
}

// viewerToken creates an admin token with the viewer role.
func viewerToken(t *testing.T, srv *servertest.Server) string {
	t.Helper()
	resp := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{"name": "vera", "kind": "admin", "role": "viewer"})
	secret, _ := resp["secret"].(string)
	if secret == "" {
		t.Fatalf("POST /api/v1/keys answered no secret: %v", resp)
	}
	return secret
}

func TestForgedPostsAreRefused(t *testing.T) {
	srv := startWithFlag(t)
	admin := signInHTTP(t, srv, srv.Creds.AdminToken)
	token := admin.csrf()
	toggle := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "project": {"default"}, "set": {"on production new-checkout"}, "back": {"/flags"}}
	}
	anonymous := &browserless{t: t, srv: srv, http: &http.Client{}}
	for _, tc := range []struct {
		name   string
		client *browserless
		form   url.Values
		origin string
	}{
		{"no CSRF token", admin, toggle(""), ""},
		{"wrong CSRF token", admin, toggle("AAAA" + token[4:]), ""},
		{"right token from another origin", admin, toggle(token), "http://evil.test"},
		{"no session", anonymous, toggle(token), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := tc.client.post("/switch", tc.form, tc.origin); status != http.StatusForbidden {
				t.Errorf("forged toggle = %d %s, want 403", status, body)
			}
		})
	}
	if v, reason := ofrepValue(t, srv); v != false {
		t.Errorf("after the forged posts OFREP = %v %s, want false (unchanged)", v, reason)
	}
	// The same request with the token and this origin passes.
	if status, body := admin.post("/switch", toggle(token), srv.HTTPURL); status != http.StatusSeeOther {
		t.Fatalf("genuine toggle = %d %s, want 303", status, body)
	}
	if v, _ := ofrepValue(t, srv); v != true {
		t.Errorf("after the genuine toggle OFREP = %v, want true", v)
	}
}

func TestViewerSeesNoMutatingButtonsAndIsRefused(t *testing.T) {
	srv := startWithFlag(t)
	secret := viewerToken(t, srv)

	b := newTab(t, srv)
	b.signIn(secret)
	b.open("/flags")
	b.shot("flags-viewer")
	if n := eval[int](b, `document.querySelectorAll('main form[method=post], main button.switch').length`); n != 0 {
		t.Errorf("a viewer's flag list has %d mutating forms or switches, want 0", n)
	}
	if got := b.text("td .state-text"); got != "○ Off" {
		t.Errorf("a viewer's switch reads %q, want the state as text", got)
	}

	// The server enforces the role regardless of the missing buttons.
	viewer := signInHTTP(t, srv, secret)
	form := url.Values{"csrf": {viewer.csrf()}, "project": {"default"}, "set": {"on production new-checkout"}, "back": {"/flags"}}
	if status, body := viewer.post("/switch", form, ""); status != http.StatusForbidden {
		t.Errorf("a viewer's toggle with a valid CSRF token = %d %s, want 403", status, body)
	}
	if v, _ := ofrepValue(t, srv); v != false {
		t.Errorf("after the viewer's toggle OFREP = %v, want false (unchanged)", v)
	}
}

func TestRevokedTokenEndsTheSession(t *testing.T) {
	srv := startWithFlag(t)
	resp := srv.Admin(t, "POST", "/api/v1/keys", map[string]any{"name": "temp", "kind": "admin", "role": "editor"})
	c := signInHTTP(t, srv, resp["secret"].(string))
	if status, _ := c.get("/flags"); status != http.StatusOK {
		t.Fatalf("GET /flags = %d, want 200", status)
	}
	srv.Admin(t, "DELETE", "/api/v1/keys/"+resp["key"].(map[string]any)["id"].(string), nil)
	if status, _ := c.get("/flags"); status != http.StatusSeeOther {
		t.Fatalf("GET /flags with a revoked token = %d, want 303 to the sign-in page", status)
	}
	if status, _ := c.get("/flags"); status != http.StatusSeeOther {
		t.Errorf("the session outlived the revoked token: GET /flags = %d, want 303", status)
	}
}

func TestSignInRefusesNonAdminKeys(t *testing.T) {
	srv := startWithFlag(t)
	for _, tc := range []struct{ name, token string }{
		{"unknown", "sya_nope"},
		{"sdk key", srv.Creds.SDKKey},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &browserless{t: t, srv: srv, http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			status, body := c.post("/signin", url.Values{"token": {tc.token}}, "")
			if status != http.StatusUnauthorized || !strings.Contains(body, "not accepted") {
				t.Errorf("sign-in with %s = %d, want 401 with the reason", tc.name, status)
			}
		})
	}
}
