package browsertest

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/web"
)

var receiptRE = regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{4}$`)

// answers are what the survivor fills in on the report form.
type answers struct {
	About, Danger, When, County string
	What, Help                  []string
	Narrative                   string
}

// report goes from the landing page to the receipt the way a survivor
// does, by clicking, and returns the receipt. It leaves the browser on the
// confirmation page and saves screenshots of the three pages.
func report(t *testing.T, b *browser, lang locale.Lang, a answers) string {
	t.Helper()
	l := string(lang)
	b.shot(l + "-landing")
	status, u := b.navigate(chromedp.Click(chromedp.CSS(`main a[href="/` + l + `/report"]`)))
	if status != http.StatusOK || !strings.HasSuffix(u, "/"+l+"/report") {
		b.fatalf("Report button: status %d at %s", status, u)
	}
	b.shot(l + "-report")

	b.do(chromedp.SendKeys(chromedp.CSS("#narrative"), a.Narrative))
	choose := func(name, value string) {
		b.do(chromedp.Click(chromedp.CSS(`input[name="` + name + `"][value="` + value + `"]`)))
	}
	if a.About != "" {
		choose("about", a.About)
	}
	for _, w := range a.What {
		choose("what", w)
	}
	if a.When != "" {
		choose("when", a.When)
	}
	if a.Danger != "" {
		choose("danger", a.Danger)
	}
	for _, h := range a.Help {
		choose("help", h)
	}
	// Choosing an option of a list needs no page script; the protocol sets
	// it as the phone's picker would.
	b.do(chromedp.SetValue(chromedp.CSS("#county"), a.County))

	status, u = b.navigate(chromedp.Click(chromedp.CSS(`button[name="send"]`)))
	if status != http.StatusOK {
		b.fatalf("sending the report: status %d at %s", status, u)
	}
	receipt := b.text("p.receipt")
	if !receiptRE.MatchString(receipt) {
		b.fatalf("the confirmation shows receipt %q, want 16 digits in groups of four", receipt)
	}
	b.shot(l + "-received")
	return receipt
}

// helpSections are the ids of the help-now sections in page order.
func helpSections(b *browser) []string {
	b.t.Helper()
	var ids []string
	for _, attrs := range run(b, chromedp.AttributesAll(chromedp.CSSAll("main section"))) {
		ids = append(ids, attrs["id"])
	}
	return ids
}

// logIn types the receipt on the check page, expecting the given status:
// http.StatusOK for a login, which shows the report (web.StatusReport).
func logIn(b *browser, lang locale.Lang, receipt string, want int) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS("#receipt"), receipt))
	status, u := b.navigate(chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)))
	ok := want == http.StatusOK
	if ok {
		want = web.StatusReport
	}
	if status != want {
		b.fatalf("logging in with the receipt: status %d at %s, want %d", status, u, want)
	}
	if ok && !strings.HasSuffix(u, "/"+string(lang)+"/check/report") {
		b.fatalf("after the receipt login the browser is at %s", u)
	}
}

// onlyFromSite fails unless every request the page made went to the site
// itself and fetched a document: no font, stylesheet, script or image from
// anywhere, the site included (CSS and the quick-exit script are inline).
func onlyFromSite(t *testing.T, b *browser, reqs []request) {
	t.Helper()
	if len(reqs) == 0 {
		t.Error("no request was recorded: the network listener is not working")
	}
	for _, r := range reqs {
		if u, _ := url.Parse(r.URL); u != nil && strings.HasPrefix(u.Path, "/favicon.ico") {
			t.Errorf("the browser asked for %s by itself: a page that names no icon costs an extra request "+
				"(and a redirect and a 404 page); declare none with <link rel=\"icon\" href=\"data:,\">", u.Path)
			continue
		}
		if h := hostOf(t, r.URL); h != b.site.Host {
			t.Errorf("the page asked another host: %s %s (%s)", r.Method, r.URL, r.Type)
		} else if r.Type != network.ResourceTypeDocument {
			t.Errorf("the page loaded a %s, want documents only: %s %s", r.Type, r.Method, r.URL)
		}
	}
}

// quiet fails if the browser reported an error or a warning: a style or
// script the Content-Security-Policy refused, a header it did not
// understand, a resource that failed to load.
func quiet(t *testing.T, b *browser) {
	t.Helper()
	for _, p := range b.consoleProblems() {
		t.Errorf("the browser reported: %s", p)
	}
}

// noCookies fails if the browser holds any cookie, or the page can see one.
func noCookies(t *testing.T, b *browser, when string) {
	t.Helper()
	for _, c := range b.cookies() {
		t.Errorf("%s: the browser holds cookie %s for %s", when, c.Name, c.Domain)
	}
	if c := run(b, chromedp.Evaluate[string]("document.cookie")); c != "" {
		t.Errorf("%s: document.cookie = %q", when, c)
	}
}

// nothingStored fails if the site left anything in web storage or
// registered a service worker.
func nothingStored(t *testing.T, b *browser) {
	t.Helper()
	if n := run(b, chromedp.Evaluate[int]("localStorage.length + sessionStorage.length")); n != 0 {
		t.Errorf("web storage holds %d items", n)
	}
	if n := run(b, chromedp.Evaluate[int]("navigator.serviceWorker.getRegistrations().then(r => r.length)", chromedp.EvalAwaitPromise)); n != 0 {
		t.Errorf("%d service workers are registered", n)
	}
}

// TestReportWithoutJavaScript is the whole survivor journey with scripts
// off: report, receipt, help-now, receipt login, reply, withdrawal, and a
// login that then fails. It also checks that no page asks another host
// for anything, that no cookie exists before the receipt login, and that
// nothing is left in web storage.
func TestReportWithoutJavaScript(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t, s, false)
	p := s.P[locale.English]

	s.served() // count the journey from the landing page on
	b.open("/en/")
	if got := run(b, chromedp.Evaluate[bool]("document.querySelector('a.exit') !== null")); !got {
		t.Error("the landing page has no Quick exit link")
	}
	noCookies(t, b, "on the landing page")

	narrative := "A man on Instagram says he will post my photos unless I send more. Not my name: Wanjiru-test-7731."
	receipt := report(t, b, locale.English, answers{What: []string{"sextortion"}, Danger: "yes", County: "nairobi", Narrative: narrative})

	// SPEC §8: a whole web report is at most three requests; in a real
	// browser that includes anything it fetched by itself (a favicon).
	want := []string{"GET /en/", "GET /en/report", "POST /en/report"}
	if got := s.served(); !slices.Equal(got, want) {
		t.Errorf("the report took these requests: %q, want %q", got, want)
	}
	sections := helpSections(b)
	if len(sections) == 0 || sections[0] != string(directory.SectionEmergency) {
		t.Errorf("help-now sections %q: want %q first (in danger now)", sections, directory.SectionEmergency)
	}
	if first := b.text("main section"); !strings.Contains(first, "999") || !strings.Contains(first, "112") {
		t.Errorf("the first help-now section does not give 999 and 112:\n%s", first)
	}
	noCookies(t, b, "after the report, before the receipt login")

	// Check my report, from the confirmation page's own link.
	status, u := b.navigate(chromedp.Click(chromedp.CSS(`main a[href="/en/check"]`)))
	if status != http.StatusOK || !strings.HasSuffix(u, "/en/check") {
		b.fatalf("Check my report: status %d at %s", status, u)
	}
	logIn(b, locale.English, receipt, http.StatusOK)
	if !strings.Contains(b.text("main"), narrative) {
		t.Error("the thread page does not show the narrative that was sent")
	}
	cookies := b.cookies()
	if len(cookies) != 1 || cookies[0].Name != "salama_check" {
		t.Errorf("after the receipt login the browser holds %d cookies, want only salama_check", len(cookies))
	} else if c := cookies[0]; !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || !c.Session {
		t.Errorf("salama_check: HttpOnly %v, SameSite %q, session %v; want HttpOnly, Strict, a session cookie", c.HTTPOnly, c.SameSite, c.Session)
	}
	if c := run(b, chromedp.Evaluate[string]("document.cookie")); c != "" {
		t.Errorf("the page can read the login cookie: document.cookie = %q", c)
	}
	b.shot("en-thread")

	reply := "Thank you. I can talk on weekdays after 4pm."
	b.do(chromedp.SendKeys(chromedp.CSS("#text"), reply))
	if status, u := b.navigate(chromedp.Click(chromedp.CSS(`form[action="/en/check/reply"] button`))); status != web.StatusReport {
		b.fatalf("sending a reply: status %d at %s", status, u)
	}
	if !strings.Contains(b.text("main"), reply) {
		t.Error("the reply does not appear in the thread")
	}

	b.do(chromedp.Click(chromedp.CSS(`input[name="confirm"]`)))
	if status, u := b.navigate(chromedp.Click(chromedp.CSS(`form[action="/en/check/withdraw"] button`))); status != http.StatusOK {
		b.fatalf("withdrawing: status %d at %s", status, u)
	}
	if !strings.Contains(b.text("main"), p.T("check.withdrawn")) {
		t.Errorf("after withdrawing the page says:\n%s", b.text("main"))
	}
	noCookies(t, b, "after withdrawing")

	if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`main a[href="/en/help"]`))); status != http.StatusOK {
		b.fatalf("Get help now after withdrawing: status %d", status)
	}
	b.shot("en-help")

	quiet(t, b)
	b.open("/en/check")
	logIn(b, locale.English, receipt, http.StatusNotFound)
	b.consoleProblems() // the browser notes the 404 the test asked for
	if msg := p.T("check.problem_unknown"); !strings.HasPrefix(msg, "No report matches") || !strings.Contains(b.text("main"), msg) {
		t.Errorf("a withdrawn receipt: want %q, the page says:\n%s", msg, b.text("main"))
	}
	noCookies(t, b, "after a failed login")
	nothingStored(t, b)
	onlyFromSite(t, b, b.madeRequests())
	quiet(t, b)
}

// TestReportInKiswahili follows the report in Kiswahili from a phone set
// to Kiswahili, with scripts off, up to the thread page.
func TestReportInKiswahili(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t, s, false)
	p := s.P[locale.Kiswahili]
	b.setAcceptLanguage("sw-KE,sw;q=0.9")

	b.open("/")
	if lang := run(b, chromedp.Attributes(chromedp.CSS("html")))["lang"]; lang != "sw" {
		b.fatalf("the landing page for a Kiswahili phone is in %q", lang)
	}
	narrative := "Mtu alinilazimisha jana usiku baada ya kukutana naye kwenye Facebook. Jina si langu: Achieng-test-5520."
	receipt := report(t, b, locale.Kiswahili, answers{About: "me", What: []string{"sexual_violence"}, When: "72h",
		Danger: "yes", Help: []string{"medical"}, County: "kisumu", Narrative: narrative})

	// Help now: in danger first, then post-rape care (72 hours), each
	// titled in Kiswahili.
	sections := helpSections(b)
	if len(sections) < 2 || sections[0] != string(directory.SectionEmergency) || sections[1] != string(directory.SectionPostRapeCare) {
		t.Errorf("help-now sections %q: want %q then %q first", sections, directory.SectionEmergency, directory.SectionPostRapeCare)
	}
	if got, want := b.text("main section h2"), p.T(directory.SectionEmergency.TitleKey()); got != want {
		t.Errorf("first help-now title %q, want the Kiswahili %q", got, want)
	}
	if first := b.text("main section"); !strings.Contains(first, "999") || !strings.Contains(first, "112") {
		t.Errorf("the first help-now section does not give 999 and 112:\n%s", first)
	}
	if got, want := b.text("#post_rape_care h2"), p.T(directory.SectionPostRapeCare.TitleKey()); got != want {
		t.Errorf("post-rape care title %q, want the Kiswahili %q", got, want)
	}
	noCookies(t, b, "before the receipt login")

	if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`main a[href="/sw/check"]`))); status != http.StatusOK {
		b.fatalf("Angalia ripoti yangu: status %d", status)
	}
	logIn(b, locale.Kiswahili, receipt, http.StatusOK)
	if !strings.Contains(b.text("main"), narrative) {
		t.Error("the thread page does not show the narrative that was sent")
	}
	if got, want := b.text("main h1"), p.T("thread.title"); got != want {
		t.Errorf("thread page title %q, want the Kiswahili %q", got, want)
	}
	b.shot("sw-thread")

	b.open("/sw/help?county=kisumu&need=medical")
	b.shot("sw-help")
	nothingStored(t, b)
	onlyFromSite(t, b, b.madeRequests())
	quiet(t, b)
}

// TestQuickExit: with scripts on, Quick exit replaces the page in the
// history (location.replace), so Back does not return to it; with scripts
// off the plain link still leaves. Neither tells the neutral site where the
// survivor came from.
func TestQuickExit(t *testing.T) {
	s := newSite(t)

	t.Run("with JavaScript", func(t *testing.T) {
		b := newBrowser(t, s, true)
		b.open("/en/")
		if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`main a[href="/en/report"]`))); status != http.StatusOK {
			b.fatalf("Report: status %d", status)
		}
		before := run(b, chromedp.Evaluate[int]("history.length"))
		onlyFromSite(t, b, b.madeRequests())

		status, u := b.navigate(chromedp.Click(chromedp.CSS("a.exit")))
		if status != http.StatusOK || u != s.Exit {
			b.fatalf("Quick exit: status %d at %s, want %s", status, u, s.Exit)
		}
		b.do(chromedp.WaitVisible(chromedp.CSS("#neutral")))
		if after := run(b, chromedp.Evaluate[int]("history.length")); after != before {
			t.Errorf("history.length %d before Quick exit, %d after: the page was not replaced", before, after)
		}
		for _, r := range b.madeRequests() {
			if h := hostOf(t, r.URL); h != s.ExitHost {
				t.Errorf("Quick exit asked %s, want only the exit site %s", r.URL, s.ExitHost)
			}
		}

		// Back must not lead to the page the survivor left: its entry is
		// gone, and the one before it is what Back shows.
		h := run(b, chromedp.NavigationEntries())
		var urls []string
		for _, e := range h.Entries {
			urls = append(urls, e.URL)
		}
		if slices.Contains(urls, s.URL+"/en/report") {
			t.Errorf("the report form is still in the history: %q", urls)
		}
		if i := int(h.CurrentIndex); i < 1 || urls[i] != s.Exit || urls[i-1] != s.URL+"/en/" {
			t.Errorf("history %q at %d: want the landing page, then the exit site, current", urls, i)
		}
		noReferer(t, s)
		quiet(t, b)
	})

	t.Run("without JavaScript", func(t *testing.T) {
		b := newBrowser(t, s, false)
		b.open("/en/report")
		before := run(b, chromedp.Evaluate[int]("history.length"))
		status, u := b.navigate(chromedp.Click(chromedp.CSS("a.exit")))
		if status != http.StatusOK || u != s.Exit {
			b.fatalf("Quick exit: status %d at %s, want %s", status, u, s.Exit)
		}
		// The plain link adds an entry. This also shows that scripts really
		// are off in these tests, after a navigation too.
		if after := run(b, chromedp.Evaluate[int]("history.length")); after != before+1 {
			t.Errorf("history.length %d before Quick exit, %d after: want one more (a plain link, no script)", before, after)
		}
		noReferer(t, s)
		quiet(t, b)
	})
}

func noReferer(t *testing.T, s *site) {
	t.Helper()
	refs := s.exitReferers()
	if len(refs) == 0 {
		t.Error("the neutral site was never asked")
	}
	for _, r := range refs {
		if r != "" {
			t.Errorf("the neutral site was told Referer %q", r)
		}
	}
}
