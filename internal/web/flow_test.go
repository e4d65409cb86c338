package web_test

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/web"
)

const (
	narrative  = "He sent my photos to the Mathare group and asks 5000 shillings or he posts more. Neno-la-siri-8841"
	idPhone    = "0712 345 678"
	idHandle   = "@kibanda_boss_77"
	contactTel = "0722 111 999"
)

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fullReport() url.Values {
	return url.Values{
		"about": {"me"}, "what": {"sextortion", "images_requested"}, "age": {"16-17"}, "county": {"nairobi"},
		"when": {"72h"}, "danger": {"no"}, "help": {"counselling", "takedown"}, "narrative": {narrative},
		"id_type": {"phone", "handle"}, "id_platform": {"whatsapp", "telegram"}, "id_value": {idPhone, idHandle},
		"contact": {"phone"}, "phone": {contactTel}, "safe_times": {"after 6 pm"}, "say_who": {"no"},
		"share": {"ask"}, "match": {"yes"}, "stats": {"yes"},
	}
}

// The whole journey of SPEC §4.1: report, receipt, help now, check back,
// read, reply, withdraw; and what must never be kept.
func TestReportCheckReplyWithdraw(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		page, receipt := s.report("en", fullReport(), file{"shot.png", pngBytes(t)})
		if len(page.Cookies()) > 0 || page.Header.Get("Set-Cookie") != "" {
			t.Errorf("the confirmation page set a cookie")
		}
		for _, want := range []string{"116", "Take It Down", "Your report was sent"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("confirmation lacks %q", want)
			}
		}

		// Nothing identifying and nothing typed is in the database, in clear.
		for _, needle := range []string{narrative, "Mathare group", idPhone, "712345678", idHandle, contactTel, "722111999",
			clientIP, clientUA, "SalamaProbeUA", strings.ReplaceAll(receipt, " ", "")} {
			if s.contains([]byte(needle)) {
				t.Errorf("database holds %q in clear", needle)
			}
		}
		if s.contains(netip.MustParseAddr(clientIP).AsSlice()) {
			t.Errorf("database holds the client address as bytes")
		}
		for _, needle := range []string{narrative, idPhone, idHandle, contactTel, clientIP, clientUA, receipt, strings.ReplaceAll(receipt, " ", "")} {
			if strings.Contains(s.logs.String(), needle) {
				t.Errorf("logs hold %q", needle)
			}
		}
		id := s.onlyReport()
		if n := s.count(`SELECT count(*) FROM attachments WHERE report_id = $1`, id); n != 1 {
			t.Errorf("%d attachments stored, want 1", n)
		}

		// Check back with the receipt.
		cookie := s.login("en", receipt)
		r := s.get("/en/check/report", cookie)
		if r.StatusCode != web.StatusReport {
			t.Fatalf("thread: %d", r.StatusCode)
		}
		for _, want := range []string{html.EscapeString(narrative), idPhone, html.EscapeString(idHandle), contactTel, "Received", "Files sent: 1"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("thread page lacks %q", want)
			}
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("thread page Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		csrf := match(t, csrfRE, r.body, "csrf token")

		// Reply.
		reply := "Asante. Naomba msaada wa kuondoa picha. Ujumbe-7702"
		r = s.postForm("/en/check/reply", url.Values{"csrf": {csrf}, "text": {reply}}, cookie)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("reply: %d %s", r.StatusCode, r.body)
		}
		r = s.get("/en/check/report", cookie)
		if !strings.Contains(r.body, reply) {
			t.Errorf("reply not shown in the thread")
		}
		if s.contains([]byte("Ujumbe-7702")) {
			t.Errorf("reply stored in clear")
		}

		// Capture every ciphertext and key wrap of the report, then withdraw.
		var blobs [][]byte
		for _, q := range []string{`SELECT sealed FROM report_fields WHERE report_id = $1`, `SELECT sealed FROM messages WHERE report_id = $1`,
			`SELECT sealed FROM attachments WHERE report_id = $1`, `SELECT wrap FROM report_wraps WHERE report_id = $1`,
			`SELECT wrap FROM receipts WHERE report_id = $1`, `SELECT sealed_key FROM survivor_sessions WHERE report_id = $1`} {
			blobs = append(blobs, s.blobs(q, id)...)
		}
		if len(blobs) < 7 {
			t.Fatalf("only %d sealed blobs found before withdrawal", len(blobs))
		}
		r = s.postForm("/en/check/withdraw", url.Values{"csrf": {csrf}}, cookie)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "tick the box") {
			t.Errorf("withdraw without confirmation: %d", r.StatusCode)
		}
		r = s.postForm("/en/check/withdraw", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, cookie)
		if r.StatusCode != 200 || !strings.Contains(r.body, "Your report was deleted") {
			t.Fatalf("withdraw: %d %s", r.StatusCode, r.body)
		}
		for _, table := range []string{"report_fields", "messages", "attachments", "report_wraps", "receipts", "survivor_sessions"} {
			if n := s.count(`SELECT count(*) FROM `+table+` WHERE report_id = $1`, id); n != 0 {
				t.Errorf("%s still has %d rows after withdrawal", table, n)
			}
		}
		if s.db.Engine == "sqlite" { // PostgreSQL keeps dead tuples until VACUUM; see docs/privacy.md
			for i, b := range blobs {
				if s.contains(b[len(b)-32:]) {
					t.Errorf("ciphertext %d still in the database files after withdrawal", i)
				}
			}
		}
		if n := s.count(`SELECT count(*) FROM reports WHERE id = $1 AND status = 'withdrawn' AND categories <> ''`, id); n != 1 {
			t.Errorf("anonymous count lost: %d withdrawn rows with categories", n)
		}

		// The old session and the receipt open nothing now.
		if r := s.get("/en/check/report", cookie); r.StatusCode != http.StatusSeeOther {
			t.Errorf("session survived withdrawal: %d", r.StatusCode)
		}
		gone := s.postForm("/en/check", s.loginForm("en", receipt), "")
		unknown := s.postForm("/en/check", s.loginForm("en", "1111 2222 3333 4444"), "")
		typed := tokenRE.ReplaceAllString(strings.ReplaceAll(gone.body, receipt, ""), "")
		if gone.StatusCode != unknown.StatusCode || typed != tokenRE.ReplaceAllString(strings.ReplaceAll(unknown.body, "1111 2222 3333 4444", ""), "") {
			t.Errorf("withdrawn and unknown receipts answer differently: %d vs %d", gone.StatusCode, unknown.StatusCode)
		}
		if !strings.Contains(gone.body, "No report matches this code") {
			t.Errorf("withdrawn receipt page: %s", gone.body)
		}
	})
}

func (s *site) blobs(query string, args ...any) [][]byte {
	s.t.Helper()
	db := s.open()
	defer db.Close()
	rows, err := db.Query(query, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		rows.Scan(&b)
		out = append(out, b)
	}
	return out
}

// A form with a problem comes back with every typed word and stores nothing.
func TestValidationKeepsEverything(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		form := fullReport()
		form.Set("when", "yesterday-ish") // not a choice
		form.Set("narrative", narrative+"\nLine two with <b>tags</b> & \"quotes\"")
		form.Set("token", s.token("sw", "report"))
		form.Set("send", "1")
		r := s.postMultipart("/sw/report", form)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", r.StatusCode)
		}
		for _, want := range []string{html.EscapeString(form.Get("narrative")), idPhone, html.EscapeString(idHandle), contactTel,
			"after 6 pm", `value="sextortion" checked`, `value="nairobi" selected`, `value="whatsapp" selected`,
			"Tafadhali chagua kutoka kwenye orodha", "Kila ulichoandika bado kipo hapa"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("form lost %q", want)
			}
		}
		if n := len(s.newReports()); n != 0 {
			t.Errorf("%d reports stored from an invalid form", n)
		}

		// Over-long text: same.
		form.Set("when", "72h")
		form.Set("narrative", strings.Repeat("ndefu ", 2001))
		r = s.postMultipart("/sw/report", form)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "ndefu ndefu") || !strings.Contains(r.body, "ndefu mno") {
			t.Errorf("over-long narrative: %d", r.StatusCode)
		}
		if n := len(s.newReports()); n != 0 {
			t.Errorf("%d reports stored", n)
		}

		// A file that is not an image: the words stay, the survivor is told.
		form.Set("narrative", narrative)
		r = s.postMultipart("/sw/report", form, file{"x.exe", []byte("MZ\x90\x00 not an image")})
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "JPEG au PNG") || !strings.Contains(r.body, html.EscapeString(narrative)) {
			t.Errorf("bad file: %d", r.StatusCode)
		}
	})
}

// A blank report is valid and still gets help numbers (SPEC §3 rule 7).
func TestBlankReportGetsHelp(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		page, _ := s.report("en", url.Values{})
		for _, want := range []string{"1195", "999", "116"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("blank report's help lacks %s", want)
			}
		}
	})
}

// Help-now follows SPEC §3 rule 4.
func TestHelpNowRules(t *testing.T) {
	s := newSite(t, newSQLite(t))
	cases := []struct {
		name        string
		form        url.Values
		first, also []string
		not         []string
	}{
		{"danger first", url.Values{"danger": {"yes"}, "help": {"medical"}}, []string{`id="emergency"`}, []string{"112"}, nil},
		{"recent sexual violence", url.Values{"what": {"sexual_violence"}, "when": {"72h"}, "age": {"25plus"}},
			[]string{`id="post_rape_care"`}, []string{"72"}, []string{`id="child_line"`, `id="emergency"`}},
		{"old sexual violence", url.Values{"what": {"sexual_violence"}, "when": {"longer"}, "age": {"25plus"}},
			[]string{`id="services"`}, nil, []string{`id="post_rape_care"`}},
		{"a child", url.Values{"about": {"child"}}, []string{`id="child_line"`}, []string{"116"}, nil},
		{"adult takedown", url.Values{"age": {"25plus"}, "help": {"takedown"}}, []string{`id="image_removal"`}, []string{"stopncii.org"}, []string{"takeitdown.ncmec.org"}},
		{"child takedown", url.Values{"age": {"13-15"}, "help": {"takedown"}}, []string{`id="child_line"`}, []string{"Take It Down"}, []string{"stopncii.org"}},
		{"child sextortion: the IWF too", url.Values{"about": {"child"}, "what": {"sextortion"}}, []string{`id="child_line"`},
			[]string{`id="child_images"`, "report.iwf.org.uk", "takeitdown.ncmec.org", "Do not download"}, []string{"stopncii.org"}},
		{"adult sextortion: no IWF", url.Values{"age": {"25plus"}, "what": {"sextortion"}}, []string{`id="image_removal"`}, nil, []string{"report.iwf.org.uk", `id="child_images"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, _ := s.report("en", tc.form)
			main := page.body[strings.Index(page.body, "class=\"receipt\""):]
			first := strings.Index(main, "<section")
			if first < 0 || !strings.HasPrefix(main[first:], "<section "+tc.first[0]) {
				t.Errorf("first section is not %s: %.80s", tc.first[0], main[max(first, 0):])
			}
			for _, want := range tc.also {
				if !strings.Contains(main, want) {
					t.Errorf("lacks %q", want)
				}
			}
			for _, bad := range tc.not {
				if strings.Contains(main, bad) {
					t.Errorf("shows %q", bad)
				}
			}
		})
	}
}

// Pressing Send twice stores one report, and the second answer shows no
// code (SPEC §6 "Shown once").
func TestDoubleSubmit(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		form := fullReport()
		form.Set("token", s.token("en", "report"))
		_, first := s.report("en", form)
		again := s.postMultipart("/en/report", form)
		if again.StatusCode != 200 || !strings.Contains(again.body, "This report was already sent") {
			t.Errorf("double submit: %d, not explained:\n%s", again.StatusCode, again.body)
		}
		if receiptRE.MatchString(again.body) || strings.Contains(again.body, first) {
			t.Errorf("double submit shows a code again")
		}
		s.onlyReport()
	})
}

// An expired or forged form token keeps the words and asks to send again.
func TestExpiredToken(t *testing.T) {
	s := newSite(t, newSQLite(t))
	form := fullReport()
	form.Set("token", s.token("en", "report"))
	s.clock.Add(4 * time.Hour)
	form.Set("send", "1")
	r := s.postMultipart("/en/report", form)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "open for a long time") || !strings.Contains(r.body, html.EscapeString(narrative)) {
		t.Errorf("expired token: %d", r.StatusCode)
	}
	form.Set("token", "forged")
	if r := s.postMultipart("/en/report", form); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("forged token: %d", r.StatusCode)
	}
	if n := len(s.newReports()); n != 0 {
		t.Errorf("%d reports stored", n)
	}
}

// The database going away mid-journey: the survivor keeps every word.
func TestDatabaseDownKeepsWords(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		form := s.sendForm("en")
		s.app.Store.Close()
		r := s.postMultipart("/en/report", form)
		if r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", r.StatusCode)
		}
		if !strings.Contains(r.body, "could not save your report") || !strings.Contains(r.body, html.EscapeString(narrative)) || !strings.Contains(r.body, contactTel) {
			t.Errorf("words or message lost:\n%s", r.body)
		}
	})
}

// Adding an identifier row re-renders the form without sending anything.
func TestAddIdentifierRow(t *testing.T) {
	s := newSite(t, newSQLite(t))
	form := fullReport()
	form.Set("token", s.token("en", "report"))
	form.Set("add_row", "1")
	r := s.postMultipart("/en/report", form)
	if r.StatusCode != 200 || strings.Count(r.body, `name="id_value"`) != 3 || !strings.Contains(r.body, html.EscapeString(idHandle)) {
		t.Errorf("add row: %d, %d rows", r.StatusCode, strings.Count(r.body, `name="id_value"`))
	}
	if n := len(s.newReports()); n != 0 {
		t.Errorf("adding a row stored a report")
	}
}

// A tip gets a receipt and is routed like a report.
func TestTip(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		form := url.Values{"token": {s.token("sw", "tip")}, "send": {"1"}, "id_type": {"phone"}, "id_platform": {"telegram"},
			"id_value": {"+254 700 123 456"}, "county": {"mombasa"}, "child": {"yes"}, "note": {"Tangazo la msichana wa miaka 15"}}
		r := s.postMultipart("/sw/tip", form)
		if r.StatusCode != 200 {
			t.Fatalf("tip: %d %s", r.StatusCode, r.body)
		}
		match(t, receiptRE, r.body, "receipt")
		if !strings.Contains(r.body, "116") {
			t.Errorf("a tip about a child does not show 116")
		}
		if n := s.count(`SELECT count(*) FROM reports r JOIN organisations o ON o.id = r.org_id WHERE r.id = $1 AND r.kind = 'tip' AND o.child_protection`, s.onlyReport()); n != 1 {
			t.Errorf("tip about a child not routed to child protection")
		}
		if s.contains([]byte("700123456")) || s.contains([]byte("Tangazo la msichana")) {
			t.Errorf("tip stored in clear")
		}
	})
}

// Receipt guessing from one address is stopped hard, before any argon2id.
func TestReceiptGuessingLimited(t *testing.T) {
	s := newSite(t, newSQLite(t))
	var last int
	for i := range 8 {
		r := s.postForm("/en/check", s.loginForm("en", fmt.Sprintf("1234 5678 9012 %04d", i)), "")
		last = r.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("8th guess: %d, want 429", last)
	}
}

// A malformed receipt keeps what was typed and says what a receipt is.
func TestMalformedReceipt(t *testing.T) {
	s := newSite(t, newSQLite(t))
	r := s.postForm("/sw/check", s.loginForm("sw", "1234 5678 90"), "")
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `value="1234 5678 90"`) || !strings.Contains(r.body, "tarakimu 16") {
		t.Errorf("malformed receipt: %d", r.StatusCode)
	}
}

// Sessions end after 15 idle minutes and on logout; tampered cookies and
// forged CSRF tokens open nothing.
func TestSessionLifetime(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		_, receipt := s.report("en", fullReport())
		cookie := s.login("en", receipt)
		s.clock.Add(14 * time.Minute)
		if r := s.get("/en/check/report", cookie); r.StatusCode != web.StatusReport {
			t.Fatalf("session ended before 15 idle minutes: %d", r.StatusCode)
		}
		s.clock.Add(14 * time.Minute) // active 14 minutes ago: still alive
		r := s.get("/en/check/report", cookie)
		if r.StatusCode != web.StatusReport {
			t.Fatalf("session ended while in use: %d", r.StatusCode)
		}
		csrf := match(t, csrfRE, r.body, "csrf")
		if r := s.postForm("/en/check/reply", url.Values{"csrf": {csrf + "x"}, "text": {"hi"}}, cookie); r.StatusCode != http.StatusForbidden {
			t.Errorf("forged csrf: %d", r.StatusCode)
		}
		tampered := []byte(cookie)
		tampered[len(tampered)-3] ^= 1
		if r := s.get("/en/check/report", string(tampered)); r.StatusCode != http.StatusSeeOther {
			t.Errorf("tampered cookie: %d", r.StatusCode)
		}
		s.clock.Add(16 * time.Minute)
		if r := s.get("/en/check/report", cookie); r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "ended=1") {
			t.Errorf("idle session: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		cookie = s.login("en", receipt)
		csrf = match(t, csrfRE, s.get("/en/check/report", cookie).body, "csrf")
		if r := s.postForm("/en/check/logout", url.Values{"csrf": {csrf}}, cookie); r.StatusCode != 200 {
			t.Errorf("logout: %d", r.StatusCode)
		}
		if r := s.get("/en/check/report", cookie); r.StatusCode != http.StatusSeeOther {
			t.Errorf("session survived logout: %d", r.StatusCode)
		}
		if n := s.count(`SELECT count(*) FROM survivor_sessions`); n != 0 {
			t.Errorf("%d sessions left after logout", n)
		}
	})
}

// Images of a child (issue 15, item 8): the help page always lists Take It
// Down, StopNCII and the IWF portal with what each does, in both languages;
// a tip about an advert with a child in it points to the IWF portal and to
// Take It Down.
func TestChildImagesHelp(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for lang, words := range map[string][]string{
		"en": {"Pictures and videos online", "IWF reporting portal", "You do not give your name", "never leaves"},
		"sw": {"Picha na video mtandaoni", "Tovuti ya IWF ya kuripoti", "Huhitaji kutaja jina lako", "haitoki"},
	} {
		page := s.get("/"+lang+"/help", "")
		if page.StatusCode != 200 || !strings.Contains(page.body, `<section id="images">`) {
			t.Fatalf("%s help: %d, or no images section", lang, page.StatusCode)
		}
		for _, want := range append(words, "report.iwf.org.uk", "takeitdown.ncmec.org", "stopncii.org") {
			if !strings.Contains(page.body[strings.Index(page.body, `<section id="images">`)+1:], html.EscapeString(want)) {
				t.Errorf("%s /help lacks %q", lang, want)
			}
		}
	}
	for lang, title := range map[string]string{"en": "Sexual pictures of a child online", "sw": "Picha za ngono za mtoto mtandaoni"} {
		form := url.Values{"token": {s.token(lang, "tip")}, "child": {"yes"}, "send": {"1"}}
		r := s.postMultipart("/"+lang+"/tip", form)
		if r.StatusCode != 200 {
			t.Fatalf("%s tip: %d", lang, r.StatusCode)
		}
		sec := r.body[strings.Index(r.body, `<section id="child_images"`)+1:]
		sec = sec[:strings.Index(sec, "</section>")]
		for _, want := range []string{title, "report.iwf.org.uk", "takeitdown.ncmec.org"} {
			if !strings.Contains(sec, want) {
				t.Errorf("%s tip with a child: child_images section lacks %q", lang, want)
			}
		}
	}
}
