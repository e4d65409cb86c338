package browsertest

import (
	"net/http"
	"strings"
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

// Issue 16 (5): without JavaScript, pressing the other language on the
// form brings the same form in that language with every answer.
func TestLanguageSwitchInBrowser(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t, s, false)
	b.open("/en/report")
	narrative := "He keeps the video. Switch-test."
	b.do(chromedp.SendKeys(chromedp.CSS("#narrative"), narrative),
		chromedp.Click(chromedp.CSS(`input[name="what"][value="sextortion"]`)),
		chromedp.SetValue(chromedp.CSS("#county"), "kisumu"))
	status, u := b.navigate(chromedp.Click(chromedp.CSS(`header button[value="sw"]`)))
	if status != http.StatusOK || !strings.HasSuffix(u, "/sw/report") {
		b.fatalf("Kiswahili: status %d at %s", status, u)
	}
	if lang := run(b, chromedp.Attributes(chromedp.CSS("html")))["lang"]; lang != "sw" {
		t.Errorf("the form came back in %q", lang)
	}
	if got := run(b, chromedp.Evaluate[string](`document.getElementById("narrative").value`)); got != narrative {
		t.Errorf("the narrative is %q after switching", got)
	}
	if !run(b, chromedp.Evaluate[bool](`document.querySelector('input[name="what"][value="sextortion"]').checked && document.getElementById("county").value == "kisumu"`)) {
		t.Error("the choices were lost when switching language")
	}
	quiet(t, b)
}
