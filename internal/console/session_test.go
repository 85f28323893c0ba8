package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/auth"
)

// clock is a settable time for session tests.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestSessionsIdleExpiry(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	ss := NewSessions(SessionOptions{Idle: 30 * time.Minute, Now: clk.Now})
	s := ss.Create("secret", auth.Principal{Name: "a"})
	clk.now = clk.now.Add(29 * time.Minute)
	if _, ok := ss.Get(s.id); !ok {
		t.Fatal("Get after 29 idle minutes = missing, want the session")
	}
	clk.now = clk.now.Add(30 * time.Minute)
	if _, ok := ss.Get(s.id); ok {
		t.Fatal("Get after 30 idle minutes = found, want expired")
	}
	if ss.Len() != 0 {
		t.Errorf("Len after expiry = %d, want 0 (the expired session dropped)", ss.Len())
	}
}

func TestSessionsPeekDoesNotKeepASessionAlive(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	ss := NewSessions(SessionOptions{Idle: 30 * time.Minute, Now: clk.Now})
	s := ss.Create("secret", auth.Principal{})
	for range 3 { // a page polling every 20 minutes
		clk.now = clk.now.Add(20 * time.Minute)
		ss.Peek(s.id)
	}
	if _, ok := ss.Peek(s.id); ok {
		t.Fatal("Peek after 60 minutes of polling only = found, want expired")
	}
}

func TestSessionsAbsoluteExpiry(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	ss := NewSessions(SessionOptions{Idle: time.Hour, Max: 2 * time.Hour, Now: clk.Now})
	s := ss.Create("secret", auth.Principal{})
	for i := 0; i < 3; i++ { // used every 50 minutes, never idle
		clk.now = clk.now.Add(50 * time.Minute)
		_, ok := ss.Get(s.id)
		if want := i < 2; ok != want {
			t.Fatalf("Get at %d min = %v, want %v", (i+1)*50, ok, want)
		}
	}
}

func TestSessionsBoundedDropsLeastRecentlyUsed(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	ss := NewSessions(SessionOptions{Limit: 2, Now: clk.Now})
	a := ss.Create("a", auth.Principal{})
	clk.now = clk.now.Add(time.Second)
	b := ss.Create("b", auth.Principal{})
	clk.now = clk.now.Add(time.Second)
	ss.Get(a.id) // a is now more recent than b
	clk.now = clk.now.Add(time.Second)
	c := ss.Create("c", auth.Principal{})
	if ss.Len() != 2 {
		t.Fatalf("Len = %d, want the limit 2", ss.Len())
	}
	for _, tc := range []struct {
		name string
		s    *Session
		want bool
	}{{"a", a, true}, {"b", b, false}, {"c", c, true}} {
		if _, ok := ss.Get(tc.s.id); ok != tc.want {
			t.Errorf("Get(%s) = %v, want %v", tc.name, ok, tc.want)
		}
	}
}

func TestSessionIDsAndCSRFTokensAreRandom256Bit(t *testing.T) {
	ss := NewSessions(SessionOptions{})
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		s := ss.Create("x", auth.Principal{})
		for _, v := range []string{s.id, s.csrf} {
			if len(v) != 43 { // 32 bytes, base64url without padding
				t.Fatalf("token %q has %d characters, want 43", v, len(v))
			}
			if seen[v] {
				t.Fatalf("token %q repeated", v)
			}
			seen[v] = true
		}
	}
}

func TestValidCSRF(t *testing.T) {
	s := NewSessions(SessionOptions{}).Create("x", auth.Principal{})
	for _, tc := range []struct {
		name  string
		token string
		want  bool
	}{
		{"right", s.csrf, true},
		{"empty", "", false},
		{"wrong", randomToken(), false},
		{"prefix", s.csrf[:10], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.ValidCSRF(tc.token); got != tc.want {
				t.Errorf("ValidCSRF(%q) = %v, want %v", tc.token, got, tc.want)
			}
		})
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		name, origin, referer string
		want                  bool
	}{
		{"same origin", "http://console.test", "", true},
		{"other origin", "http://evil.test", "", false},
		{"other scheme", "https://console.test", "", false},
		{"null origin", "null", "", false},
		{"same referer", "", "http://console.test/flags", true},
		{"other referer", "", "http://evil.test/x", false},
		{"neither (not a browser)", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://console.test/flags/x/toggle", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.referer != "" {
				r.Header.Set("Referer", tc.referer)
			}
			if got := sameOrigin(r); got != tc.want {
				t.Errorf("sameOrigin(Origin %q, Referer %q) = %v, want %v", tc.origin, tc.referer, got, tc.want)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/flags"},
		{"/segments?x=1", "/segments?x=1"},
		{"//evil.test/", "/flags"},
		{`/\evil.test`, "/flags"},
		{"https://evil.test/", "/flags"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		text   string
		weight int32
	}{{"50", 50000}, {"1.234", 1234}, {"0", 0}, {"100", 100000}, {"0.001", 1}} {
		if got := formatPercent(tc.weight); got != tc.text {
			t.Errorf("formatPercent(%d) = %q, want %q", tc.weight, got, tc.text)
		}
		if got, ok := parsePercent(tc.text); !ok || got != tc.weight {
			t.Errorf("parsePercent(%q) = %d, %v, want %d", tc.text, got, ok, tc.weight)
		}
	}
	for _, bad := range []string{"", "x", "-1", "101", "0.0001"} {
		if got, ok := parsePercent(bad); ok {
			t.Errorf("parsePercent(%q) = %d, want refused", bad, got)
		}
	}
}
