package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 16 (5): on the report and tip forms the other language is a button
// that sends the form to the same form in that language, which comes back
// with every answer; nothing is stored. Screenshots cannot come along, and
// the page says so before they are chosen.
func TestLanguageSwitchKeepsAnswers(t *testing.T) {
	s := newSite(t, newSQLite(t))
	page := s.get("/en/report", "").body
	if !strings.Contains(page, `form="f" formaction="/sw/report" name="switch_lang" value="sw"`) {
		t.Fatalf("the English form has no Kiswahili button posting the form:\n%s", page)
	}
	if !strings.Contains(page, html.EscapeString(s.app.Catalog.Printer("en").T("form.files_keep"))) {
		t.Error("the form does not say what happens to screenshots when the language changes")
	}
	narrative := "Alinitishia kwenye WhatsApp & nikaogopa <sana>."
	form := url.Values{"token": {s.token("en", "report")}, "switch_lang": {"sw"}, "about": {"me"},
		"what": {"sextortion", "advertised"}, "county": {"kisumu"}, "narrative": {narrative}, "contact": {"phone"},
		"phone": {"0712 345 678"}, "id_type": {"phone"}, "id_platform": {"whatsapp"}, "id_value": {"0798 000 111"}}
	r := s.postMultipart("/sw/report", form, file{"shot.png", noisePNG(t, 3000)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("switching language: status %d", r.StatusCode)
	}
	if !strings.Contains(r.body, `<html lang="sw">`) {
		t.Error("the form did not come back in Kiswahili")
	}
	for _, want := range []string{html.EscapeString(narrative), `value="me" checked`, `value="sextortion" checked`,
		`value="advertised" checked`, `value="kisumu" selected`, `value="phone" checked`, `value="0712 345 678"`,
		`value="whatsapp" selected`, `value="0798 000 111"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("after switching to Kiswahili the form lost %s", want)
		}
	}
	if !heldRE.MatchString(r.body) || !strings.Contains(r.body, html.EscapeString(s.app.Catalog.Printer("sw").T("form.files_kept", 1))) {
		t.Error("the screenshot sent along is not kept, or the page does not say so")
	}
	if strings.Contains(r.body, `id="problems"`) {
		t.Error("switching language shows the form as having problems")
	}
	if n := len(s.newReports()); n != 0 {
		t.Errorf("switching language stored %d reports", n)
	}
	// And back to English, from the Kiswahili page.
	if !strings.Contains(r.body, `formaction="/en/report" name="switch_lang" value="en"`) {
		t.Error("the Kiswahili form has no English button")
	}
	// The tip form too.
	tip := s.postMultipart("/sw/tip", url.Values{"token": {s.token("en", "tip")}, "switch_lang": {"sw"}, "note": {"Tangazo la kazi Dubai."}})
	if tip.StatusCode != http.StatusOK || !strings.Contains(tip.body, "Tangazo la kazi Dubai.") || !strings.Contains(tip.body, `<html lang="sw">`) {
		t.Errorf("the tip form after switching: %d", tip.StatusCode)
	}
}
