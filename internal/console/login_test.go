package console_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/console"
	"github.com/salama-ke/salama/internal/totp"
)

func TestLoginAndLogout(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		b := s.browser(t)
		r := b.get("/console/")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login" {
			t.Errorf("anonymous inbox: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		expect(t, "login page", b.get("/console/login"), 200, "Log in", `name="form_token"`, `autocomplete="one-time-code"`)

		s.Clock.NextStep()
		acc := s.Account("demo-caseworker")
		head := s.AuditHead()
		r = b.tryLogin("demo-caseworker", acc.Password, totp.Code(acc.TOTP, s.Clock.Now()))
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/" {
			t.Fatalf("login: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		var ck *http.Cookie
		for _, c := range r.Cookies() {
			if c.Name == "salama_console" {
				ck = c
			}
		}
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" || ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Errorf("console cookie %+v", ck)
		}
		if es := s.AuditSince(head, string(audit.LoginOK)); len(es) != 1 {
			t.Errorf("login.ok entries: %d", len(es))
		}
		// The cookie is the session id and the session key: nothing of
		// it is stored as is.
		raw, _ := base64.RawURLEncoding.DecodeString(b.cookie)
		if len(raw) != 48 {
			t.Errorf("cookie of %d bytes", len(raw))
		}

		r = b.get("/console/")
		expect(t, "inbox", r, 200, "Inbox", "demo-caseworker", s.IntakeOrg().Org.Name, "Log out")
		if strings.Contains(r.body, s.ChildOrg().Org.Name) {
			t.Error("the inbox names the other organisation")
		}

		// Logout destroys the session: the same cookie opens nothing, and
		// the login page says why.
		csrf := match(t, csrfRE, r.body, "csrf")
		old := b.cookie
		head = s.AuditHead()
		r = b.post("/console/logout", url.Values{"csrf": {csrf}})
		expect(t, "logout", r, 200, "You are logged out")
		if b.cookie != "" {
			t.Error("logout did not clear the cookie")
		}
		if es := s.AuditSince(head, string(audit.Logout)); len(es) != 1 {
			t.Errorf("logout entries: %d", len(es))
		}
		b.cookie = old
		r = b.get("/console/")
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?ended=1" {
			t.Errorf("old cookie after logout: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		expect(t, "login page after the session ended", b.get("/console/login?ended=1"), 200, "Your session has ended")
	})
}

func TestLoginFailures(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		acc := s.Account("demo-caseworker")
		user := audit.UserActor(s.User("demo-caseworker").ID)
		s.Clock.NextStep()
		code := totp.Code(acc.TOTP, s.Clock.Now())
		const bad = "Wrong username, password or code."

		for _, tc := range []struct{ name, user, password, code, audit string }{
			{"wrong password", "demo-caseworker", acc.Password + "!", code, user + " reason=wrong_password"},
			{"wrong code", "demo-caseworker", acc.Password, wrong(code), user + " reason=wrong_code"},
			{"unknown user", "no-such-user", acc.Password, code, audit.ActorUnknown + " reason=unknown_user"},
		} {
			b := s.browser(t)
			head := s.AuditHead()
			r := b.tryLogin(tc.user, tc.password, tc.code)
			expect(t, tc.name, r, http.StatusUnauthorized, bad, `value="`+tc.user+`"`)
			if strings.Contains(r.body, tc.password) || b.cookie != "" {
				t.Errorf("%s: the password came back, or a cookie was set", tc.name)
			}
			if got := s.refused(head); len(got) != 1 || got[0] != tc.audit {
				t.Errorf("%s: audit %q, want %q", tc.name, got, tc.audit)
			}
		}

		// A code works once: the same step after a good login is refused.
		b := s.browser(t)
		if r := b.tryLogin("demo-caseworker", acc.Password, code); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d\n%s", r.StatusCode, r.body)
		}
		thief := s.browser(t)
		head := s.AuditHead()
		expect(t, "replayed code", thief.tryLogin("demo-caseworker", acc.Password, code), http.StatusUnauthorized, bad)
		if got := s.refused(head); len(got) != 1 || got[0] != user+" reason=replayed_code" {
			t.Errorf("replay audit %q", got)
		}

		// The login form needs its form token: missing, forged or stale.
		form := url.Values{"username": {"demo-caseworker"}, "password": {acc.Password}, "code": {code}}
		fresh := thief.formToken("/console/login")
		for _, tc := range []struct{ name, token string }{
			{"missing", ""},
			{"forged", fresh[:len(fresh)-2] + flip(fresh[len(fresh)-2:])},
			{"garbage", "not-a-token"},
		} {
			head := s.AuditHead()
			form.Set("form_token", tc.token)
			expect(t, tc.name+" form token", s.browser(t).post("/console/login", form), http.StatusForbidden, "This form expired")
			if got := s.refused(head); len(got) != 1 || got[0] != audit.ActorUnknown+" reason=form_token" {
				t.Errorf("%s form token audit %q", tc.name, got)
			}
		}
		s.Clock.Add(2*time.Hour + time.Second)
		form.Set("form_token", fresh)
		expect(t, "stale form token", s.browser(t).post("/console/login", form), http.StatusForbidden, "This form expired")

		// Too many attempts from one address: slowed down before any
		// password is checked.
		noisy := s.browser(t)
		var last response
		for range 11 {
			last = noisy.tryLogin("no-such-user", "guess", "000000")
		}
		expect(t, "11th attempt from one address", last, http.StatusTooManyRequests, "Too many attempts")
	})
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func wrong(code string) string {
	if code == "111111" {
		return "222222"
	}
	return "111111"
}

func TestSessionEnds(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		ended := func(what string, b *browser) {
			t.Helper()
			r := b.get("/console/")
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?ended=1" {
				t.Errorf("%s: %d to %q", what, r.StatusCode, r.Header.Get("Location"))
			}
			if b.cookie != "" {
				t.Errorf("%s: the cookie was not cleared", what)
			}
		}
		// Idle.
		b := s.login(t, "demo-caseworker")
		s.Clock.Add(25 * time.Minute)
		expect(t, "after 25 idle minutes", b.get("/console/"), 200, "Inbox")
		s.Clock.Add(30*time.Minute + time.Second)
		ended("after 30 idle minutes", b)

		// In use, but older than 12 hours.
		b = s.login(t, "demo-caseworker")
		for range 12 * 2 {
			s.Clock.Add(29 * time.Minute)
			if r := b.get("/console/"); r.StatusCode != 200 {
				t.Fatalf("session in use: %d", r.StatusCode)
			}
		}
		s.Clock.Add(25 * time.Minute)
		ended("after 12 hours", b)

		// A tampered key: refused, nothing opened, and a trace.
		b = s.login(t, "demo-caseworker")
		ids := s.DemoReports()
		good := b.cookie
		b.cookie = apptest.FlipKeyByte(t, good)
		head := s.AuditHead()
		for _, id := range ids {
			r := b.get("/console/reports/" + id)
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/login?ended=1" {
				t.Errorf("tampered cookie: %d to %q", r.StatusCode, r.Header.Get("Location"))
			}
			b.cookie = apptest.FlipKeyByte(t, good)
		}
		if es := s.AuditSince(head, string(audit.ReportRead)); len(es) != 0 {
			t.Errorf("a tampered cookie opened %d reports", len(es))
		}
		if got := s.refused(head); len(got) != len(ids) || !strings.HasSuffix(got[0], "reason=bad_cookie") {
			t.Errorf("tampered cookie audit %q", got)
		}
		// Garbage in the cookie is no session either.
		for _, v := range []string{"x", good[:20], good + "AAAA"} {
			b.cookie = v
			ended("cookie "+v, b)
		}
		b.cookie = good
		expect(t, "the real cookie still works", b.get("/console/"), 200, "Inbox")
	})
}

// Every POST route refuses a forged CSRF token with 403 and a trace, and
// changes nothing.
func TestForgedCSRF(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		// The coordinator may reach every route, so the token is what
		// each request is refused for.
		admin := s.login(t, "demo-coordinator")
		other := s.login(t, "demo-coordinator") // the same user's other session
		foreign := other.csrf()
		ids := s.DemoReports()
		id := ""
		for _, x := range ids {
			if r, _ := s.App.Store.Report(s.Ctx(), x); r.OrgID == s.IntakeOrg().Org.ID {
				id = x
				break
			}
		}
		member := s.User("demo-caseworker").ID
		before, _ := s.App.Store.Report(s.Ctx(), id)
		var posts int
		for _, rt := range s.App.Console.Routes() {
			if rt.Method != "POST" {
				continue
			}
			path := strings.NewReplacer("{id}", id, "{$}", "").Replace(rt.Pattern)
			if strings.HasPrefix(rt.Pattern, "/console/members/{id}") {
				path = strings.Replace(rt.Pattern, "{id}", member, 1)
			}
			form := url.Values{"status": {"closed"}, "reason": {"resolved"}, "user": {member}, "gbv_type": {"rape"},
				"text": {"forged-7781"}, "username": {"forged.member"}, "role": {"caseworker"},
				"old": {"x"}, "new": {"forged password 123"}, "new2": {"forged password 123"}}
			if rt.Role == "" {
				posts++
				head := s.AuditHead()
				expect(t, rt.Pattern+" without form token", s.browser(t).post(path, form), http.StatusForbidden, "This form expired")
				if got := s.refused(head); len(got) != 1 || got[0] != audit.ActorUnknown+" reason=form_token" {
					t.Errorf("%s: audit %q", rt.Pattern, got)
				}
				continue
			}
			for _, tok := range []string{"", "forged", foreign} {
				posts++
				if tok != "" {
					form.Set("csrf", tok)
				} else {
					form.Del("csrf")
				}
				head := s.AuditHead()
				expect(t, rt.Pattern+" with csrf "+tok, admin.post(path, form), http.StatusForbidden, "This form could not be checked")
				want := audit.UserActor(s.User("demo-coordinator").ID) + " reason=csrf"
				if got := s.refused(head); len(got) != 1 || got[0] != want {
					t.Errorf("%s: audit %q, want %q", rt.Pattern, got, want)
				}
				if es := s.AuditSince(head); len(es) != 1 {
					t.Errorf("%s: %d entries, only the refusal expected", rt.Pattern, len(es))
				}
			}
		}
		if posts < 12 {
			t.Errorf("only %d POST requests tried", posts)
		}
		after, _ := s.App.Store.Report(s.Ctx(), id)
		if after.Status != before.Status || after.AssignedTo != "" || after.GBVType != "" {
			t.Errorf("a forged form changed the report: %+v", after)
		}
		if ns, _ := s.App.Store.Notes(s.Ctx(), id); len(ns) != 0 {
			t.Error("a forged form added a note")
		}
		if ms, _ := s.App.Store.Messages(s.Ctx(), id); len(ms) != 0 {
			t.Error("a forged form sent a message")
		}
		if u := s.User("demo-caseworker"); u.Disabled {
			t.Error("a forged form disabled a member")
		}
		if _, err := s.App.Store.UserByUsername(s.Ctx(), "forged.member"); err == nil {
			t.Error("a forged form added a member")
		}
		// Still logged in, with the old password.
		expect(t, "after the forged posts", admin.get("/console/"), 200, "Inbox")
		s.login(t, "demo-coordinator")
	})
}

// Every console response carries the security headers, and the console's
// inline stylesheet is the one the policy allows by hash.
func TestSecurityHeaders(t *testing.T) {
	s := sqliteSite(t)
	b := s.login(t, "demo-admin")
	sum := sha256.Sum256([]byte(console.CSS))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	styleRE := regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	handlerRE := regexp.MustCompile(`<[^>]+\son[a-z]+=`)
	id := s.DemoReports()[0]
	for _, path := range []string{"/console/login", "/console/enrol", "/console/", "/console/reports/" + id, "/console/members",
		"/console/password", "/console/reports/nonexistent", "/console/?status=closed&category=sextortion&county=nairobi"} {
		for _, who := range []*browser{s.browser(t), b} {
			r := who.get(path)
			h := r.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", hash} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %q", path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
				t.Errorf("%s: CSP %q", path, csp)
			}
			for k, v := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
				"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
				if h.Get(k) != v {
					t.Errorf("%s: %s %q, want %q", path, k, h.Get(k), v)
				}
			}
			if r.StatusCode != 200 && r.StatusCode != 303 && r.StatusCode != 404 {
				t.Errorf("%s: status %d", path, r.StatusCode)
			}
			if m := styleRE.FindStringSubmatch(r.body); m != nil {
				got := sha256.Sum256([]byte(m[1]))
				if m[1] != console.CSS || !strings.Contains(csp, base64.StdEncoding.EncodeToString(got[:])) {
					t.Errorf("%s: the inline stylesheet is not the one allowed by hash", path)
				}
			}
			if strings.Contains(r.body, "<script") || strings.Contains(r.body, " style=") || handlerRE.MatchString(r.body) {
				t.Errorf("%s: inline script, style attribute or event handler", path)
			}
		}
	}
}
