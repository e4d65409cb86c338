package browsertest

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/salama-ke/salama/internal/demo"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/totp"
)

// AxeEnv names the file of axe-core's axe.min.js (npm's axe-core package;
// .ci/run installs it).
const AxeEnv = "SALAMA_TEST_AXE"

var axeScript = sync.OnceValues(func() (string, error) {
	path := os.Getenv(AxeEnv)
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	return string(b), err
})

// axeSource returns axe-core, or skips the test without it (and fails it in
// CI, which must have it).
func axeSource(t *testing.T) string {
	t.Helper()
	src, err := axeScript()
	if err != nil {
		t.Fatalf("%s: %v", AxeEnv, err)
	}
	if src == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("the accessibility tests need axe-core in CI: set %s to axe.min.js (.ci/run does)", AxeEnv)
		}
		t.Skipf("accessibility tests need axe-core: npm install axe-core@4, then set %s to its axe.min.js", AxeEnv)
	}
	return src
}

// violation is one axe-core rule a page breaks.
type violation struct {
	ID, Impact, Help string
	Nodes            []string // CSS selectors of the first few elements
}

// axeRun is evaluated in the page after axe-core itself: the WCAG 2.1 A and
// AA rules and axe's best practices, reduced to what a failure message
// needs.
const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']})
	.then(r => r.violations.map(v => ({ID: v.id, Impact: v.impact || '', Help: v.help, Nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`

// checkA11y runs axe-core on the page the browser shows and fails the test
// on every serious or critical violation; lesser ones are logged.
func checkA11y(t *testing.T, b *browser, src, page string) {
	t.Helper()
	// DevTools evaluation is not subject to the page's
	// Content-Security-Policy, so the page needs no exception for axe.
	if !run(b, chromedp.Evaluate[bool](src+"\n;typeof axe === 'object'")) {
		b.fatalf("%s: axe-core did not load", page)
	}
	vs := run(b, chromedp.Evaluate[[]violation](axeRun, chromedp.EvalAwaitPromise))
	for _, v := range vs {
		msg := fmt.Sprintf("%s: %s (%s): %s, at %s", page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, " | "))
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}

// TestAccessibility runs axe-core over every public page in both languages,
// the pages that only a submission or a receipt login reach included, and
// over the console's login, inbox and report pages. Each part has a browser
// of its own.
func TestAccessibility(t *testing.T) {
	src := axeSource(t)
	s := newSite(t)
	for _, lang := range locale.Langs {
		t.Run(string(lang), func(t *testing.T) {
			b := newBrowser(t, s, true)
			l := string(lang)
			for _, path := range []string{"/" + l + "/", "/" + l + "/report", "/" + l + "/tip", "/" + l + "/help",
				"/" + l + "/help?county=kisumu&need=medical", "/" + l + "/check"} {
				b.open(path)
				checkA11y(t, b, src, path)
			}
			// A form sent back with a problem, and the 404 page.
			b.open("/" + l + "/check")
			logIn(b, lang, "1234 5678 9012 3456", http.StatusNotFound)
			checkA11y(t, b, src, "/"+l+"/check with an unknown receipt")
			if status, _ := b.navigate(chromedp.Navigate(s.URL + "/" + l + "/no-such-page")); status != http.StatusNotFound {
				b.fatalf("a page that does not exist: status %d", status)
			}
			checkA11y(t, b, src, "/"+l+"/no-such-page (404)")

			b.open("/" + l + "/")
			receipt := report(t, b, lang, answers{What: []string{"sextortion", "sexual_violence"}, When: "72h", Danger: "yes",
				Help: []string{"medical"}, County: "mombasa", Narrative: "Accessibility test report."})
			checkA11y(t, b, src, "/"+l+"/report, the confirmation")
			b.open("/" + l + "/check")
			logIn(b, lang, receipt, http.StatusOK)
			checkA11y(t, b, src, "/"+l+"/check/report, the thread")
			b.consoleProblems() // the 404s asked for above
			quiet(t, b)
		})
	}
	t.Run("console", func(t *testing.T) {
		b := newBrowser(t, s, true)
		b.open("/console/login")
		checkA11y(t, b, src, "/console/login")
		consoleLogin(t, b, s, "demo-caseworker")
		checkA11y(t, b, src, "/console/ (inbox)")
		openFirstCase(b)
		checkA11y(t, b, src, "/console/reports/… (a report)")
		quiet(t, b)
	})
	t.Run("console admin", func(t *testing.T) {
		b := newBrowser(t, s, true)
		consoleLogin(t, b, s, "demo-admin")
		b.open("/console/alerts")
		if got := b.text("main h1"); !strings.HasPrefix(got, "Alerts for") {
			b.fatalf("the Alerts page is %q", got)
		}
		checkA11y(t, b, src, "/console/alerts")
		b.shot("console-alerts")
		quiet(t, b)
	})
}

// TestConsoleLoginWithTOTP logs a caseworker in as they would: username,
// password and the six-digit code their authenticator app shows. It keeps
// screenshots of the inbox and of a report as artefacts.
func TestConsoleLoginWithTOTP(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t, s, true)

	// A wrong code first: the form comes back, and no session exists.
	acct := account(t, s, "demo-caseworker")
	b.open("/console/login")
	b.do(chromedp.SendKeys(chromedp.CSS("#username"), acct.Username),
		chromedp.SendKeys(chromedp.CSS("#password"), acct.Password),
		chromedp.SendKeys(chromedp.CSS("#code"), wrongCode(acct.TOTP)))
	if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type="submit"]`))); status != http.StatusUnauthorized {
		b.fatalf("a wrong TOTP code: status %d, want 401", status)
	}
	if got := b.text("main p.problem"); !strings.Contains(got, "Wrong username, password or code") {
		t.Errorf("a wrong code says %q", got)
	}
	if n := len(b.cookies()); n != 0 {
		t.Errorf("after a failed login the browser holds %d cookies", n)
	}
	b.consoleProblems() // the 401 the test asked for

	consoleLogin(t, b, s, "demo-caseworker")
	cookies := b.cookies()
	if len(cookies) != 1 || cookies[0].Name != "salama_console" || !cookies[0].HTTPOnly || cookies[0].Path != "/console" {
		t.Errorf("after logging in the browser holds %+v, want one HttpOnly salama_console cookie for /console", cookies)
	}
	// The demo's example reports are in the intake organisation's inbox,
	// most urgent first: the trafficking report says danger now.
	if rows := run(b, chromedp.Evaluate[int](`document.querySelectorAll('main tbody a[href^="/console/reports/"]').length`)); rows < 3 {
		t.Errorf("the inbox lists %d reports, want the demo's", rows)
	}
	if first := b.text("main tbody tr"); !strings.Contains(first, "Danger now") {
		t.Errorf("the first inbox row is not the report in danger now: %q", first)
	}
	b.shot("console-inbox")

	openFirstCase(b)
	if !strings.Contains(b.text("main"), "(Example report.)") {
		t.Errorf("the report page does not show the survivor's words:\n%s", b.text("main"))
	}
	b.shot("console-report")

	if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`))); status != http.StatusOK {
		b.fatalf("logging out: status %d", status)
	}
	if n := len(b.cookies()); n != 0 {
		t.Errorf("after logging out the browser holds %d cookies", n)
	}
	quiet(t, b)
}

func account(t *testing.T, s *site, username string) demo.Account {
	t.Helper()
	for _, a := range s.App.Demo.Accounts {
		if a.Username == username {
			return a
		}
	}
	t.Fatalf("the demo has no account %q", username)
	return demo.Account{}
}

// consoleLogin logs in through the console's login page, typing the code an
// authenticator app would show now, and expects the inbox.
func consoleLogin(t *testing.T, b *browser, s *site, username string) {
	t.Helper()
	acct := account(t, s, username)
	b.open("/console/login")
	b.do(chromedp.SendKeys(chromedp.CSS("#username"), acct.Username),
		chromedp.SendKeys(chromedp.CSS("#password"), acct.Password))
	b.do(chromedp.SendKeys(chromedp.CSS("#code"), totp.Code(acct.TOTP, time.Now())))
	status, u := b.navigate(chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type="submit"]`)))
	if status != http.StatusOK || !strings.HasSuffix(u, "/console/") {
		b.fatalf("console login: status %d at %s:\n%s", status, u, b.text("main"))
	}
	if got := b.text("main h1"); got != "Inbox" {
		b.fatalf("after logging in the page is %q, want the inbox", got)
	}
}

// openFirstCase follows the inbox's first report link.
func openFirstCase(b *browser) {
	b.t.Helper()
	status, u := b.navigate(chromedp.Click(chromedp.CSS(`main tbody a[href^="/console/reports/"]`)))
	if status != http.StatusOK || !strings.Contains(u, "/console/reports/") {
		b.fatalf("opening a report from the inbox: status %d at %s", status, u)
	}
}

// wrongCode is a six-digit code that is not the current one (nor the one
// before or after, which the server also accepts for clock drift).
func wrongCode(s totp.Secret) string {
	now := time.Now()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		valid[totp.Code(s, now.Add(d))] = true
	}
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", (123456+i*7919)%1_000_000)
		if !valid[c] {
			return c
		}
	}
}
