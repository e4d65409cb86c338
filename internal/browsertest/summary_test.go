package browsertest

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/salama-ke/salama/internal/locale"
)

// Issue 16 (2): the error summary in a real browser, in both languages:
// axe finds nothing wrong with it, with JavaScript it takes the focus,
// and its link moves to the field.
func TestErrorSummaryInBrowser(t *testing.T) {
	src := axeSource(t)
	s := newSite(t)
	b := newBrowser(t, s, true)
	for _, l := range locale.Langs {
		b.open("/" + string(l) + "/report")
		b.do(chromedp.Click(chromedp.CSS(`input[name="contact"][value="phone"]`)))
		if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`button[name="send"]`))); status != http.StatusUnprocessableEntity {
			b.fatalf("%s: sending without a phone number: status %d", l, status)
		}
		if got, want := b.text("#problems h2"), s.P[l].T("form.problem_title"); got != want {
			t.Errorf("%s: summary titled %q, want %q", l, got, want)
		}
		if id := run(b, chromedp.Evaluate[string]("document.activeElement.id")); id != "problems" {
			t.Errorf("%s: the focus is on %q, want the error summary", l, id)
		}
		checkA11y(t, b, src, "/"+string(l)+"/report with a problem")
		b.shot(string(l) + "-report-problem")
		b.do(chromedp.Click(chromedp.CSS(`#problems a[href="#phone"]`)))
		if got := run(b, chromedp.Evaluate[string]("location.hash")); got != "#phone" {
			t.Errorf("%s: the summary's link went to %q", l, got)
		}
	}
	b.consoleProblems() // the 422s asked for
	quiet(t, b)
}
