package web_test

import (
	"encoding/json"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/locale"
)

// Issue 16 (6): Kiswahili words a survivor tripped over are gone from the
// whole Kiswahili catalog, and the pages she meets use the new ones:
// "Funga ripoti yangu" (never a bare "Toka" beside "Toka haraka") to close
// an opened report, "kupeleka ripoti kwa" for passing a report on,
// "alirubuniwa kwa ahadi ya kazi", "cookie".
func TestKiswahiliWording(t *testing.T) {
	files, err := filepath.Glob("../locale/messages/*.sw.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Kiswahili catalog found: %v", err)
	}
	old := regexp.MustCompile(`(?i)kidakuzi|kushiriki|aliajiriwa|kamwe si mtu mmoja|^Toka$|^Umetoka\b`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, v := range msgs {
			if m := old.FindString(v); m != "" {
				t.Errorf("%s %s still says %q: %q", filepath.Base(f), k, m, v)
			}
		}
	}

	s := newSite(t, newSQLite(t))
	p := s.app.Catalog.Printer(locale.Kiswahili)
	form := s.get("/sw/report", "").body
	for _, want := range []string{"Kupeleka ripoti kwa mashirika mengine", "alirubuniwa kwa ahadi ya kazi"} {
		if !strings.Contains(form, want) {
			t.Errorf("the Kiswahili form does not say %q", want)
		}
	}
	_, receipt := s.report("sw", url.Values{"narrative": {"Nilitishiwa."}})
	cookie := s.login("sw", receipt)
	thread := s.get("/sw/check/report", cookie).body
	if !strings.Contains(thread, ">Funga ripoti yangu</button>") {
		t.Error(`the Kiswahili report page has no "Funga ripoti yangu" button`)
	}
	if strings.Contains(thread, ">Toka</") {
		t.Error(`the Kiswahili report page still has a bare "Toka" button`)
	}
	check := s.get("/sw/check", "").body
	if !strings.Contains(check, html.EscapeString(p.T("check.cookie_note"))) || !strings.Contains(p.T("check.cookie_note"), "cookie moja") {
		t.Errorf("the check page's cookie note: %q", p.T("check.cookie_note"))
	}
}

// Issue 16 (8): the landing page no longer claims that nothing is left on
// the phone: it says the browser keeps a history, and how to clear it, in
// both languages.
func TestLandingSaysHistoryStays(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for _, l := range locale.Langs {
		p := s.app.Catalog.Printer(l)
		body := s.get("/"+string(l)+"/", "").body
		for _, key := range []string{"landing.safe_private", "landing.safe_history"} {
			if !strings.Contains(body, html.EscapeString(p.T(key))) {
				t.Errorf("%s landing page lacks %s", l, key)
			}
		}
		words := map[locale.Lang][]string{locale.English: {"history", "Clear browsing data"},
			locale.Kiswahili: {"historia", "futa historia"}}[l]
		for _, w := range words {
			if !strings.Contains(strings.ToLower(body), strings.ToLower(w)) {
				t.Errorf("%s landing page does not mention %q", l, w)
			}
		}
	}
}
