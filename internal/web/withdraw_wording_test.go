package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/locale"
)

// Issue 12 (9): the check page promised that withdrawal deletes
// everything for ever, while backups keep the report until they expire.
// Before and after withdrawing, in both languages, the page now says what
// goes at once and that locked safety copies keep it for a set number of
// days.
func TestWithdrawalWordingNamesBackups(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for _, l := range []locale.Lang{locale.English, locale.Kiswahili} {
		lang := string(l)
		p := s.app.Catalog.Printer(l)
		_, receipt := s.report(lang, url.Values{"about": {"me"}, "narrative": {"Nilitishiwa."}})
		cookie := s.login(lang, receipt)
		page := s.get("/"+lang+"/check/report", cookie)
		if !strings.Contains(page.body, html.EscapeString(p.T("thread.withdraw_body"))) {
			t.Fatalf("%s: the withdrawal text is not on the page", lang)
		}
		csrf := match(t, csrfRE, page.body, "csrf")
		done := s.postForm("/"+lang+"/check/withdraw", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, cookie)
		if !strings.Contains(done.body, html.EscapeString(p.T("check.withdrawn"))) {
			t.Fatalf("%s: the page after withdrawing does not say what remains", lang)
		}
		for _, key := range []string{"thread.withdraw_body", "check.withdrawn"} {
			text := p.T(key)
			if !strings.Contains(text, "(backups)") {
				t.Errorf("%s %s does not mention backups: %q", lang, key, text)
			}
			if strings.Contains(text, "for ever") || strings.Contains(text, "milele") {
				t.Errorf("%s %s still promises deletion for ever: %q", lang, key, text)
			}
		}
	}
}
