// Package apptest is the running-application harness every package's tests
// share (web, console, staff, casework, USSD, notify, cli, app): the real
// application with its demo network over a fresh database on either
// engine, a clock the test moves, the demo accounts, and logins with a
// current TOTP code. It is built on testkit (clock, logs, SMS) and
// storetest (databases).
//
// It is imported only by tests. It reaches the application through its
// public services, never around them, so what it sets up is what a
// deployment would have.
package apptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/token"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/demo"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
	"github.com/salama-ke/salama/internal/totp"
	"github.com/salama-ke/salama/internal/web"
)

// Env is the real application with the demo network, over a real database.
type Env struct {
	T     testing.TB
	DB    storetest.DB
	App   *app.App
	Clock *testkit.Clock
	Logs  *testkit.LogBuffer
	// DataDir holds the network secret and the signing key (and, on
	// SQLite, the database).
	DataDir string

	mu       sync.Mutex
	accounts map[string]demo.Account // demo accounts and those the test added
}

// Each runs fn on a fresh demo network (New) on SQLite and on PostgreSQL.
func Each(t *testing.T, fn func(t *testing.T, e *Env)) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		fn(t, New(t, db))
	})
}

// New starts the application on db with the demo network, test KDF
// parameters and a clock the test moves. tweak may change the options.
func New(t testing.TB, db storetest.DB, tweak ...func(*app.Options)) *Env {
	t.Helper()
	e := Open(t, db, tweak...)
	if e.App.Demo == nil {
		t.Fatal("the demo network was not seeded")
	}
	return e
}

// Open is New on a database that may already hold the demo network (a
// second instance, or a restart): the demo accounts are known only when
// this start seeded them.
func Open(t testing.TB, db storetest.DB, tweak ...func(*app.Options)) *Env {
	t.Helper()
	logs := &testkit.LogBuffer{}
	// A whole second, well inside a TOTP step: tests reason in steps.
	c := testkit.NewClock(time.Unix(time.Now().Unix(), 0))
	c.NextStep()
	wc := web.DefaultConfig()
	wc.ExitURL = "https://neutral.example/"
	// Tests pretend to be many clients through X-Forwarded-For, so the
	// per-address login limit does not get in the way of unrelated logins.
	wc.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	o := app.Options{DataDir: db.DataDir, Database: db.DSN, KDFParams: seal.TestKDFParams, Demo: true, Web: wc,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Now: c.Now}
	if o.DataDir == "" {
		o.DataDir = t.TempDir() // PostgreSQL: the network secret and signing key files
	}
	for _, f := range tweak {
		f(&o)
	}
	a, err := app.New(context.Background(), o)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	e := &Env{T: t, DB: db, App: a, Clock: c, Logs: logs, DataDir: o.DataDir, accounts: map[string]demo.Account{}}
	if a.Demo != nil {
		for _, acc := range a.Demo.Accounts {
			e.accounts[acc.Username] = acc
		}
	}
	return e
}

// Ctx is the context tests call services with.
func (e *Env) Ctx() context.Context { return context.Background() }

// Account returns a demo account, or one the test added, by username.
func (e *Env) Account(username string) demo.Account {
	e.T.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.accounts[username]
	if !ok {
		e.T.Fatalf("no account %q", username)
	}
	return a
}

// SetAccount records an account's credentials (after enrolment or a
// password change), for later logins.
func (e *Env) SetAccount(a demo.Account) {
	e.mu.Lock()
	e.accounts[a.Username] = a
	e.mu.Unlock()
}

// User returns a user's stored row.
func (e *Env) User(username string) *store.User {
	e.T.Helper()
	u, err := e.App.Store.UserByUsername(e.Ctx(), username)
	if err != nil {
		e.T.Fatalf("user %s: %v", username, err)
	}
	return u
}

// IntakeOrg is the demo network's intake organisation.
func (e *Env) IntakeOrg() orgs.Created {
	return e.org(func(o *store.Organisation) bool { return o.Intake })
}

// ChildOrg is the demo network's child-protection organisation.
func (e *Env) ChildOrg() orgs.Created {
	return e.org(func(o *store.Organisation) bool { return o.ChildProtection })
}

func (e *Env) org(pick func(*store.Organisation) bool) orgs.Created {
	e.T.Helper()
	for _, o := range e.App.Demo.Orgs {
		if pick(o.Org) {
			return o
		}
	}
	e.T.Fatal("no such demo organisation")
	return orgs.Created{}
}

// AddEnrolledUser adds a member to org with a password and a TOTP secret
// already set, unwrapping the organisation key with its recovery code, the
// way an operator at the command line would.
func (e *Env) AddEnrolledUser(org orgs.Created, username string, role staff.Role) demo.Account {
	e.T.Helper()
	key, err := orgs.Recover(e.Ctx(), e.App.Store, e.App.KDF, org.Org.ID, org.RecoveryCode)
	if err != nil {
		e.T.Fatalf("recover %s: %v", org.Org.ID, err)
	}
	secret, err := totp.NewSecret()
	if err != nil {
		e.T.Fatal(err)
	}
	acc := demo.Account{Org: org.Org.Name, Username: username, Password: "pass-" + username + "-long-enough", Role: role, TOTP: secret}
	if err := e.App.Staff.CreateEnrolledUser(e.Ctx(), org.Org.ID, key, staff.NewUser{Username: username, DisplayName: username, Role: role}, acc.Password, secret); err != nil {
		e.T.Fatalf("add %s: %v", username, err)
	}
	e.SetAccount(acc)
	return acc
}

// Code is the account's TOTP code at the clock's time.
func (e *Env) Code(username string) string {
	e.T.Helper()
	return totp.Code(e.Account(username).TOTP, e.Clock.Now())
}

// Login logs a user in through the service, in a fresh TOTP step, and
// returns the cookie value.
func (e *Env) Login(username string) string {
	e.T.Helper()
	e.Clock.NextStep()
	a := e.Account(username)
	cookie, err := e.App.Staff.Login(e.Ctx(), username, a.Password, totp.Code(a.TOTP, e.Clock.Now()))
	if err != nil {
		e.T.Fatalf("login %s: %v", username, err)
	}
	return cookie
}

// Principal logs a user in and resumes the session, as a request would.
func (e *Env) Principal(username string) *staff.Principal {
	e.T.Helper()
	p, err := e.App.Staff.Session(e.Ctx(), e.Login(username))
	if err != nil {
		e.T.Fatalf("session of %s: %v", username, err)
	}
	return p
}

// Report is a minimal valid report input; change what the test needs.
func Report(f func(in *reporting.Input)) reporting.Input {
	in := reporting.NewInput(reporting.KindReport)
	in.About, in.What, in.AgeBand, in.County, in.WhenLast, in.Danger = "me", []string{"sextortion"}, "25plus", "nakuru", "month", "no"
	if f != nil {
		f(&in)
	}
	return in
}

// Submit files a report through the reporting service, as the public form
// does, at the clock's time.
func (e *Env) Submit(in reporting.Input) *reporting.Submission {
	e.T.Helper()
	in.Token = e.App.Reporting.NewToken()
	sub, err := e.App.Reporting.Submit(e.Ctx(), in)
	if err != nil {
		e.T.Fatalf("submit: %v", err)
	}
	return sub
}

// ReportOfReceipt returns the id of the report a receipt opens.
func (e *Env) ReportOfReceipt(receipt string) string {
	e.T.Helper()
	r, err := seal.ParseReceipt(receipt)
	if err != nil {
		e.T.Fatal(err)
	}
	cookie, err := e.App.Reporting.LogIn(e.Ctx(), r)
	if err != nil {
		e.T.Fatalf("receipt login: %v", err)
	}
	s, err := e.App.Reporting.Session(e.Ctx(), cookie)
	if err != nil {
		e.T.Fatal(err)
	}
	defer s.Close()
	if err := s.LogOut(e.Ctx()); err != nil {
		e.T.Fatal(err)
	}
	return s.ReportID
}

// DemoReports maps the demo's example reports (in the demo's order) to
// their ids.
func (e *Env) DemoReports() []string {
	e.T.Helper()
	var ids []string
	for _, r := range e.App.Demo.Receipts {
		ids = append(ids, e.ReportOfReceipt(r))
	}
	return ids
}

// Audit returns the whole audit log, oldest first.
func (e *Env) Audit() []store.AuditEntry {
	e.T.Helper()
	var out []store.AuditEntry
	var after int64
	for {
		es, err := e.App.Store.AuditEntries(e.Ctx(), after, 500)
		if err != nil {
			e.T.Fatal(err)
		}
		if len(es) == 0 {
			return out
		}
		out = append(out, es...)
		after = es[len(es)-1].Seq
	}
}

// AuditSince returns the entries after seq whose action is one of actions
// (all if none).
func (e *Env) AuditSince(seq int64, actions ...string) []store.AuditEntry {
	e.T.Helper()
	var out []store.AuditEntry
	for _, en := range e.Audit() {
		if en.Seq <= seq {
			continue
		}
		if len(actions) == 0 {
			out = append(out, en)
			continue
		}
		for _, a := range actions {
			if en.Action == a {
				out = append(out, en)
				break
			}
		}
	}
	return out
}

// AuditHead is the seq of the newest entry (0 for none).
func (e *Env) AuditHead() int64 {
	e.T.Helper()
	es := e.Audit()
	if len(es) == 0 {
		return 0
	}
	return es[len(es)-1].Seq
}

// FlipKeyByte returns a session cookie value (token.Session) with one
// byte of its session key changed.
func FlipKeyByte(t testing.TB, cookie string) string {
	t.Helper()
	sess, err := token.ParseSession(cookie)
	if err != nil {
		t.Fatalf("not a session cookie: %v", err)
	}
	k := sess.Key.Bytes()
	defer clear(k)
	k[5] ^= 0x01
	flipped, err := seal.KeyFromBytes(k)
	if err != nil {
		t.Fatal(err)
	}
	return (&token.Session{ID: sess.ID, Key: flipped}).Cookie()
}

// PutReport stores a report straight into org's inbox, sealed and wrapped to
// the organisation as a submission is, but without a receipt: for what
// routing never produces (a child's report at the intake organisation), so
// that the inbox order can be tested across every urgency. The urgency is
// the reporting package's; the creation time the clock's unless r has one.
func (e *Env) PutReport(org *store.Organisation, r store.Report, narrative string) *store.Report {
	e.T.Helper()
	r.ID, r.CaseRef, r.OrgID = randomHex(16), caseRef(), org.ID
	r.Kind, r.Channel, r.Status = store.KindReport, store.ChannelWeb, store.StatusNew
	if r.CreatedAt.IsZero() {
		r.CreatedAt = e.Clock.Now().UTC()
	}
	r.UpdatedAt = r.CreatedAt
	r.Urgency = reporting.Urgency(r)
	dk, err := seal.NewDataKey()
	if err != nil {
		e.T.Fatal(err)
	}
	defer dk.Destroy()
	recipient, err := seal.ParseOrgRecipient(org.PublicKey)
	if err != nil {
		e.T.Fatal(err)
	}
	nr := &store.NewReport{Report: r, Fields: map[string]seal.Sealed{}, OrgRecipient: "org:" + org.ID, OrgPublicKey: org.PublicKey}
	if nr.OrgWrap, err = recipient.WrapDataKey(dk); err != nil {
		e.T.Fatal(err)
	}
	if nr.Fields[report.FieldNarrative], err = dk.Seal(r.ID, report.FieldNarrative, []byte(narrative)); err != nil {
		e.T.Fatal(err)
	}
	if err := e.App.Store.CreateReport(e.Ctx(), nr); err != nil {
		e.T.Fatalf("put report: %v", err)
	}
	return &nr.Report
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// caseRef draws a reference in the shape of the real ones (K7Q4-92XM).
func caseRef() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// DBContains reports whether the live database holds needle anywhere, as
// text or as hex (see storetest.DB.Holds).
func (e *Env) DBContains(needle string) bool {
	e.T.Helper()
	return e.DB.Holds(e.T, []byte(needle))
}
