package console_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/totp"
)

// site is the real application, demo network and all, over a real
// database, behind a real HTTP server.
type site struct {
	*apptest.Env
	t   *testing.T
	srv *httptest.Server
	ips atomic.Int32
}

func newSite(t *testing.T, db storetest.DB, tweak ...func(*app.Options)) *site {
	t.Helper()
	e := apptest.New(t, db, tweak...)
	srv := httptest.NewServer(e.App.Handler())
	t.Cleanup(srv.Close)
	return &site{Env: e, t: t, srv: srv}
}

// each runs a scenario on a fresh site on SQLite and on PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, s *site)) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		fn(t, newSite(t, db))
	})
}

func sqliteSite(t *testing.T) *site { return newSite(t, storetest.NewDB(t, store.SQLite)) }

// browser is one client: its own address (through X-Forwarded-For, which
// the test server trusts from loopback) and its console cookie.
type browser struct {
	s      *site
	t      *testing.T
	ip     string
	cookie string
	check  string // the survivor's receipt login, salama_check
}

func (s *site) browser(t *testing.T) *browser {
	n := s.ips.Add(1)
	return &browser{s: s, t: t, ip: fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)}
}

type response struct {
	*http.Response
	body string
}

// has reports whether the body contains text as HTML shows it.
func (r response) has(text string) bool {
	return strings.Contains(r.body, text) || strings.Contains(r.body, html.EscapeString(text))
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	req.Header.Set("X-Forwarded-For", b.ip)
	if b.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "salama_console", Value: b.cookie})
	}
	if b.check != "" {
		req.AddCookie(&http.Cookie{Name: "salama_check", Value: b.check})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		v := c.Value
		if c.MaxAge < 0 {
			v = ""
		}
		switch c.Name {
		case "salama_console":
			b.cookie = v
		case "salama_check":
			b.check = v
		}
	}
	return response{resp, string(body)}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.s.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.s.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formTokenRE = regexp.MustCompile(`name="form_token" value="([^"]+)"`)
	csrfRE      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	enrolRE     = regexp.MustCompile(`name="token" value="([^"]+)"`)
	keyRE       = regexp.MustCompile(`Key: <span class="code">([A-Z2-7 ]+)</span>`)
	codeRE      = regexp.MustCompile(`<p class="code">([A-Z0-9-]+)</p>`)
	rowRE       = regexp.MustCompile(`<a href="/console/reports/([0-9a-f]+)">([A-Z0-9]{4}-[A-Z0-9]{4})</a>`)
	nextRE      = regexp.MustCompile(`<a class="btn" href="([^"]+)">Next page</a>`)
)

func match(t *testing.T, re *regexp.Regexp, body, what string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", what, body)
	}
	return html.UnescapeString(m[1])
}

// formToken opens a public console page and returns its form token.
func (b *browser) formToken(path string) string {
	b.t.Helper()
	r := b.get(path)
	if r.StatusCode != 200 {
		b.t.Fatalf("GET %s: %d", path, r.StatusCode)
	}
	return match(b.t, formTokenRE, r.body, "form token")
}

// csrf opens a console page and returns the session's CSRF token.
func (b *browser) csrf() string {
	b.t.Helper()
	r := b.get("/console/password")
	if r.StatusCode != 200 {
		b.t.Fatalf("GET /console/password: %d", r.StatusCode)
	}
	return match(b.t, csrfRE, r.body, "csrf token")
}

// tryLogin posts the login form with a fresh form token.
func (b *browser) tryLogin(username, password, code string) response {
	b.t.Helper()
	return b.post("/console/login", url.Values{"form_token": {b.formToken("/console/login")},
		"username": {username}, "password": {password}, "code": {code}})
}

// login logs an account in, in a fresh TOTP step, from a fresh browser.
func (s *site) login(t *testing.T, username string) *browser {
	t.Helper()
	b := s.browser(t)
	s.Clock.NextStep()
	acc := s.Account(username)
	r := b.tryLogin(username, acc.Password, totp.Code(acc.TOTP, s.Clock.Now()))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/" || b.cookie == "" {
		t.Fatalf("login %s: %d to %q:\n%s", username, r.StatusCode, r.Header.Get("Location"), r.body)
	}
	return b
}

// rows lists the case references an inbox page shows, in order, and the
// report ids they link to.
func rows(body string) (refs, ids []string) {
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		ids, refs = append(ids, m[1]), append(refs, m[2])
	}
	return refs, ids
}

// refused returns the login.failed entries after seq as "actor detail".
func (s *site) refused(seq int64) []string {
	var out []string
	for _, en := range s.AuditSince(seq, string(audit.LoginFailed)) {
		out = append(out, en.Actor+" "+en.Detail)
	}
	return out
}

// expect checks a response's status and that its body says want.
func expect(t *testing.T, what string, r response, status int, want ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s: status %d, want %d\n%.2000s", what, r.StatusCode, status, r.body)
		return
	}
	for _, w := range want {
		if !r.has(w) {
			t.Errorf("%s: page lacks %q\n%.2000s", what, w, r.body)
		}
	}
}
