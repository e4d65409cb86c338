package web_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// The survivor sees a referral request on the check page, in their
// language, and answers it; then stops it.
func TestSurvivorAnswersReferral(t *testing.T) {
	e := apptest.New(t, storetest.NewDB(t, store.SQLite))
	srv := httptest.NewServer(e.App.Handler())
	defer srv.Close()
	receipt := e.App.Demo.Receipts[0]
	reportID := e.ReportOfReceipt(receipt)
	if err := e.App.Casework.CreateReferral(e.Ctx(), e.Principal("demo-caseworker"), reportID, casework.NewReferral{
		ServiceID: "demo-trust-shelter-women", Fields: []string{referral.FieldSituation, referral.FieldNarrative}, Mode: casework.ModeAsk}); err != nil {
		t.Fatal(err)
	}
	refs, _ := e.App.Store.Referrals(e.Ctx(), reportID)
	refID := refs[0].ID

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values, cookie string) (*http.Response, string) {
		t.Helper()
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "salama_check", Value: cookie})
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String()
	}
	resp, _ := do("POST", "/sw/check", url.Values{"receipt": {receipt}, "token": {e.App.Reporting.NewLoginToken()}}, "")
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "salama_check" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("receipt login: %d", resp.StatusCode)
	}
	_, page := do("GET", "/sw/check/report", nil, cookie)
	for _, want := range []string{"Rufaa", "Inasubiri jibu lako", "Example Women&#39;s Safe House (demo)", "Ndiyo, ipelekwe", "Wanachofanya: Nyumba salama",
		"majibu yako ya maswali, ulichoandika kwa maneno yako mwenyewe"} {
		if !strings.Contains(page, want) {
			t.Errorf("check page lacks %q", want)
		}
	}
	csrf := match(t, csrfRE, page, "csrf")
	if resp, _ := do("POST", "/sw/check/referral", url.Values{"csrf": {"forged"}, "referral": {refID}, "action": {"agree"}}, cookie); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged csrf: %d", resp.StatusCode)
	}
	if resp, body := do("POST", "/sw/check/referral", url.Values{"csrf": {csrf}, "referral": {"someone-elses"}, "action": {"agree"}}, cookie); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "tayari imesonga mbele") {
		t.Errorf("unknown referral: %d", resp.StatusCode)
	}
	if resp, _ := do("POST", "/sw/check/referral", url.Values{"csrf": {csrf}, "referral": {refID}, "action": {"agree"}}, cookie); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("agree: %d", resp.StatusCode)
	}
	_, page = do("GET", "/sw/check/report", nil, cookie)
	if !strings.Contains(page, "Imepelekwa") || !strings.Contains(page, "Ulikubali hapa.") || !strings.Contains(page, "Simamisha rufaa hii") {
		t.Errorf("after agreeing, the page does not say it was passed on")
	}
	if ref, _ := e.App.Store.Referral(e.Ctx(), refID); ref.State != store.ReferralSent {
		t.Errorf("state %s", ref.State)
	}
	if resp, _ := do("POST", "/sw/check/referral", url.Values{"csrf": {csrf}, "referral": {refID}, "action": {"stop"}}, cookie); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop: %d", resp.StatusCode)
	}
	_, page = do("GET", "/sw/check/report", nil, cookie)
	if !strings.Contains(page, "Imesimamishwa (uliisimamisha)") {
		t.Errorf("after stopping, the page does not say so")
	}
}

// The report form asks separately, in both languages and unticked, whether
// the report may go to the police gender desk and to legal aid; a form
// that comes back keeps the ticks; only the ticks are stored as consent,
// never the help asked for.
func TestPoliceAndLegalConsentOnTheForm(t *testing.T) {
	s := newSite(t, newSQLite(t))
	for lang, words := range map[string][]string{
		"en": {"The police and lawyers", "You may pass my report to the police gender desk", "You may pass my report to a free lawyer (legal aid)",
			"The police and lawyers get nothing from your report unless you tick here"},
		"sw": {"Polisi na mawakili", "Mnaweza kupeleka ripoti yangu kwa dawati la jinsia la polisi",
			"Mnaweza kupeleka ripoti yangu kwa wakili wa bure (msaada wa kisheria)", "Polisi na mawakili hawapati chochote"},
	} {
		page := s.get("/"+lang+"/report", "")
		for _, w := range words {
			if !strings.Contains(page.body, html.EscapeString(w)) {
				t.Errorf("%s form lacks %q", lang, w)
			}
		}
		for _, name := range []string{"share_police", "share_legal"} {
			if !strings.Contains(page.body, `name="`+name+`" value="yes">`) {
				t.Errorf("%s form: %s is missing or ticked by default", lang, name)
			}
		}
	}

	// A problem elsewhere on the form: the ticks come back.
	form := fullReport()
	form.Set("age", "forty")
	form.Set("share_police", "yes")
	form.Set("token", s.token("en", "report"))
	form.Set("send", "1")
	r := s.postMultipart("/en/report", form)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `name="share_police" value="yes" checked>`) ||
		strings.Contains(r.body, `name="share_legal" value="yes" checked>`) {
		t.Fatalf("the form came back %d without the survivor's ticks as they were", r.StatusCode)
	}

	// Stored: the police tick; help reporting to the police alone is none.
	form = fullReport()
	form.Set("share_police", "yes")
	form["help"] = []string{"police", "legal"}
	s.report("en", form)
	form = fullReport()
	form["help"] = []string{"police", "legal"}
	s.report("en", form)
	ids := s.newReports()
	got := map[bool]int{}
	for _, id := range ids {
		r, err := s.app.Store.Report(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.ConsentLegal {
			t.Errorf("legal aid consent stored without its tick")
		}
		got[r.ConsentPolice]++
	}
	if got[true] != 1 || got[false] != 1 {
		t.Errorf("police consent stored %v, want one report with it", got)
	}
}
