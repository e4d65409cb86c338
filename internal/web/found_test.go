package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	et "github.com/salama-ke/salama/internal/evidence/evidencetest"
)

// Issue 15 (4): the numbers and usernames in a chat export the survivor
// sent are offered to her on her check page, with JavaScript off, in both
// languages; only those she ticks are added, matched only under the
// consent she gave; nothing else can be slipped in.
func TestFoundIdentifiersOfferedOnTheCheckPage(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		chat := et.WhatsAppAndroid("+254 712 345 678: pay or I post them. My boss is @kibanda_boss_77",
			"Me: stop", "+254 712 345 678: call 0733-111-222 or t.me/otherguy")
		form := fullReport() // matching agreed; "0712 345 678" and "@kibanda_boss_77" typed
		_, receipt := s.report("en", form, file{"WhatsApp Chat with Boss.txt", chat})
		id := s.onlyReport()
		cookie := s.login("en", receipt)
		before := s.count(`SELECT COUNT(*) FROM identifiers WHERE report_id = $1`, id)

		page := s.get("/en/check/report", cookie)
		for _, want := range []string{"Numbers and usernames in the chat you sent", `name="found" value="0733-111-222"`,
			`value="t.me/otherguy"`, "The ones you add are checked too"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("check page lacks %q", want)
			}
		}
		// What she already typed is not offered again, in any spelling.
		if strings.Contains(page.body, `value="+254 712 345 678"`) || strings.Contains(page.body, `value="@kibanda_boss_77"`) {
			t.Error("an identifier she typed is offered again")
		}
		if sw := s.get("/sw/check/report", cookie); !strings.Contains(sw.body, "Namba na majina ya watumiaji katika mazungumzo uliyotuma") {
			t.Error("the Swahili check page lacks the offer")
		}
		csrf := match(t, csrfRE, page.body, "csrf")

		// Forged token, nothing ticked, a value never offered: refused,
		// nothing added.
		if r := s.postForm("/en/check/identifiers", url.Values{"csrf": {"forged"}, "found": {"0733-111-222"}}, cookie); r.StatusCode != http.StatusForbidden {
			t.Errorf("forged CSRF: %d", r.StatusCode)
		}
		if r := s.postForm("/en/check/identifiers", url.Values{"csrf": {csrf}}, cookie); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Please tick at least one") {
			t.Errorf("nothing ticked: %d", r.StatusCode)
		}
		if r := s.postForm("/en/check/identifiers", url.Values{"csrf": {csrf}, "found": {"0733-111-222", "+254 700 000 001"}}, cookie); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "This list changed") {
			t.Errorf("a value not offered: %d", r.StatusCode)
		}
		if r := s.postForm("/en/check/identifiers", url.Values{"csrf": {csrf}, "found": {"0733-111-222"}}, ""); strings.HasSuffix(r.Header.Get("Location"), "#sent") {
			t.Error("added without a session")
		}
		if n := s.count(`SELECT COUNT(*) FROM identifiers WHERE report_id = $1`, id); n != before {
			t.Fatalf("refused posts added %d blind rows", n-before)
		}

		// She ticks one: it is added, matched, and no longer offered.
		r := s.postForm("/en/check/identifiers", url.Values{"csrf": {csrf}, "found": {"0733-111-222"}}, cookie)
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("adding: %d %s", r.StatusCode, r.body)
		}
		if n := s.count(`SELECT COUNT(*) FROM identifiers WHERE report_id = $1`, id); n != before+1 {
			t.Errorf("blind rows %d → %d, want one more", before, n)
		}
		if n := s.count(`SELECT COUNT(*) FROM audit_log WHERE report_id = $1 AND action = 'report.identifiers_added' AND actor = 'survivor' AND detail = 'count=1 consent=yes'`, id); n != 1 {
			t.Errorf("%d audit entries for the addition, want 1", n)
		}
		page = s.get("/en/check/report", cookie)
		if strings.Contains(page.body, `name="found" value="0733-111-222"`) || !strings.Contains(page.body, html.EscapeString("WhatsApp: 0733-111-222")) ||
			!strings.Contains(page.body, `value="t.me/otherguy"`) {
			t.Error("after adding: the number is not among what she sent, or still offered")
		}
		if s.contains([]byte("0733-111-222")) || s.contains([]byte("+254733111222")) || s.contains([]byte("otherguy")) {
			t.Error("a found identifier is in the database in clear")
		}
	})
}

// Without consent to matching, what she adds is shown to her caseworker
// and never blind-indexed.
func TestFoundIdentifiersWithoutMatching(t *testing.T) {
	s := newSite(t, newSQLite(t))
	form := fullReport()
	form.Del("match")
	_, receipt := s.report("sw", form, file{"chat.txt", et.WhatsAppAndroid("Boss: piga 0733 111 222")})
	id := s.onlyReport()
	cookie := s.login("sw", receipt)
	page := s.get("/sw/check/report", cookie)
	if !strings.Contains(page.body, "Hukukubali tuangalie") {
		t.Fatal("the page does not say what is added is not matched")
	}
	before := s.count(`SELECT COUNT(*) FROM identifiers WHERE report_id = $1`, id)
	r := s.postForm("/sw/check/identifiers", url.Values{"csrf": {match(t, csrfRE, page.body, "csrf")}, "found": {"0733 111 222"}}, cookie)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding: %d", r.StatusCode)
	}
	if n := s.count(`SELECT COUNT(*) FROM identifiers WHERE report_id = $1`, id); n != before || before != 0 {
		t.Errorf("blind rows without consent: %d → %d", before, n)
	}
	if n := s.count(`SELECT COUNT(*) FROM audit_log WHERE report_id = $1 AND action = 'report.identifiers_added' AND detail = 'count=1 consent=no'`, id); n != 1 {
		t.Errorf("%d audit entries for the addition without matching, want 1", n)
	}
	if p := s.get("/sw/check/report", cookie); !strings.Contains(p.body, "0733 111 222") {
		t.Error("the added number is not on her report")
	}
}

// The form says, in both languages, what files it takes, and the file
// input offers them (types and extensions: phones pick by either).
func TestFormOffersTheNewEvidenceTypes(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for lang, words := range map[string][]string{
		"en": {"Screenshots, PDF, voice notes, chat exports (if you want)", "in WhatsApp choose"},
		"sw": {"Picha za skrini, PDF, ujumbe wa sauti, mazungumzo uliyohamisha (ukitaka)", "kwenye WhatsApp chagua"},
	} {
		for _, kind := range []string{"report", "tip"} {
			r := s.get("/"+lang+"/"+kind, "")
			for _, want := range append(words, "application/pdf", "audio/ogg", ".m4a", ".mp3", ".opus", ".zip", ".txt", ".json") {
				if !strings.Contains(r.body, html.EscapeString(want)) && !strings.Contains(r.body, want) {
					t.Errorf("%s %s form lacks %q", lang, kind, want)
				}
			}
		}
	}
}
