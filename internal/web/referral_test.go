package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/casework/caseworktest"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// The survivor sees a referral request on the check page, in their
// language, and answers it; then stops it.
func TestSurvivorAnswersReferral(t *testing.T) {
	e := caseworktest.New(t, storetest.NewDB(t, store.SQLite))
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
	for _, want := range []string{"Rufaa", "Inasubiri jibu lako", "Example Women&#39;s Safe House (demo)", "Ndiyo, ipeleke",
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
