package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/switchyard/switchyard/server/servertest"
)

// browserCtx is the one headless Chromium the package's browser tests
// share; each test opens its own browser context (its own cookies) in it.
var browserCtx context.Context

// TestMain starts Chromium once. Without Chromium the browser tests fail
// with a message saying how to install it; they are never skipped.
func TestMain(m *testing.M) {
	os.Exit(runWithBrowser(m))
}

func runWithBrowser(m *testing.M) int {
	execPath, err := chromiumPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "console browser tests:", err)
		return 1
	}
	userData, err := os.MkdirTemp("", "switchyard-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "console browser tests:", err)
		return 1
	}
	defer os.RemoveAll(userData)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(userData),
		chromedp.WindowSize(1280, 800),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		fmt.Fprintf(os.Stderr, "console browser tests: start %s: %v\n", execPath, err)
		return 1
	}
	browserCtx = ctx
	return m.Run()
}

// chromiumPath finds the browser: $SWITCHYARD_CHROMIUM, or chromium (the
// Debian package .ci/run installs), chromium-browser or google-chrome on
// the PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("SWITCHYARD_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found: install Debian's chromium package (apt-get install -y chromium; .ci/run does this) or set SWITCHYARD_CHROMIUM to a Chrome binary")
}

// outputDir is where screenshots go: $SWITCHYARD_TEST_OUTPUT, or
// .test-output at the module root.
func outputDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SWITCHYARD_TEST_OUTPUT")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for dir = wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(dir) == dir {
				t.Fatalf("no go.mod above %s", wd)
			}
		}
		dir = filepath.Join(dir, ".test-output")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one browser context (own cookies) driving one server.
type tab struct {
	t   *testing.T
	ctx context.Context
	srv *servertest.Server
}

// newTab opens a fresh browser context at 1280×800. Every action in it is
// bounded by a minute so a broken page fails the test instead of hanging.
func newTab(t *testing.T, srv *servertest.Server) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelTimeout)
	b := &tab{t: t, ctx: ctx, srv: srv}
	b.do(chromedp.EmulateViewport(1280, 800))
	return b
}

// do runs actions, failing the test on the first error.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// text is the text of the first element matching a CSS selector, once it
// is visible.
func (b *tab) text(sel string) string {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// open navigates to a path of the server and waits for the page.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.srv.HTTPURL+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// signIn signs in with token through the sign-in form.
func (b *tab) signIn(token string) {
	b.t.Helper()
	b.open("/signin")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Main]")),
	)
}

// shot saves a full-page screenshot as console-<name>.png.
func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(outputDir(b.t), "console-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// dark makes the page prefer the dark colour scheme, as a system in dark
// mode does.
func (b *tab) dark() {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	}))
}

// phone switches the viewport to a phone's width.
func (b *tab) phone() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(390, 844))
}
