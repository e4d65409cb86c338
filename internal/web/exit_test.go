package web_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/web"
)

const exitURL = "https://neutral.example/"

// Quick exit after a receipt login ends the session on the server: the
// cookie the browser had (a copy of it, Back, or "Check my report" in the
// same browser) opens nothing any more.
func TestQuickExitEndsTheSession(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		_, receipt := s.report("en", fullReport())
		cookie := s.login("en", receipt)
		page := s.get("/en/check/report", cookie)
		if page.StatusCode != web.StatusReport || !strings.Contains(page.body, html.EscapeString(narrative)) {
			t.Fatalf("thread: %d", page.StatusCode)
		}
		// With a session, every page's Quick exit goes through /exit.
		for _, p := range []response{page, s.get("/en/help", cookie), s.get("/en/", cookie)} {
			if !strings.Contains(p.body, `<a class="exit" href="/exit"`) {
				t.Errorf("a page of a logged-in survivor does not exit through /exit")
			}
		}
		other := s.login("en", receipt) // the same report open in another browser

		r := s.get("/exit", cookie)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != exitURL {
			t.Fatalf("quick exit: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		cleared := false
		for _, c := range r.Cookies() {
			cleared = cleared || c.Name == "salama_check" && c.Value == "" && c.MaxAge < 0
		}
		if !cleared {
			t.Error("quick exit did not clear the cookie")
		}
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("quick exit headers: %v", r.Header)
		}
		if n := s.count(`SELECT count(*) FROM survivor_sessions`); n != 1 {
			t.Errorf("%d sessions after quick exit, want only the other browser's", n)
		}
		// Back: the page is asked for again with the old cookie.
		if r := s.get("/en/check/report", cookie); r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "/en/check") ||
			strings.Contains(r.body, html.EscapeString(narrative)) {
			t.Errorf("back after quick exit: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		// "Check my report" in the same browser: the login form, no report.
		if r := s.get("/en/check", cookie); r.StatusCode != 200 || !strings.Contains(r.body, `name="receipt"`) || strings.Contains(r.body, html.EscapeString(narrative)) {
			t.Errorf("check page after quick exit: %d", r.StatusCode)
		}
		// The old cookie cannot post either.
		csrf := match(t, csrfRE, page.body, "csrf")
		if r := s.postForm("/en/check/reply", url.Values{"csrf": {csrf}, "text": {"after exit"}}, cookie); r.StatusCode != http.StatusSeeOther {
			t.Errorf("reply after quick exit: %d", r.StatusCode)
		}
		// The other browser's session is its own.
		if r := s.get("/en/check/report", other); r.StatusCode != web.StatusReport {
			t.Errorf("quick exit in one browser ended another's session: %d", r.StatusCode)
		}
	})
}

// What a third-party page can do with /exit: nothing harmful. Without the
// survivor's cookie (SameSite=Strict keeps it from another site's
// requests) it ends nothing and sets no cookie; it redirects only to the
// operator's neutral site whatever it is asked; a prefetch ends nothing.
func TestQuickExitFromElsewhere(t *testing.T) {
	s := newSite(t, newSQLite(t))
	_, receipt := s.report("en", fullReport())
	cookie := s.login("en", receipt)

	for _, path := range []string{"/exit", "/exit?to=https://evil.example/", "/exit?next=//evil.example"} {
		r := s.get(path, "")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != exitURL {
			t.Errorf("GET %s: %d to %q", path, r.StatusCode, r.Header.Get("Location"))
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Errorf("GET %s without a session set a cookie: %q", path, r.Header.Get("Set-Cookie"))
		}
	}
	for _, h := range [][2]string{{"Sec-Purpose", "prefetch"}, {"Sec-Purpose", "prefetch;prerender"}, {"Purpose", "prefetch"}, {"X-Moz", "prefetch"}} {
		req, _ := http.NewRequest("GET", s.srv.URL+"/exit", nil)
		req.Header.Set(h[0], h[1])
		r := s.do(req, cookie)
		if r.StatusCode < 400 || r.Header.Get("Set-Cookie") != "" {
			t.Errorf("prefetch (%s: %s): %d, Set-Cookie %q", h[0], h[1], r.StatusCode, r.Header.Get("Set-Cookie"))
		}
	}
	if r := s.get("/en/check/report", cookie); r.StatusCode != web.StatusReport {
		t.Errorf("a request without the cookie or a prefetch ended the session: %d", r.StatusCode)
	}
	if n := s.count(`SELECT count(*) FROM survivor_sessions`); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
	// A POST is not Quick exit.
	if r := s.postForm("/exit", url.Values{}, cookie); r.StatusCode == http.StatusSeeOther {
		t.Errorf("POST /exit: %d", r.StatusCode)
	}
	// Without a session, pages link straight to the neutral site.
	if r := s.get("/en/", ""); !strings.Contains(r.body, `<a class="exit" href="`+exitURL+`"`) {
		t.Error("a page without a session does not link Quick exit to the neutral site")
	}
}

// Login CSRF: the receipt login form carries a token of its own, and a
// login sent by another site, or without a fresh token of that form, is
// refused without logging in or echoing the receipt.
func TestReceiptLoginCSRF(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		_, receipt := s.report("en", fullReport())
		refused := func(what string, form url.Values, headers map[string]string) {
			t.Helper()
			req, _ := http.NewRequest("POST", s.srv.URL+"/en/check", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			r := s.do(req, "")
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "please type your code again") {
				t.Errorf("%s: %d", what, r.StatusCode)
			}
			if len(r.Cookies()) != 0 || strings.Contains(r.body, receipt) {
				t.Errorf("%s: logged in, or shows the receipt sent", what)
			}
			if !tokenRE.MatchString(r.body) {
				t.Errorf("%s: the form comes back without a fresh token", what)
			}
		}
		good := s.loginForm("en", receipt)
		refused("no token", url.Values{"receipt": {receipt}}, nil)
		refused("a forged token", url.Values{"receipt": {receipt}, "token": {good.Get("token") + "x"}}, nil)
		refused("the report form's token", url.Values{"receipt": {receipt}, "token": {s.token("en", "report")}}, nil)
		refused("another site (Sec-Fetch-Site)", good, map[string]string{"Sec-Fetch-Site": "cross-site"})
		refused("a sibling site (Sec-Fetch-Site)", good, map[string]string{"Sec-Fetch-Site": "same-site"})
		refused("another site (Origin)", good, map[string]string{"Origin": "https://evil.example"})
		if n := s.count(`SELECT count(*) FROM survivor_sessions`); n != 0 {
			t.Fatalf("%d sessions after refused logins", n)
		}
		// The real form, as our own pages send it (Origin null under
		// Referrer-Policy no-referrer), logs in.
		req, _ := http.NewRequest("POST", s.srv.URL+"/en/check", strings.NewReader(good.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", "null")
		if r := s.do(req, ""); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the real form: %d", r.StatusCode)
		}
		// A form left open longer than its token lives.
		stale := s.loginForm("en", receipt)
		s.clock.Add(4 * time.Hour)
		refused("an expired token", stale, nil)
	})
}
