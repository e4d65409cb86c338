package web_test

import (
	"bytes"
	"database/sql"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

// The client every scenario pretends to be. None of this may be stored.
const (
	clientIP = "197.248.33.71"
	clientUA = "Mozilla/5.0 (Linux; Android 8.1; itel A16) SalamaProbeUA-7731"
)

// site is the real application over a real database behind a real HTTP
// server.
type site struct {
	t     *testing.T
	db    storetest.DB
	app   *app.App
	srv   *httptest.Server
	logs  *testkit.LogBuffer
	clock *testkit.Clock
	// demo holds the ids of the demo network's example reports, which
	// every site starts with; scenarios look only at their own reports.
	demo map[string]bool
}

// newSite is the real application with the demo network on db
// (apptest's harness), served over HTTP as a survivor's browser sees it.
func newSite(t *testing.T, db storetest.DB, tweak ...func(*app.Options)) *site {
	t.Helper()
	e := apptest.Open(t, db, tweak...)
	srv := httptest.NewServer(e.App.Handler())
	t.Cleanup(srv.Close)
	st := &site{t: t, db: db, app: e.App, srv: srv, logs: e.Logs, clock: e.Clock, demo: map[string]bool{}}
	for _, id := range st.reportIDs() {
		st.demo[id] = true
	}
	return st
}

func (s *site) reportIDs() []string {
	s.t.Helper()
	db := s.open()
	defer db.Close()
	rows, err := db.Query(`SELECT id FROM reports ORDER BY created_at, id`)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}

// newReports are the reports the scenario stored.
func (s *site) newReports() []string {
	s.t.Helper()
	var out []string
	for _, id := range s.reportIDs() {
		if !s.demo[id] {
			out = append(out, id)
		}
	}
	return out
}

// onlyReport is the one report the scenario stored.
func (s *site) onlyReport() string {
	s.t.Helper()
	ids := s.newReports()
	if len(ids) != 1 {
		s.t.Fatalf("%d reports stored, want 1", len(ids))
	}
	return ids[0]
}

// each runs a scenario on a fresh site on SQLite and on PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, s *site)) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		fn(t, newSite(t, db))
	})
}

type response struct {
	*http.Response
	body string
}

func (s *site) do(req *http.Request, cookie string) response {
	s.t.Helper()
	req.Header.Set("User-Agent", clientUA)
	req.Header.Set("X-Forwarded-For", clientIP)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "salama_check", Value: cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (s *site) get(path, cookie string) response {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
	return s.do(req, cookie)
}

func (s *site) postForm(path string, form url.Values, cookie string) response {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(req, cookie)
}

type file struct {
	name string
	data []byte
}

func (s *site) postMultipart(path string, form url.Values, files ...file) response {
	s.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range form {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile("files", f.name)
		fw.Write(f.data)
	}
	w.Close()
	req, _ := http.NewRequest("POST", s.srv.URL+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return s.do(req, "")
}

var (
	tokenRE   = regexp.MustCompile(`name="token" value="([^"]+)"`)
	receiptRE = regexp.MustCompile(`class="receipt"[^>]*>(\d{4} \d{4} \d{4} \d{4})<`)
	csrfRE    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

func match(t *testing.T, re *regexp.Regexp, body, what string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", what, body)
	}
	return m[1]
}

// token opens a form and returns its token.
func (s *site) token(lang, kind string) string {
	s.t.Helper()
	r := s.get("/"+lang+"/"+kind, "")
	if r.StatusCode != 200 {
		s.t.Fatalf("GET %s form: %d", kind, r.StatusCode)
	}
	return match(s.t, tokenRE, r.body, "form token")
}

// sendForm is fullReport as the report form in lang posts it when Send is
// pressed, with a fresh token.
func (s *site) sendForm(lang string) url.Values {
	s.t.Helper()
	form := fullReport()
	form.Set("token", s.token(lang, "report"))
	form.Set("send", "1")
	return form
}

// report submits a report and returns the confirmation page and receipt.
func (s *site) report(lang string, form url.Values, files ...file) (response, string) {
	s.t.Helper()
	if form.Get("token") == "" {
		form.Set("token", s.token(lang, "report"))
	}
	form.Set("send", "1")
	r := s.postMultipart("/"+lang+"/report", form, files...)
	if r.StatusCode != 200 {
		s.t.Fatalf("report: status %d:\n%s", r.StatusCode, r.body)
	}
	return r, match(s.t, receiptRE, r.body, "receipt")
}

// loginForm is the receipt login form as the check page sends it: the
// receipt typed, and the form's token.
func (s *site) loginForm(lang, receipt string) url.Values {
	s.t.Helper()
	r := s.get("/"+lang+"/check", "")
	if r.StatusCode != 200 {
		s.t.Fatalf("GET /%s/check: %d", lang, r.StatusCode)
	}
	return url.Values{"receipt": {receipt}, "token": {match(s.t, tokenRE, r.body, "login token")}}
}

// login opens the report with its receipt and returns the session cookie.
func (s *site) login(lang, receipt string) string {
	s.t.Helper()
	r := s.postForm("/"+lang+"/check", s.loginForm(lang, receipt), "")
	if r.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("receipt login: status %d:\n%s", r.StatusCode, r.body)
	}
	for _, c := range r.Cookies() {
		if c.Name == "salama_check" && c.Value != "" {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				s.t.Errorf("session cookie attributes: %+v", c)
			}
			return c.Value
		}
	}
	s.t.Fatal("receipt login set no cookie")
	return ""
}

// contains reports whether the database holds needle, as text or as hex,
// anywhere: on SQLite in the database, WAL and shared-memory files; on
// PostgreSQL in every row of every table.
func (s *site) contains(needle []byte) bool {
	s.t.Helper()
	return s.db.Holds(s.t, needle)
}

func (s *site) count(query string, args ...any) int {
	s.t.Helper()
	db := s.open()
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func newSQLite(t *testing.T) storetest.DB { return storetest.NewDB(t, store.SQLite) }

func (s *site) open() *sql.DB {
	s.t.Helper()
	var db *sql.DB
	var err error
	if s.db.Engine == store.SQLite {
		db, err = sql.Open("sqlite", "file:"+s.app.Store.Files()[0]+"?mode=ro&_pragma=busy_timeout(5000)")
	} else {
		db, err = sql.Open("pgx", s.db.DSN)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return db
}
