package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
	"github.com/salama-ke/salama/internal/reporting"
)

// Issue 15 (4) in a real browser: on the console's report page a voice note
// revealed is fetched by the page's <audio> player under the console's
// Content-Security-Policy (media from its own origin), a chat export is
// shown as text in which a <script> runs nothing, and the page passes
// axe-core.
func TestEvidenceTypesInTheConsole(t *testing.T) {
	s := newSite(t)
	in := reporting.NewInput(reporting.KindReport)
	in.About, in.What, in.AgeBand, in.County, in.WhenLast, in.Danger = "me", []string{"sextortion"}, "25plus", "nakuru", "month", "no"
	chat := et.WhatsAppAndroid(`Boss: <script>document.title="pwned"</script><img src=x onerror="document.title='pwned'"> pay now`)
	in.Files = []reporting.Upload{{ContentType: "audio/ogg", Data: et.Ogg(20)}, {ContentType: "text/plain; charset=utf-8", Data: chat}}
	in.Token = s.App.Reporting.NewToken()
	sub, err := s.App.Reporting.Submit(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	atts, err := s.App.Store.Attachments(context.Background(), sub.Report.ID)
	if err != nil || len(atts) != 2 {
		t.Fatalf("attachments: %v %d", err, len(atts))
	}

	b := newBrowser(t, s, true)
	consoleLogin(t, b, s, "demo-caseworker")
	page := "/console/reports/" + sub.Report.ID
	b.open(page)
	if n := run(b, chromedp.Evaluate[int](`document.querySelectorAll('audio').length`)); n != 0 {
		t.Error("a player is on the page before a voice note is revealed")
	}
	b.madeRequests()
	for _, a := range atts {
		b.open(page + "?reveal=" + a.ID)
		if run(b, chromedp.Evaluate[int](`document.querySelectorAll('audio').length`)) == 0 {
			continue // the chat
		}
		// Ask the player to load now (preload is none, so that nothing
		// is fetched until the caseworker presses play).
		b.do(chromedp.Evaluate[chromedp.Void](`(function(){var a=document.querySelector('audio');a.preload='auto';a.load()})()`))
		deadline := time.Now().Add(10 * time.Second)
		fetched := false
		for !fetched && time.Now().Before(deadline) {
			for _, r := range b.madeRequests() {
				fetched = fetched || strings.HasSuffix(r.URL, "/attachments/"+a.ID) && r.Type == "Media"
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !fetched {
			t.Error("the revealed voice note's player fetched nothing")
		}
		b.shot("console-voice-note")
	}
	for _, a := range atts {
		b.open(page + "?reveal=" + a.ID)
		if run(b, chromedp.Evaluate[int](`document.querySelectorAll('ol.chat').length`)) == 0 {
			continue // the voice note
		}
		if got := b.text("ol.chat"); !strings.Contains(got, `<script>document.title="pwned"</script>`) {
			t.Errorf("the chat line is not shown as its text: %q", got)
		}
		if title := run(b, chromedp.Evaluate[string](`document.title`)); strings.Contains(title, "pwned") {
			t.Error("markup from a chat export ran in the console")
		}
		if n := run(b, chromedp.Evaluate[int](`document.querySelectorAll('ol.chat script, ol.chat img').length`)); n != 0 {
			t.Errorf("%d elements from the chat's text in the page", n)
		}
		b.shot("console-chat")
		if src := axeSource(t); src != "" {
			checkA11y(t, b, src, "console report with a chat revealed")
		}
	}
	for _, p := range b.consoleProblems() {
		// Chromium may fail to decode the test's silent Opus frames; a
		// refusal by the Content-Security-Policy is what must not happen.
		if strings.Contains(p, "Content Security Policy") || strings.Contains(p, "Refused") {
			t.Errorf("the browser reported: %s", p)
		}
	}
}
