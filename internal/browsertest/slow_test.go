package browsertest

import (
	"bytes"
	"database/sql"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/salama-ke/salama/internal/locale"
)

// slow2G is Chromium's "slow-2g" effective connection type: 2 s round
// trips, 50 kbit/s each way. regular2G is DevTools' former "Regular 2G"
// preset (300 ms, 250 kbit/s down, 50 up), for comparison.
var (
	slow2G    = network.Conditions{Latency: 2000, DownloadThroughput: 50_000 / 8, UploadThroughput: 50_000 / 8, ConnectionType: network.ConnectionTypeCellular2g}
	regular2G = network.Conditions{Latency: 300, DownloadThroughput: 250_000 / 8, UploadThroughput: 50_000 / 8, ConnectionType: network.ConnectionTypeCellular2g}
)

// Issue 16, done when: a text-only report in each language under slow-2G
// emulation, walked twice: from the landing page (three pages: landing,
// form, receipt) and from the short link a poster or a friend gives
// (/ripoti, /report: the form at once, then the receipt). The time the
// pages take is logged, not asserted (a loaded machine is slow); what is
// asserted is what makes them fast: one request per page, no redirect.
// Each request pays the emulated round trip (2 s on slow 2G) before its
// first byte, so three pages cannot take less than 6 s and two less
// than 4 s, whatever their size; the rest is bytes at 50 kbit/s.
func TestTextReportOnSlow2G(t *testing.T) {
	s := newSite(t)
	short := map[locale.Lang]string{locale.Kiswahili: "/ripoti", locale.English: "/report"}
	for _, l := range locale.Langs {
		for name, cond := range map[string]network.Conditions{"slow 2G": slow2G, "regular 2G": regular2G} {
			t.Run(string(l)+" "+name, func(t *testing.T) {
				b := newBrowser(t, s, false)
				if _, err := chromedp.Call(b.ctx, network.EmulateNetworkConditionsByRule,
					network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{&cond}}); err != nil {
					t.Fatalf("emulating %s: %v", name, err)
				}
				lang := string(l)
				s.served()
				var waited time.Duration
				timed := func(actions ...chromedp.Action[chromedp.Void]) {
					t.Helper()
					start := time.Now()
					if status, u := b.navigate(actions...); status != http.StatusOK {
						b.fatalf("status %d at %s", status, u)
					}
					waited += time.Since(start)
				}
				send := func() {
					t.Helper()
					b.do(chromedp.SendKeys(chromedp.CSS("#narrative"), "He says he will post the photos unless I pay."),
						chromedp.Click(chromedp.CSS(`input[name="what"][value="sextortion"]`)),
						chromedp.SetValue(chromedp.CSS("#county"), "nairobi"))
					timed(chromedp.Click(chromedp.CSS(`button[name="send"]`)))
					if !receiptRE.MatchString(b.text("p.receipt")) {
						b.fatalf("no receipt after sending")
					}
				}

				timed(chromedp.Navigate(s.URL + "/" + lang + "/"))
				landing := waited
				timed(chromedp.Click(chromedp.CSS(`main a[href="/` + lang + `/report"]`)))
				send()
				want := []string{"GET /" + lang + "/", "GET /" + lang + "/report", "POST /" + lang + "/report"}
				if got := s.served(); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("the report from the landing page took %q, want %q", got, want)
				}
				fromLanding := waited

				waited = 0
				timed(chromedp.Navigate(s.URL + short[l]))
				send()
				want = []string{"GET " + short[l], "POST /" + lang + "/report"}
				if got := s.served(); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("the report from the short link took %q, want %q", got, want)
				}
				t.Logf("%s %s (%.0f ms, %.0f kbit/s down, %.0f up), typing not counted: landing page %.1f s; text report from the landing page (3 pages) %.1f s; from %s (2 pages) %.1f s",
					lang, name, cond.Latency, cond.DownloadThroughput*8/1000, cond.UploadThroughput*8/1000,
					landing.Seconds(), fromLanding.Seconds(), short[l], waited.Seconds())
			})
		}
	}
}

// screenshotPNG writes a PNG of w×h random pixels (which compresses
// badly, as photos do) and returns its path and size.
func screenshotPNG(t *testing.T, w, h int) (string, int) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(7, 11))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(r.Uint32()), uint8(r.Uint32()), uint8(r.Uint32()), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "screenshot.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, buf.Len()
}

// attachmentBytes is the sealed size of every stored screenshot.
func attachmentBytes(t *testing.T, s *site) (n, total int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.App.Store.Files()[0]+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(t.Context(), `SELECT count(*), coalesce(sum(length(sealed)), 0) FROM attachments`).Scan(&n, &total); err != nil {
		t.Fatal(err)
	}
	return n, total
}

// Issue 16 (11): before choosing a screenshot the page says how long one
// takes on a slow connection. Without JavaScript the screenshot goes as
// chosen and the shrink box is not shown; with JavaScript, a survivor who
// ticks it sends a smaller JPEG, made on the phone and kept nowhere.
func TestScreenshotSizeAndShrink(t *testing.T) {
	s := newSite(t)
	path, size := screenshotPNG(t, 1400, 1000)
	send := func(b *browser, shrink bool) {
		b.t.Helper()
		b.open("/en/report")
		if !strings.Contains(b.text("main"), s.P[locale.English].T("form.files_time")) {
			b.fatalf("the form does not say how long a screenshot takes to send")
		}
		if shrink {
			b.do(chromedp.Click(chromedp.CSS("#shrink")))
		}
		b.do(chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{path}))
		if shrink {
			run(b, chromedp.Poll[bool](`document.getElementById("files").files.length == 1 && document.getElementById("files").files[0].type == "image/jpeg"`, chromedp.WithPollingTimeout(30*time.Second)))
			if got := run(b, chromedp.Evaluate[int](`document.getElementById("files").files[0].size`)); got >= size/2 {
				t.Errorf("the shrunk screenshot is %d bytes, the chosen one %d", got, size)
			}
		}
		b.do(chromedp.SendKeys(chromedp.CSS("#narrative"), "Screenshot test."))
		if status, u := b.navigate(chromedp.Click(chromedp.CSS(`button[name="send"]`))); status != http.StatusOK {
			b.fatalf("sending: status %d at %s", status, u)
		}
		if !receiptRE.MatchString(b.text("p.receipt")) {
			b.fatalf("no receipt")
		}
		nothingStored(t, b)
		quiet(t, b)
	}

	t.Run("without JavaScript", func(t *testing.T) {
		b := newBrowser(t, s, false)
		b.open("/en/report")
		if hidden := run(b, chromedp.Evaluate[bool](`document.getElementById("shrink").closest("p").hidden`)); !hidden {
			t.Error("without JavaScript the shrink box is shown, and would do nothing")
		}
		before, _ := attachmentBytes(t, s)
		send(b, false)
		n, total := attachmentBytes(t, s)
		if n != before+1 || total < size {
			t.Errorf("%d screenshots stored (%d before), %d bytes sealed; want the whole %d-byte screenshot", n, before, total, size)
		}
	})
	t.Run("with JavaScript", func(t *testing.T) {
		b := newBrowser(t, s, true)
		n0, total0 := attachmentBytes(t, s)
		send(b, true)
		n, total := attachmentBytes(t, s)
		if n != n0+1 || total-total0 >= size/2 {
			t.Errorf("stored %d screenshots of %d bytes sealed; want one, under half the chosen %d bytes", n-n0, total-total0, size)
		}
		t.Logf("a %d-byte PNG screenshot was sent as %d bytes (sealed)", size, total-total0)
	})
}

// Issue 16 (3): in Chromium without scripts, a screenshot chosen before
// "Add another" is still sent with the report.
func TestAddAnotherKeepsScreenshotInBrowser(t *testing.T) {
	s := newSite(t)
	path, size := screenshotPNG(t, 200, 150)
	b := newBrowser(t, s, false)
	b.open("/en/report")
	b.do(chromedp.SendKeys(chromedp.CSS("#narrative"), "Add another test."),
		chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{path}))
	if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`button[name="add_row"]`))); status != http.StatusOK {
		b.fatalf("Add another: status %d", status)
	}
	if got := b.text("#files ~ p.ok"); !strings.Contains(got, "1") {
		t.Errorf("after Add another the page says %q about the screenshot", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS(`input[name="id_value"]`), "0712 000 111"))
	n0, _ := attachmentBytes(t, s)
	if status, _ := b.navigate(chromedp.Click(chromedp.CSS(`button[name="send"]`))); status != http.StatusOK {
		b.fatalf("send: status %d", status)
	}
	if !receiptRE.MatchString(b.text("p.receipt")) {
		b.fatalf("no receipt")
	}
	if n, total := attachmentBytes(t, s); n != n0+1 || total < size {
		t.Errorf("the report has %d screenshots (%d bytes sealed), want the one chosen before Add another", n-n0, total)
	}
	nothingStored(t, b)
	quiet(t, b)
}
