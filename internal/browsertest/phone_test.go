package browsertest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// phoneWidth and phoneHeight are a small Android phone's viewport, the
// screen many Kenyan caseworkers work from.
const phoneWidth, phoneHeight = 360, 640

// overflow returns the page's scroll width and the elements that stick out
// to the right of the viewport, for the failure message.
const overflow = `(() => { const W = document.documentElement.clientWidth; const out = [];
for (const el of document.querySelectorAll('body *')) { const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > W + 1 && getComputedStyle(el).position !== 'absolute') out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '') + ' right=' + Math.round(r.right)); }
return {Width: document.scrollingElement.scrollWidth, Wide: out.slice(0, 8)}; })()`

type overflowed struct {
	Width int
	Wide  []string
}

// noSidewaysScroll fails when the page is wider than the phone.
func noSidewaysScroll(t *testing.T, b *browser, page string) {
	t.Helper()
	o := run(b, chromedp.Evaluate[overflowed](overflow))
	if o.Width > phoneWidth {
		t.Errorf("%s is %d px wide on a %d px phone; sticking out: %s", page, o.Width, phoneWidth, strings.Join(o.Wide, ", "))
	}
}

// Issue 15, item 6: the console on a phone. At 360×640 the inbox, a
// report, the intake and the export pages have no horizontal scroll; on a
// report the reply box is within the first screens and a link in the first
// screen jumps to it; axe-core finds nothing serious.
func TestConsoleOnAPhone(t *testing.T) {
	src := axeSource(t)
	s := newSite(t)
	b := newBrowser(t, s, true)
	b.do(chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile))
	consoleLogin(t, b, s, "demo-admin")

	noSidewaysScroll(t, b, "the inbox")
	checkA11y(t, b, src, "the inbox on a phone")
	b.shot("phone-console-inbox")

	openFirstCase(b)
	noSidewaysScroll(t, b, "a report")
	checkA11y(t, b, src, "a report on a phone")
	b.shot("phone-console-report")
	type box struct{ Top, Bottom float64 }
	jump := run(b, chromedp.Evaluate[box](`(() => { const r = document.querySelector('nav.jump a[href="#reply"]').getBoundingClientRect(); return {Top: r.top, Bottom: r.bottom}; })()`))
	if jump.Bottom <= 0 || jump.Bottom > phoneHeight {
		t.Errorf("the link to the reply box is not on the first screen: %+v", jump)
	}
	reply := run(b, chromedp.Evaluate[float64](`document.querySelector('#reply textarea').getBoundingClientRect().top + window.scrollY`))
	if reply > 3*phoneHeight {
		t.Errorf("the reply box starts %.0f px down the page, past the third screen", reply)
	}
	b.do(chromedp.Click(chromedp.CSS(`nav.jump a[href="#reply"]`)))
	in := run(b, chromedp.Evaluate[box](`(() => { const r = document.querySelector('#reply textarea').getBoundingClientRect(); return {Top: r.top, Bottom: r.bottom}; })()`))
	if in.Top < 0 || in.Top > phoneHeight {
		t.Errorf("after the jump link the reply box is at %+v, not on the screen", in)
	}
	// The reply box works from there.
	b.do(chromedp.SendKeys(chromedp.CSS("#reply textarea"), "We read your message. Are you safe now?"))
	if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`#reply button[type="submit"]`))); status != http.StatusOK {
		b.fatalf("sending a reply from the phone: status %d", status)
	}
	if !strings.Contains(b.text("#conversation"), "Are you safe now?") {
		t.Error("the reply is not in the conversation")
	}

	b.open("/console/export")
	noSidewaysScroll(t, b, "the export page")
	checkA11y(t, b, src, "the export page on a phone")
	b.shot("phone-console-export")

	for _, path := range []string{"/console/members", "/console/directory", "/console/password"} {
		b.open(path)
		noSidewaysScroll(t, b, path)
	}
	quiet(t, b)
}
