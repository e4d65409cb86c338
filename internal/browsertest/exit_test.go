package browsertest

import (
	"context"
	"database/sql"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/salama-ke/salama/internal/locale"
)

var anyReceiptRE = regexp.MustCompile(`\d{4} \d{4} \d{4} \d{4}`)

// TestQuickExitEndsReceiptLogin (SPEC §6 "Shown once"): after a receipt
// login, Quick exit ends the session on the server. Back, and "Check my
// report" in the same browser, then show the login form, never the report;
// going further back to the confirmation never shows the code again. With
// scripts on (location.replace) and off (the plain link).
func TestQuickExitEndsReceiptLogin(t *testing.T) {
	s := newSite(t)
	for _, js := range []bool{true, false} {
		name := map[bool]string{true: "with JavaScript", false: "without JavaScript"}[js]
		t.Run(name, func(t *testing.T) {
			b := newBrowser(t, s, js)
			b.open("/en/")
			narrative := "He keeps the video and says he will send it to my school. Exit-test-" + strings.ReplaceAll(name, " ", "-")
			receipt := report(t, b, locale.English, answers{What: []string{"sextortion"}, Danger: "no", County: "kisumu", Narrative: narrative})
			if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`main a[href="/en/check"]`))); status != http.StatusOK {
				b.fatalf("Check my report: status %d", status)
			}
			logIn(b, locale.English, receipt, http.StatusOK)
			if !strings.Contains(b.text("main"), narrative) {
				b.fatalf("the thread does not show the report")
			}

			status, u := b.navigate(chromedp.Click(chromedp.CSS("a.exit")))
			if status != http.StatusOK || u != s.Exit {
				b.fatalf("Quick exit: status %d at %s, want %s", status, u, s.Exit)
			}
			b.do(chromedp.WaitVisible(chromedp.CSS("#neutral")))
			noCookies(t, b, "after Quick exit")
			if n := sessions(t, s); n != 0 {
				t.Errorf("%d receipt sessions left on the server after Quick exit", n)
			}

			// Back, as someone who picks up the phone would.
			s.served()
			body := back(b)
			t.Logf("Back asked the site for %q", s.served())
			if strings.Contains(body, narrative) {
				b.fatalf("Back after Quick exit shows the report")
			}
			b.shot("exit-back-" + map[bool]string{true: "js", false: "nojs"}[js])
			// And Check my report in the same browser.
			b.open("/en/check")
			if body := b.text("body"); strings.Contains(body, narrative) || !strings.Contains(body, s.P[locale.English].T("check.open")) {
				b.fatalf("Check my report after Quick exit:\n%s", body)
			}
			// Further back to the confirmation: never the code again.
			for range 3 {
				if body := back(b); strings.Contains(body, receipt) || strings.Contains(body, narrative) || anyReceiptRE.MatchString(body) {
					b.fatalf("going back after Quick exit shows the code or the report:\n%s", body)
				}
			}
			b.consoleProblems() // error pages of POST results the browser will not resend
		})
	}
}

// back presses Back and returns what the page then shows. A page restored
// from the back/forward cache fires no load event, and a POST result the
// browser will not send again is an error page: so wait for a body, not for
// a load.
func back(b *browser) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	_ = chromedp.Do(ctx, chromedp.NavigateBack())
	time.Sleep(500 * time.Millisecond)
	return run(b, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
}

// sessions counts the receipt logins the server holds.
func sessions(t *testing.T, s *site) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.App.Store.Files()[0]+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM survivor_sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
