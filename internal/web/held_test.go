package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var heldRE = regexp.MustCompile(`name="held" value="([^"]+)"`)

// Issue 16 (3): "Add another" used to drop the screenshots already
// chosen. They are now kept for the page that comes back, sealed under a
// key only that page holds and bound to its form token, and the report
// sent from it has them; on both databases. Then what an attacker, a
// careless colleague and a shared phone would try.
func TestAddAnotherKeepsScreenshots(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		shot := noisePNG(t, 30_000)
		form := url.Values{"token": {s.token("en", "report")}, "add_row": {"1"}, "narrative": {"Screenshots kept."},
			"id_type": {"phone"}, "id_value": {"0712 000 111"}}
		r := s.postMultipart("/en/report", form, file{"chat.png", shot})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("Add another: %d", r.StatusCode)
		}
		held := match(t, heldRE, r.body, "held screenshots")
		if !strings.Contains(r.body, "Screenshots kept from before: 1.") {
			t.Error("the page does not say the screenshot is kept")
		}
		if s.contains(shot[len(shot)-2000:]) {
			t.Error("the held screenshot reached the database before the report was sent")
		}
		token := match(t, tokenRE, r.body, "form token")

		// Moved to another form (another token): nothing.
		other := url.Values{"token": {s.token("en", "report")}, "send": {"1"}, "held": {held}}
		if r := s.postMultipart("/en/report", other); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "kept for one hour only") {
			t.Errorf("held screenshots used with another form's token: %d", r.StatusCode)
		}
		if n := len(s.newReports()); n != 0 {
			t.Fatalf("%d reports stored", n)
		}

		// The real page, sent: the report has the screenshot.
		send := url.Values{"token": {token}, "send": {"1"}, "held": {held}, "narrative": {"Screenshots kept."}}
		r = s.postMultipart("/en/report", send)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("send with held screenshots: %d\n%s", r.StatusCode, r.body)
		}
		match(t, receiptRE, r.body, "receipt")
		if n := s.count(`SELECT count(*) FROM attachments WHERE report_id = $1`, s.onlyReport()); n != 1 {
			t.Errorf("the report has %d screenshots, want the one chosen before Add another", n)
		}
		// Used once: the same field again finds nothing (a replay).
		again := url.Values{"token": {s.token("en", "report")}, "send": {"1"}, "held": {held}}
		if r := s.postMultipart("/en/report", again); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("held screenshots used twice: %d", r.StatusCode)
		}
		// A forged reference: nothing, no crash.
		for _, ref := range []string{"x", "x.y", strings.Repeat("A", 26) + "." + strings.Repeat("A", 43), held + "junk"} {
			f := url.Values{"token": {s.token("en", "report")}, "send": {"1"}, "held": {ref}}
			if r := s.postMultipart("/en/report", f); r.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("held=%q: %d", ref, r.StatusCode)
			}
		}
		if n := len(s.newReports()); n != 1 {
			t.Errorf("%d reports stored, want 1", n)
		}
	})
}

// A survivor may remove the kept screenshots, and a form with problems
// keeps them round after round.
func TestHeldScreenshotsRemovedOrCarried(t *testing.T) {
	s := newSite(t, newSQLite(t))
	shot := noisePNG(t, 20_000)
	r := s.postMultipart("/en/report", url.Values{"token": {s.token("en", "report")}, "add_row": {"1"}}, file{"a.png", shot})
	held, token := match(t, heldRE, r.body, "held"), match(t, tokenRE, r.body, "token")
	// A problem (SMS chosen, no number): the form comes back, the
	// screenshot still kept, under the new page's token.
	r = s.postMultipart("/en/report", url.Values{"token": {token}, "send": {"1"}, "held": {held}, "contact": {"phone"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a form with a problem: %d", r.StatusCode)
	}
	held2, token2 := match(t, heldRE, r.body, "held after a problem"), match(t, tokenRE, r.body, "token")
	if held2 == held || !bytes.Contains([]byte(r.body), []byte("Screenshots kept from before: 1.")) {
		t.Error("after a problem the screenshot is not kept again for the new page")
	}
	// Removed: the report is sent without it.
	r = s.postMultipart("/en/report", url.Values{"token": {token2}, "send": {"1"}, "held": {held2}, "drop_held": {"yes"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("send after removing: %d", r.StatusCode)
	}
	if n := s.count(`SELECT count(*) FROM attachments WHERE report_id = $1`, s.onlyReport()); n != 0 {
		t.Errorf("%d screenshots stored after the survivor removed them", n)
	}
}
