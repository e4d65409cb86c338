package app_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/demo"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/totp"
	"github.com/salama-ke/salama/internal/web"
)

// TestTwoInstancesOnePostgres runs two Salama instances on one PostgreSQL
// database, as behind a load balancer without sticky sessions, and sends a
// caseworker's and a survivor's requests to one and the other in turn. All
// state lives in the database; what the instances share besides is the data
// directory's network secret and signing key (or SALAMA_NETWORK_SECRET and
// SALAMA_SIGNING_KEY).
func TestTwoInstancesOnePostgres(t *testing.T) {
	db := storetest.NewDB(t, store.Postgres)
	dataDir := t.TempDir()
	a := newInstance(t, "A", db.DSN, dataDir)
	b := newInstance(t, "B", db.DSN, dataDir)
	if a.app.Demo == nil || b.app.Demo != nil {
		t.Fatal("instance A should have seeded the demo network and B found it")
	}
	acct := demoAccount(t, a.app.Demo, "demo-caseworker")
	cw := newUser(t)
	survivor := newUser(t)

	// The caseworker: login on A, inbox on B, reply on A, open on B.
	form := cw.get(a, "/console/login", http.StatusOK)
	cw.post(a, "/console/login", url.Values{"form_token": {match(t, formTokenRE, form)}, "username": {acct.Username},
		"password": {acct.Password}, "code": {totp.Code(acct.TOTP, time.Now())}}, http.StatusSeeOther)
	inbox := cw.get(b, "/console/", http.StatusOK)
	reportPath := match(t, reportLinkRE, inbox) // the most urgent report
	page := cw.get(a, reportPath, http.StatusOK)
	reply := "We have read your report. Are you somewhere safe now? (sent from instance A)"
	cw.post(a, reportPath+"/message", url.Values{"csrf": {match(t, csrfRE, page)}, "text": {reply}}, http.StatusSeeOther)
	page = cw.get(b, reportPath, http.StatusOK)
	if !strings.Contains(page, html.EscapeString(reply)) {
		t.Error("instance B does not show the reply sent on A")
	}
	note := "Called the shelter; a bed is free tonight. (note on B)"
	cw.post(b, reportPath+"/note", url.Values{"csrf": {match(t, csrfRE, page)}, "text": {note}}, http.StatusSeeOther)
	if page := cw.get(a, reportPath, http.StatusOK); !strings.Contains(page, html.EscapeString(note)) {
		t.Error("instance A does not show the note added on B")
	}

	// A survivor: the form from A, sent to B; the receipt login on A, the
	// thread on B, a reply on A, seen by the caseworker on B.
	form = survivor.get(a, "/en/report", http.StatusOK)
	narrative := "Someone posts my pictures in a Telegram group. (two-instance test)"
	received := survivor.post(b, "/en/report", url.Values{"token": {match(t, tokenRE, form)}, "about": {"me"},
		"what": {"sextortion"}, "county": {"kisumu"}, "danger": {"yes"}, "narrative": {narrative}, "contact": {"code"},
		"share": {"ask"}, "send": {"1"}}, http.StatusOK)
	receipt := match(t, receiptRE, received)
	survivor.logIn(a, "en", receipt)
	thread := survivor.get(b, "/en/check/report", web.StatusReport)
	if !strings.Contains(thread, html.EscapeString(narrative)) {
		t.Error("instance B's thread page does not show the narrative sent to B after the login on A")
	}
	answer := "Yes, at my aunt's. Please message me here. (from A)"
	survivor.post(a, "/en/check/reply", url.Values{"csrf": {match(t, csrfRE, thread)}, "text": {answer}}, http.StatusSeeOther)
	if thread := survivor.get(b, "/en/check/report", web.StatusReport); !strings.Contains(thread, html.EscapeString(answer)) {
		t.Error("instance B's thread does not show the reply sent on A")
	}

	// The survivor's report is in the inbox too (danger now: on the first
	// page), and the caseworker on B reads the survivor's reply from A.
	inbox = cw.get(b, "/console/", http.StatusOK)
	found := false
	for _, m := range reportLinkRE.FindAllStringSubmatch(inbox, -1) {
		if p := cw.get(b, m[1], http.StatusOK); strings.Contains(p, html.EscapeString(narrative)) {
			found = true
			if !strings.Contains(p, html.EscapeString(answer)) {
				t.Error("the caseworker on B does not see the survivor's reply sent on A")
			}
			break
		}
	}
	if !found {
		t.Error("the survivor's report sent to B is not in the caseworker's inbox on B")
	}

	// Logging out on B ends the session on A as well.
	page = cw.get(b, "/console/", http.StatusOK)
	cw.post(b, "/console/logout", url.Values{"csrf": {match(t, csrfRE, page)}}, http.StatusOK)
	cw.get(a, "/console/", http.StatusSeeOther)
	// And the survivor's logout on A ends it on B.
	thread = survivor.get(a, "/en/check/report", web.StatusReport)
	survivor.post(a, "/en/check/logout", url.Values{"csrf": {match(t, csrfRE, thread)}}, http.StatusOK)
	survivor.get(b, "/en/check/report", http.StatusSeeOther)
}

// instance is one Salama behind its own listener.
type instance struct {
	name string
	app  *app.App
	url  string
}

func newInstance(t *testing.T, name, dsn, dataDir string) *instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	a, err := app.New(ctx, app.Options{DataDir: dataDir, Database: dsn, KDFParams: seal.TestKDFParams,
		Demo: true, Web: web.DefaultConfig(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("instance %s: %v", name, err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return &instance{name: name, app: a, url: srv.URL}
}

func demoAccount(t *testing.T, d *demo.Seeded, username string) demo.Account {
	t.Helper()
	for _, a := range d.Accounts {
		if a.Username == username {
			return a
		}
	}
	t.Fatalf("no demo account %q", username)
	return demo.Account{}
}

// user is one browser: one cookie jar for both instances, which a browser
// sees as one site. The jar ignores ports, as browsers do for cookies.
type user struct {
	t *testing.T
	c *http.Client
}

func newUser(t *testing.T) *user {
	jar, _ := cookiejar.New(nil)
	return &user{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (u *user) get(in *instance, path string, want int) string {
	u.t.Helper()
	return u.do(in, http.MethodGet, path, nil, want)
}

// logIn types a receipt into in's check form and sends it there, expecting
// the redirect to the report.
func (u *user) logIn(in *instance, lang, receipt string) {
	u.t.Helper()
	form := u.get(in, "/"+lang+"/check", http.StatusOK)
	u.post(in, "/"+lang+"/check", url.Values{"receipt": {receipt}, "token": {match(u.t, tokenRE, form)}}, http.StatusSeeOther)
}

func (u *user) post(in *instance, path string, form url.Values, want int) string {
	u.t.Helper()
	return u.do(in, http.MethodPost, path, form, want)
}

func (u *user) do(in *instance, method, path string, form url.Values, want int) string {
	u.t.Helper()
	status, body := u.send(in, method, path, form)
	if status != want {
		u.t.Fatalf("%s %s on %s: status %d, want %d:\n%s", method, path, in.name, status, want, body)
	}
	return body
}

// send makes one request and returns the status and the page.
func (u *user) send(in *instance, method, path string, form url.Values) (int, string) {
	u.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(u.t.Context(), method, in.url+path, body)
	if err != nil {
		u.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s on %s: %v", method, path, in.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		u.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

var (
	formTokenRE  = regexp.MustCompile(`name="form_token" value="([^"]+)"`)
	tokenRE      = regexp.MustCompile(`name="token" value="([^"]+)"`)
	csrfRE       = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	reportLinkRE = regexp.MustCompile(`href="(/console/reports/[0-9a-f]+)"`)
	receiptRE    = regexp.MustCompile(`class="receipt"[^>]*>\s*(\d{4} \d{4} \d{4} \d{4})\s*<`)
)

func match(t *testing.T, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("%s not found in the page:\n%s", re, page)
	}
	return html.UnescapeString(m[1])
}
