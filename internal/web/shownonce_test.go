package web_test

import (
	"crypto/rand"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// assertSpentPage checks the answer to a spent form token: the report was
// already sent, the code is shown once and never here, the way to check
// with the code, the national lines; nothing about the report.
func assertSpentPage(t *testing.T, r response, lang, receipt string) {
	t.Helper()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("spent token: status %d", r.StatusCode)
	}
	want := map[string][]string{
		"en": {"This report was already sent", "shown only once", `href="/en/check"`, "1195", "116"},
		"sw": {"Ripoti hii imeshatumwa", "mara moja tu", `href="/sw/check"`, "1195", "116"},
	}[lang]
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Errorf("spent-token page lacks %q", w)
		}
	}
	if receiptRE.MatchString(r.body) || strings.Contains(r.body, receipt) || strings.Contains(r.body, strings.ReplaceAll(receipt, " ", "")) {
		t.Error("a spent form token shows the code again")
	}
	// Help matched to the report would tell whoever holds the phone what
	// it said: the forms sent are about sextortion and images, so the
	// image-removal tools must not show.
	for _, leak := range []string{"Take It Down", "StopNCII"} {
		if strings.Contains(r.body, leak) {
			t.Errorf("the spent-token page shows help matched to the report (%q)", leak)
		}
	}
	if r.Header.Get("Cache-Control") != "no-store" || len(r.Cookies()) != 0 {
		t.Errorf("spent-token page: Cache-Control %q, %d cookies", r.Header.Get("Cache-Control"), len(r.Cookies()))
	}
}

// SPEC §6 "Shown once": a form token that made a report is spent. Sending
// the same form again (Send pressed twice, Back and Reload on the
// confirmation page, a form replayed from the browser's history within its
// three hours) stores nothing and never shows the code; the report and the
// tip forms alike, in both languages, and after the report was withdrawn.
func TestSpentFormTokenNeverShowsTheCode(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		form := fullReport()
		form.Set("token", s.token("en", "report"))
		first, receipt := s.report("en", form)
		if !strings.Contains(first.body, "shown only once") {
			t.Error("the confirmation does not say the code is shown only once")
		}
		id := s.onlyReport()
		s.clock.Add(2 * time.Hour) // still within the token's three hours
		assertSpentPage(t, s.postMultipart("/en/report", form), "en", receipt)

		tip := url.Values{"token": {s.token("sw", "tip")}, "send": {"1"}, "id_type": {"phone"}, "id_platform": {"telegram"},
			"id_value": {"+254 700 123 456"}, "county": {"mombasa"}, "child": {"yes"}}
		r := s.postMultipart("/sw/tip", tip)
		tipReceipt := match(t, receiptRE, r.body, "tip receipt")
		assertSpentPage(t, s.postMultipart("/sw/tip", tip), "sw", tipReceipt)
		if n := len(s.newReports()); n != 2 {
			t.Errorf("%d reports stored, want 2", n)
		}

		// The survivor withdraws; the old form sent again stores nothing
		// new and says the report was deleted.
		cookie := s.login("en", receipt)
		csrf := match(t, csrfRE, s.get("/en/check/report", cookie).body, "csrf")
		if r := s.postForm("/en/check/withdraw", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, cookie); r.StatusCode != 200 {
			t.Fatalf("withdraw: %d", r.StatusCode)
		}
		r = s.postMultipart("/en/report", form)
		if r.StatusCode != 200 || !strings.Contains(r.body, "has been deleted since") || receiptRE.MatchString(r.body) ||
			strings.Contains(r.body, html.EscapeString(narrative)) {
			t.Errorf("the form of a withdrawn report sent again: %d\n%s", r.StatusCode, r.body)
		}
		if ids := s.newReports(); len(ids) != 2 || !strings.Contains(strings.Join(ids, ","), id) {
			t.Errorf("sending a withdrawn report's form again stored a report: %v", ids)
		}
	})
}

// Two presses of Send at once: one report, one code, shown on one page.
func TestConcurrentDoubleSubmitShowsOneCode(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		form := s.sendForm("en")
		var wg sync.WaitGroup
		pages := make([]response, 4)
		for i := range pages {
			wg.Go(func() { pages[i] = s.postMultipart("/en/report", form) })
		}
		wg.Wait()
		codes := 0
		for _, p := range pages {
			if p.StatusCode != 200 {
				t.Fatalf("status %d", p.StatusCode)
			}
			if receiptRE.MatchString(p.body) {
				codes++
			} else if !strings.Contains(p.body, "This report was already sent") {
				t.Errorf("neither a code nor already sent:\n%s", p.body)
			}
		}
		if codes != 1 {
			t.Errorf("%d pages showed a code, want 1", codes)
		}
		s.onlyReport()
	})
}

// Nothing that reaches the page or the browser's history decides the
// receipt: the same form token, valid on two servers that share a network
// secret, gives two unrelated receipts.
func TestReceiptNotDerivedFromFormToken(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		secret := make([]byte, 32)
		rand.Read(secret)
		shared := func(o *app.Options) { o.NetworkSecret = hex.EncodeToString(secret) }
		a := newSite(t, db, shared)
		b := newSite(t, storetest.NewDB(t, db.Engine), shared)
		form := fullReport()
		form.Set("token", a.token("en", "report"))
		_, ra := a.report("en", form)
		_, rb := b.report("en", form)
		if ra == rb {
			t.Fatal("the same form token gave the same receipt on two servers: the receipt is derived from it")
		}
	})
}
