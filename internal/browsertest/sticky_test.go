package browsertest

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// exitInView says whether Quick exit is inside the viewport and is the
// element a finger on its middle would touch (nothing covers it).
const exitInView = `(() => {
	const a = document.querySelector("a.exit");
	if (!a) return "no Quick exit";
	const r = a.getBoundingClientRect();
	if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return "outside the viewport at " + JSON.stringify(r);
	const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
	return hit === a || a.contains(hit) ? "" : "covered by " + (hit ? hit.outerHTML.slice(0, 80) : "nothing");
})()`

// Issue 16 (1): Quick exit stays on screen at every scroll position of
// every public page, without JavaScript (the header is sticky); with
// JavaScript, Escape leaves too.
func TestQuickExitAlwaysVisible(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t, s, false)
	for _, l := range []string{"en", "sw"} {
		for _, path := range []string{"/" + l + "/", "/" + l + "/report", "/" + l + "/tip", "/" + l + "/help",
			"/" + l + "/help?county=kisumu&need=medical", "/" + l + "/check"} {
			b.open(path)
			height := run(b, chromedp.Evaluate[float64]("document.documentElement.scrollHeight - innerHeight"))
			if path == "/"+l+"/report" && height < 2000 {
				t.Errorf("%s scrolls only %.0f px: the test needs a long page", path, height)
			}
			for _, frac := range []float64{0, 0.25, 0.5, 0.75, 1} {
				run(b, chromedp.Evaluate[any]("scrollTo(0, (document.documentElement.scrollHeight - innerHeight) * "+strconv.FormatFloat(frac, 'f', -1, 64)+"); 0"))
				if got := run(b, chromedp.Evaluate[string](exitInView)); got != "" {
					t.Errorf("%s scrolled to %.0f%%: Quick exit %s", path, frac*100, got)
				}
			}
		}
	}
	b.shot("exit-sticky-report-bottom")
	quiet(t, b)

	t.Run("Escape", func(t *testing.T) {
		b := newBrowser(t, s, true)
		b.open("/sw/report")
		b.do(chromedp.SendKeys(chromedp.CSS("#narrative"), "maneno"))
		status, u := b.navigate(chromedp.SendKeys(chromedp.CSS("#narrative"), kb.Escape))
		if status != http.StatusOK || u != s.Exit {
			b.fatalf("Escape: status %d at %s, want %s", status, u, s.Exit)
		}
		noReferer(t, s)
	})
}
