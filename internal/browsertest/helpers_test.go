package browsertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/testkit"
	"github.com/salama-ke/salama/internal/web"
)

// testTimeout bounds each browser's life, its start included: a bound for
// a hung browser, not a speed check (a loaded CI machine is slow).
const testTimeout = 3 * time.Minute

// chromium returns the browser to drive, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("SALAMA_TEST_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skip("browser tests need Chromium: set SALAMA_TEST_CHROMIUM or install Debian's chromium (.ci/run does)")
	}
	return path
}

// site is the app serving its public pages on a loopback port, with Quick
// exit pointing at a second local server (the machine has no network, and a
// test must not leave it anyway).
type site struct {
	App  *app.App
	URL  string // http://127.0.0.1:port, no trailing slash
	Host string // 127.0.0.1:port
	P    map[locale.Lang]*locale.Printer

	Exit     string // the Quick exit URL
	ExitHost string

	mu       sync.Mutex
	requests []string // "GET /en/report", as the site saw them
	exitRefs []string // Referer headers the neutral page was asked with
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{P: map[locale.Lang]*locale.Printer{}}

	neutral := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/weather" {
			http.NotFound(w, r) // the browser asking for its favicon
			return
		}
		s.mu.Lock()
		s.exitRefs = append(s.exitRefs, r.Header.Get("Referer"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>Weather</title><h1 id="neutral">Weather today</h1><p>Sunny, 24°C.</p></html>`)
	}))
	t.Cleanup(neutral.Close)
	s.Exit = neutral.URL + "/weather"
	s.ExitHost = hostOf(t, neutral.URL)

	cfg := web.DefaultConfig()
	cfg.ExitURL = s.Exit
	a, err := app.New(t.Context(), app.Options{DataDir: t.TempDir(), KDFParams: seal.TestKDFParams,
		Demo: true, Web: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	s.App = a
	for _, l := range locale.Langs {
		s.P[l] = a.Catalog.Printer(l)
	}
	h := a.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Host = hostOf(t, srv.URL)
	return s
}

// served returns the requests the site has seen since the last call.
func (s *site) served() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

func (s *site) exitReferers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.exitRefs...)
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// request is one request the page made, as the browser reported it.
type request struct {
	URL, Method string
	Type        network.ResourceType
}

// browser is one Chromium with one tab, started for one test.
type browser struct {
	t     *testing.T
	ctx   context.Context
	site  *site
	shots string // where screenshots go

	mu       sync.Mutex
	requests []request
	problems []string // console errors and warnings, uncaught exceptions
}

// newBrowser starts Chromium with a fresh profile and a phone-sized
// viewport. With js false, the page runs no script at all, as in Tor
// Browser's safest mode; the test itself still reads the page through the
// DevTools protocol.
func newBrowser(t *testing.T, s *site, js bool) *browser {
	t.Helper()
	exe := chromium(t)
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	var stderr testkit.LogBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Belt and braces: a name that is not loopback resolves to
		// nothing, so a stray request fails here instead of leaving.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.CombinedOutput(&stderr),
	)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	b := &browser{t: t, site: s, shots: artifacts(t)}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
		if t.Failed() {
			// Without a system bus Chromium complains about D-Bus at
			// length; the rest can explain a failure.
			var useful []string
			for _, line := range strings.Split(stderr.String(), "\n") {
				if line != "" && !strings.Contains(line, "dbus") {
					useful = append(useful, line)
				}
			}
			if len(useful) > 0 {
				t.Logf("chromium output:\n%s", strings.Join(useful, "\n"))
			}
		}
	})
	b.ctx = tabCtx
	b.do(chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile))
	if !js {
		if _, err := chromedp.Call(tabCtx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("disabling JavaScript: %v", err)
		}
	}
	return b
}

// listen runs in the tab's event loop: record, and return at once.
func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, request{URL: e.Request.URL, Method: e.Request.Method, Type: e.Type})
	case *cdplog.EventEntryAdded:
		// The browser's own messages: a style or script the
		// Content-Security-Policy refused, a bad header, a failed load.
		if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
			b.problems = append(b.problems, fmt.Sprintf("%s %s: %s (%s)", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			b.problems = append(b.problems, fmt.Sprintf("console.%s", e.Type))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+e.ExceptionDetails.Text)
	}
}

// consoleProblems returns what the browser complained about since the last
// call.
func (b *browser) consoleProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// madeRequests returns the requests the page made since the last call.
func (b *browser) madeRequests() []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.requests
	b.requests = nil
	return r
}

// setAcceptLanguage makes the browser ask for these languages, as a phone
// set to Kiswahili does.
func (b *browser) setAcceptLanguage(langs string) {
	b.t.Helper()
	v, err := chromedp.CallBrowser(b.ctx, cdpbrowser.GetVersion, cdp.Empty{})
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetUserAgentOverride,
		emulation.SetUserAgentOverrideParams{UserAgent: v.UserAgent, AcceptLanguage: langs}); err != nil {
		b.t.Fatal(err)
	}
}

// do runs actions that return nothing, failing the test on error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fatalf("%v", err)
	}
}

// run runs one action that returns a value.
func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.fatalf("%v", err)
	}
	return v
}

// navigate runs actions that load a new page (a click on a link or a
// button) and returns the status and the URL of the page that loaded.
func (b *browser) navigate(actions ...chromedp.Action[chromedp.Void]) (int, string) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, actions...)
	if err != nil {
		b.fatalf("waiting for a page: %v", err)
	}
	return int(resp.Status), resp.URL
}

// open loads a path of the site and expects 200.
func (b *browser) open(path string) {
	b.t.Helper()
	status, _ := b.navigate(chromedp.Navigate(b.site.URL + path))
	if status != http.StatusOK {
		b.fatalf("GET %s: status %d", path, status)
	}
}

// text is what a reader sees in the first element that matches css.
func (b *browser) text(css string) string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS(css)))
}

// cookies are every cookie the browser holds, for any site.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.CallBrowser(b.ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		b.fatalf("reading cookies: %v", err)
	}
	return res.Cookies
}

// shot saves a full-page PNG screenshot.
func (b *browser) shot(name string) {
	b.t.Helper()
	png := run(b, chromedp.FullScreenshot(100)) // quality 100 is PNG
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// fatalf saves what the browser shows before failing, for whoever reads the
// CI artifacts.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if b.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
			path := filepath.Join(b.shots, "FAILED-"+strings.ReplaceAll(b.t.Name(), "/", "-")+".png")
			if os.WriteFile(path, png, 0o644) == nil {
				msg += "\n(the page at the failure: " + path + ")"
			}
		}
	}
	b.t.Fatal(msg)
}

// artifacts is where screenshots go: SALAMA_TEST_ARTIFACTS when set (CI
// keeps it), else a temporary directory of the test.
func artifacts(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("SALAMA_TEST_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}
