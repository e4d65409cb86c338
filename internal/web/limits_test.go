package web_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
	"github.com/salama-ke/salama/internal/ratelimit"
	"github.com/salama-ke/salama/internal/reporting"
)

// plainMarker fills a screenshot's private chunk: its bytes as a survivor's
// phone sent them, which must never be found on disk.
const plainMarker = "SALAMA-PLAIN-SCREENSHOT-BYTES-7731|"

// markedScreenshot is a real PNG of about size bytes, most of them
// plainMarker in an ancillary chunk the decoder skips.
func markedScreenshot(t *testing.T, size int) []byte {
	p := et.PNG(t, et.TwoColours(360, 800))
	fill := []byte(strings.Repeat(plainMarker, size/len(plainMarker)+1))[:size-len(p)]
	iend := len(p) - 12
	out := append([]byte{}, p[:iend]...)
	out = append(out, et.PNGChunk("slTx", fill)...)
	return append(out, p[iend:]...)
}

// multipartBody writes form's fields (in the order of names), then the
// files: as a browser writes the report form, whose screenshots come last.
func multipartBody(names []string, form url.Values, files ...[]byte) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, k := range names {
		for _, v := range form[k] {
			w.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile("files", "Screenshot_20250101-120000.png")
		fw.Write(f)
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func names(form url.Values) []string {
	var out []string
	for k := range form {
		out = append(out, k)
	}
	return out
}

// pausing is a request body that stops after at bytes until resumed.
type pausing struct {
	r       io.Reader
	at, n   int
	paused  chan struct{}
	resumed chan struct{}
	once    sync.Once
}

func newPausing(body []byte, at int) *pausing {
	return &pausing{r: bytes.NewReader(body), at: at, paused: make(chan struct{}), resumed: make(chan struct{})}
}

func (p *pausing) Read(b []byte) (int, error) {
	if p.n >= p.at {
		p.once.Do(func() { close(p.paused) })
		<-p.resumed
	} else if len(b) > p.at-p.n {
		b = b[:p.at-p.n]
	}
	k, err := p.r.Read(b)
	p.n += k
	return k, err
}

// send posts a body of a declared length and returns the answer.
func (s *site) send(path, contentType string, body io.Reader, length int64) response {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+path, body)
	req.ContentLength = length
	req.Header.Set("Content-Type", contentType)
	return s.do(req, "")
}

// files lists every file under dir.
func files(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// Issue 12.6: a screenshot over 1 MB went to /tmp/multipart-* in clear
// while it was uploaded, and stayed there after a kill -9. Now no byte of an
// upload reaches the disk unsealed: the temporary directory stays empty
// while the upload is half-way and after it, and neither it nor the
// database files hold the screenshot's plain bytes.
func TestUploadNeverTouchesDisk(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		shot := markedScreenshot(t, 1_500_000)
		form := s.sendForm("en")
		ct, body := multipartBody(names(form), form, shot)
		at := bytes.Index(body, []byte(plainMarker)) + 1_200_000 // well past net/http's 1 MB in memory
		p := newPausing(body, at)
		done := make(chan response, 1)
		go func() { done <- s.send("/en/report", ct, p, int64(len(body))) }()
		<-p.paused
		// The server has the first 1.2 MB of the screenshot: wait until it
		// has reserved room for it, then look.
		for deadline := time.Now().Add(10 * time.Second); s.app.Web.Uploads().Held() == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the server never reached the screenshot")
			}
		}
		time.Sleep(100 * time.Millisecond)
		if got := files(t, tmp); len(got) != 0 {
			t.Errorf("during the upload the temporary directory holds %q", got)
		}
		close(p.resumed)
		r := <-done
		if r.StatusCode != 200 {
			t.Fatalf("report: %d\n%s", r.StatusCode, r.body)
		}
		match(t, receiptRE, r.body, "receipt")
		if got := files(t, tmp); len(got) != 0 {
			t.Errorf("after the upload the temporary directory holds %q", got)
		}
		if s.contains([]byte(plainMarker)) {
			t.Error("the database holds the screenshot's plain bytes")
		}
		for _, f := range files(t, s.db.DataDir) {
			b, _ := os.ReadFile(f)
			if bytes.Contains(b, []byte(plainMarker)) {
				t.Errorf("%s holds the screenshot's plain bytes", f)
			}
		}
		if n := s.count(`SELECT count(*) FROM attachments WHERE report_id = $1`, s.onlyReport()); n != 1 {
			t.Errorf("%d attachments stored", n)
		}
		if s.app.Web.Uploads().Held() != 0 {
			t.Errorf("%d bytes still reserved after the request", s.app.Web.Uploads().Held())
		}
	})
}

// Issue 12 (lower): every field has a maximum; over it the form comes back
// with a message beside the field, in the survivor's language, saying how
// long it is and may be, with every word kept; nothing is stored.
func TestOverLongFieldsKeepEveryWord(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		for _, lang := range []string{"en", "sw"} {
			form := fullReport()
			long := strings.Repeat("Alinitumia ujumbe mwingi. ", 500) + "MWISHO-WA-MANENO" // 13,016 characters
			form.Set("narrative", long)
			form.Set("country", strings.Repeat("Uganda ", 40)+"Kampala")
			form.Set("safe_times", strings.Repeat("jioni ", 40)+"tu")
			form["id_value"] = []string{strings.Repeat("kibanda", 80), idHandle}
			form.Set("token", s.token(lang, "report"))
			form.Set("send", "1")
			r := s.postMultipart("/"+lang+"/report", form)
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: status %d", lang, r.StatusCode)
			}
			want := map[string][]string{
				"en": {"it has 13,016 characters, and at most 10,000 fit", "it has 287 characters, and at most 200 fit",
					"it has 242 characters, and at most 200 fit", "each can have at most 500 characters"},
				"sw": {"ina herufi 13,016, lakini herufi 10,000 tu ndizo zinazoruhusiwa", "ina herufi 287, lakini herufi 200 tu ndizo zinazoruhusiwa",
					"ina herufi 242, lakini herufi 200 tu ndizo zinazoruhusiwa", "kila moja inaruhusiwa herufi 500 tu"},
			}[lang]
			for _, w := range append(want, html.EscapeString(long), form.Get("country"), form.Get("safe_times"),
				form["id_value"][0], html.EscapeString(idHandle), contactTel) {
				if !strings.Contains(r.body, w) {
					t.Errorf("%s: the page lacks %.60q", lang, w)
				}
			}
			if n := len(s.newReports()); n != 0 {
				t.Fatalf("%d reports stored", n)
			}
		}
		// A tip's note too.
		note := strings.Repeat("Tangazo ", 300)
		r := s.postMultipart("/sw/tip", url.Values{"token": {s.token("sw", "tip")}, "send": {"1"}, "note": {note}})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "ina herufi 2,399, lakini herufi 2,000 tu ndizo zinazoruhusiwa") || !strings.Contains(r.body, strings.TrimSpace(note)) {
			t.Errorf("tip note: %d", r.StatusCode)
		}
	})
}

// Issue 12 (lower): a 90 KB submission rendered a 7.6 MB page, a select
// list for every posted row. Now the page shows what arrived and no more:
// rows beyond the form's twenty go, words and all, into one box; empty rows
// are not drawn at all.
func TestBigSubmissionSmallPage(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for _, tc := range []struct {
		name   string
		row    func(i int) string
		status int
	}{
		{"rows with words", func(i int) string {
			return "&id_type=link&id_platform=telegram&id_value=" + url.QueryEscape("https://t.me/+kikundi_"+strings.Repeat("x", i%7)+"_"+strconv.Itoa(i))
		}, http.StatusUnprocessableEntity},
		// More fields than any form sends: read up to the cap on fields,
		// shown as far as it came.
		{"empty rows", func(int) string { return "&id_type=&id_platform=&id_value=" }, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rows strings.Builder
			rows.WriteString("token=" + url.QueryEscape(s.token("en", "report")) + "&send=1&narrative=" + url.QueryEscape(narrative))
			for i := 0; rows.Len() < 90_000; i++ {
				rows.WriteString(tc.row(i))
			}
			body := rows.String()
			r := s.send("/en/report", "application/x-www-form-urlencoded", strings.NewReader(body), int64(len(body)))
			if r.StatusCode != tc.status {
				t.Fatalf("status %d", r.StatusCode)
			}
			if n := len(r.body); n > 2*len(body)+64<<10 {
				t.Errorf("a %d-byte submission rendered a %d-byte page", len(body), n)
			}
			if n := strings.Count(r.body, `name="id_value"`); n > reporting.MaxIdentifiers {
				t.Errorf("%d identifier rows drawn", n)
			}
			if !strings.Contains(r.body, html.EscapeString(narrative)) {
				t.Error("the narrative is not on the page")
			}
			if tc.status != http.StatusUnprocessableEntity {
				return
			}
			if !strings.Contains(r.body, "at most 20 fit") {
				t.Error("no message about the number of identifiers")
			}
			// Every value that was typed is on the page: in the rows or the box.
			values, _ := url.ParseQuery(body)
			page := html.UnescapeString(r.body)
			for _, v := range values["id_value"] {
				if !strings.Contains(page, v) {
					t.Fatalf("%q is not on the page", v)
				}
			}
		})
	}
	if n := len(s.newReports()); n != 0 {
		t.Errorf("%d reports stored", n)
	}
}

// Issue 17.4: a URL-encoded body up to the 26 MB report cap was read into
// memory before any limit. Now a body is read only up to what the longest
// honest answer needs: past it, the form comes back with what arrived and
// says it did not arrive whole; nothing is stored.
func TestBodyPastTheCapShowsWhatArrived(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		lim := reporting.FormLimits(reporting.KindReport, 5<<20)
		start := "Mwanzo-wa-maneno " + narrative
		body := "token=" + url.QueryEscape(s.token("sw", "report")) + "&send=1&narrative=" + url.QueryEscape(start) +
			strings.Repeat("+maneno", int(lim.Text)/7+30_000) + "&phone=0700111222"
		r := s.send("/sw/report", "application/x-www-form-urlencoded", strings.NewReader(body), int64(len(body)))
		if r.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", r.StatusCode)
		}
		if !strings.Contains(r.body, "kirefu mno kufika chote") || !strings.Contains(r.body, html.EscapeString(start)+" maneno maneno") {
			t.Errorf("what arrived is not shown:\n%.2000s", r.body)
		}
		if strings.Contains(r.body, "0700111222") {
			t.Error("a field after the cap was read")
		}
		if n := len(s.newReports()); n != 0 {
			t.Errorf("%d reports stored", n)
		}
	})
}

// The per-address limit on posts applies before the body is read: a
// refused post keeps its words but its screenshots are never held.
func TestPostLimitBeforeReading(t *testing.T) {
	s := newSite(t, newSQLite(t), func(o *app.Options) { o.Web.PostRule = ratelimit.Rule{Burst: 1, Every: time.Hour} })
	form := fullReport()
	form.Set("token", s.token("en", "report"))
	form.Set("add_row", "1")
	if r := s.postMultipart("/en/report", form); r.StatusCode != 200 {
		t.Fatalf("first post: %d", r.StatusCode)
	}
	form.Del("add_row")
	form.Set("send", "1")
	r := s.postMultipart("/en/report", form, file{"shot.png", markedScreenshot(t, 300_000)})
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.body, html.EscapeString(narrative)) || !strings.Contains(r.body, "choose them again") {
		t.Fatalf("second post: %d", r.StatusCode)
	}
	if peak := s.app.Web.Uploads().Peak(); peak != 0 {
		t.Errorf("a refused post had %d bytes of screenshots held", peak)
	}
	if n := len(s.newReports()); n != 0 {
		t.Errorf("%d reports stored", n)
	}
}

// When the upload budget has no room in time, the form comes back busy
// with every word; when it has, the same form goes through.
func TestUploadBudgetBusy(t *testing.T) {
	s := newSite(t, newSQLite(t), func(o *app.Options) {
		o.Web.UploadMemory = 1 << 20
		o.Web.UploadWait = 100 * time.Millisecond
	})
	// One survivor's upload is half-way, holding the whole budget.
	first := fullReport()
	first.Set("token", s.token("en", "report"))
	first.Set("send", "1")
	ct, body := multipartBody(names(first), first, markedScreenshot(t, 1_000_000))
	p := newPausing(body, len(body)-200_000)
	done := make(chan response, 1)
	go func() { done <- s.send("/en/report", ct, p, int64(len(body))) }()
	<-p.paused
	for s.app.Web.Uploads().Held() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	second := fullReport()
	second.Set("token", s.token("sw", "report"))
	second.Set("send", "1")
	r := s.postMultipart("/sw/report", second, file{"shot.png", markedScreenshot(t, 200_000)})
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.body, "Watu wengi wanatuma ripoti") ||
		!strings.Contains(r.body, html.EscapeString(narrative)) || !strings.Contains(r.body, "zichague tena") {
		t.Fatalf("while the budget is full: %d", r.StatusCode)
	}
	close(p.resumed)
	if r := <-done; r.StatusCode != 200 {
		t.Fatalf("the first upload: %d", r.StatusCode)
	}
	second.Set("token", s.token("sw", "report"))
	s.report("sw", second, file{"shot.png", markedScreenshot(t, 200_000)})
	if n := len(s.newReports()); n != 2 {
		t.Errorf("%d reports stored, want 2", n)
	}
}

// When every decoding slot stays taken (argon2id evaluations and other
// uploads), the form comes back busy with every word; nothing is stored and
// no receipt is derived. A screenshot waits for a slot to be decoded, a
// chat export to be read when the form is checked.
func TestDecodeBusy(t *testing.T) {
	for name, upload := range map[string]file{
		"screenshot":  {"shot.png", pngBytes(t)},
		"chat export": {"WhatsApp Chat with Boss.zip", et.Zip("_chat.txt")(et.WhatsAppAndroid("Boss: send it or I post them"))},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSite(t, newSQLite(t), func(o *app.Options) {
				o.KDFConcurrency = 1
				o.ImageWait = 100 * time.Millisecond
			})
			release, err := s.app.KDF.Slot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			form := s.sendForm("en")
			r := s.postMultipart("/en/report", form, upload)
			release()
			if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.body, "Many people are sending reports") ||
				!strings.Contains(r.body, html.EscapeString(narrative)) || !strings.Contains(r.body, contactTel) {
				t.Fatalf("status %d", r.StatusCode)
			}
			if n := len(s.newReports()); n != 0 {
				t.Fatalf("%d reports stored", n)
			}
			s.report("en", form, upload)
		})
	}
}

// A reply over its limit, or past the reply form's cap, comes back in the
// box with what arrived.
func TestReplyLimits(t *testing.T) {
	s := newSite(t, newSQLite(t))
	_, receipt := s.report("sw", fullReport())
	cookie := s.login("sw", receipt)
	csrf := match(t, csrfRE, s.get("/sw/check/report", cookie).body, "csrf")
	reply := strings.Repeat("a", 4500)
	r := s.postForm("/sw/check/reply", url.Values{"csrf": {csrf}, "text": {reply}}, cookie)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "ina herufi 4,500, lakini herufi 4,000 tu ndizo zinazoruhusiwa") || !strings.Contains(r.body, reply) {
		t.Errorf("long reply: %d", r.StatusCode)
	}
	huge := "Mwanzo " + strings.Repeat("b", 200_000)
	r = s.postForm("/sw/check/reply", url.Values{"csrf": {csrf}, "text": {huge}}, cookie)
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "Ujumbe wako ulikuwa mrefu mno") || !strings.Contains(r.body, ">Mwanzo bbbb") {
		t.Errorf("huge reply: %d", r.StatusCode)
	}
	if n := s.count(`SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

// A survivor who picks screenshots far over the limits (their sum past the
// whole body's cap) gets the page with her words, not a connection cut
// while her browser is still sending.
func TestScreenshotsPastTheCapStillAnswered(t *testing.T) {
	s := newSite(t, newSQLite(t), func(o *app.Options) { o.Web.MaxUpload = 100 << 10 })
	form := fullReport()
	form.Set("token", s.token("sw", "report"))
	form.Set("send", "1")
	var shots [][]byte
	for range 6 {
		shots = append(shots, markedScreenshot(t, 150_000))
	}
	ct, body := multipartBody(names(form), form, shots...)
	if lim := reporting.FormLimits(reporting.KindReport, 100<<10); int64(len(body)) <= lim.Body() {
		t.Fatalf("the body (%d bytes) is within the cap (%d)", len(body), lim.Body())
	}
	r := s.send("/sw/report", ct, bytes.NewReader(body), int64(len(body)))
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, html.EscapeString(narrative)) ||
		!strings.Contains(r.body, contactTel) || !strings.Contains(r.body, "zichague tena") {
		t.Fatalf("status %d", r.StatusCode)
	}
	if n := len(s.newReports()); n != 0 {
		t.Errorf("%d reports stored", n)
	}
}
