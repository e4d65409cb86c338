package retention_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/retention"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

const (
	narrative = "They posted my pictures in a Telegram group and want 3000. Siri-ya-kufuta-5521"
	idPhone   = "0733 987 654"
)

func newApp(t *testing.T, db storetest.DB, c *testkit.Clock) *app.App {
	t.Helper()
	o := app.Options{DataDir: db.DataDir, Database: db.DSN, KDFParams: seal.TestKDFParams, Demo: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	a, err := app.New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	conn := db.SQL(t)
	dbsMu.Lock()
	dbs[a] = conn
	dbsMu.Unlock()
	return a
}

// eachApp runs fn once on each engine with a fresh application and a clock
// at a fixed time.
func eachApp(t *testing.T, fn func(t *testing.T, a *app.App, c *testkit.Clock)) {
	t.Helper()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		c := testkit.NewClock(time.Unix(1_800_000_000, 0).UTC())
		fn(t, newApp(t, db, c), c)
	})
}

func submit(t *testing.T, a *app.App, stats bool) *reporting.Submission {
	t.Helper()
	in := reporting.NewInput(reporting.KindReport)
	in.About, in.What, in.AgeBand, in.County, in.WhenLast, in.Danger = "me", []string{"sextortion"}, "18-24", "nairobi", "month", "no"
	in.Help = []string{"takedown"}
	in.Narrative = narrative
	in.Identifiers = []reporting.Identifier{{Type: "phone", Platform: "telegram", Value: idPhone}}
	in.AllowMatch, in.CountStats = true, stats
	in.Token = a.Reporting.NewToken()
	sub, err := a.Reporting.Submit(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// blobs returns every sealed value and key wrap stored for a report.
func blobs(t *testing.T, a *app.App, id string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, q := range []string{`SELECT sealed FROM report_fields WHERE report_id = $1`, `SELECT wrap FROM report_wraps WHERE report_id = $1`,
		`SELECT wrap FROM receipts WHERE report_id = $1`, `SELECT blind FROM identifiers WHERE report_id = $1`,
		`SELECT sealed_key FROM survivor_sessions WHERE report_id = $1`} {
		rows, err := sqlOf(t, a).QueryContext(t.Context(), q, id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b []byte
			rows.Scan(&b)
			out = append(out, b)
		}
		rows.Close()
	}
	return out
}

// sqlOf is a plain connection to the app's database, for looking at rows.
func sqlOf(t *testing.T, a *app.App) *sql.DB {
	t.Helper()
	dbsMu.Lock()
	defer dbsMu.Unlock()
	return dbs[a]
}

var (
	dbsMu sync.Mutex
	dbs   = map[*app.App]*sql.DB{}
)

func count(t *testing.T, a *app.App, q string, args ...any) int {
	t.Helper()
	var n int
	if err := sqlOf(t, a).QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fingerprint hashes every row of every table: equal before and after
// means nothing changed.
func fingerprint(t *testing.T, s *store.Store) [32]byte {
	t.Helper()
	h := sha256.New()
	err := s.Snapshot(t.Context(), func(sn *store.Snapshot) error {
		for _, tb := range sn.Tables {
			fmt.Fprintln(h, tb.Name)
			if _, err := sn.Rows(t.Context(), tb, func(row []any) error {
				fmt.Fprintf(h, "%#v\n", row)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// contentTables hold a report's content, keys and sessions: a purge or a
// withdrawal leaves none of its rows in them.
var contentTables = []string{"report_fields", "attachments", "messages", "notes", "identifiers", "report_wraps", "receipts", "survivor_sessions"}

// checkNoContent fails t for each of contentTables that still holds rows of
// report id after what (a purge, a withdrawal).
func checkNoContent(t *testing.T, a *app.App, id, what string) {
	t.Helper()
	for _, table := range contentTables {
		if n := count(t, a, `SELECT count(*) FROM `+table+` WHERE report_id = $1`, id); n != 0 {
			t.Errorf("%s: %d rows left in %s after %s", id, n, table, what)
		}
	}
}

// checkGoneFromDisk fails t for each sealed value whose tail (its last 32
// bytes) is still in the SQLite files after what, but for the values that
// kept holds too (another report's, rightly still there). On PostgreSQL it
// checks nothing: dead tuples stay until VACUUM (docs/privacy.md), and
// without a wrap they cannot be opened.
func checkGoneFromDisk(t *testing.T, a *app.App, sealed, kept [][]byte, what string) {
	t.Helper()
	if a.Store.Engine() != store.SQLite {
		return
	}
	for _, f := range a.Store.Files() {
		b, _ := os.ReadFile(f)
		for i, blob := range sealed {
			if slices.ContainsFunc(kept, func(k []byte) bool { return bytes.Equal(k, blob) }) {
				continue
			}
			if bytes.Contains(b, blob[len(blob)-min(len(blob), 32):]) {
				t.Errorf("sealed value %d still in %s after %s", i, f, what)
			}
		}
	}
}

// session logs in with a receipt, as the check page does.
func session(t *testing.T, a *app.App, receipt seal.Receipt) *reporting.CheckSession {
	t.Helper()
	cookie, err := a.Reporting.LogIn(t.Context(), receipt)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := a.Reporting.Session(t.Context(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func ids(items []retention.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ReportID)
	}
	slices.Sort(out)
	return out
}

// TestRetention walks the policy through a year: escalation of reports
// nobody opened, then purges of closed and unopened reports, which leave no
// ciphertext, key wrap or index row, keep the counts the survivor agreed
// to, and are audited; a dry run changes nothing.
func TestRetention(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, a *app.App, c *testkit.Clock) {
		ctx := t.Context()
		if a.Retention.Policy() != retention.DefaultPolicy {
			t.Fatalf("policy %+v, want the default", a.Retention.Policy())
		}
		st := a.Store
		demoIDs := func() []string {
			var out []string
			rows, _ := sqlOf(t, a).QueryContext(ctx, `SELECT id FROM reports ORDER BY id`)
			defer rows.Close()
			for rows.Next() {
				var id string
				rows.Scan(&id)
				out = append(out, id)
			}
			return out
		}()

		closed := submit(t, a, true)    // opened, closed, then quiet: purged after a year
		unopened := submit(t, a, false) // nobody opens it: escalated, then purged; not counted
		busy := submit(t, a, true)      // closed, but the survivor wrote later: kept
		if _, err := a.Reporting.LogIn(ctx, closed.Receipt); err != nil {
			t.Fatal(err) // leaves a survivor session to destroy too
		}
		status := store.StatusClosed
		for _, r := range []*reporting.Submission{closed, busy} {
			if err := st.MarkOpened(ctx, r.Report.ID, c.Now()); err != nil {
				t.Fatal(err)
			}
			if err := st.UpdateCase(ctx, r.Report.OrgID, r.Report.ID, store.CaseUpdate{Status: &status}, c.Now()); err != nil {
				t.Fatal(err)
			}
		}
		closedBlobs, unopenedBlobs := blobs(t, a, closed.Report.ID), blobs(t, a, unopened.Report.ID)
		if len(closedBlobs) < 5 || len(unopenedBlobs) < 4 {
			t.Fatalf("%d and %d sealed values stored; the test needs more", len(closedBlobs), len(unopenedBlobs))
		}

		// Day 4: reports nobody opened are escalated, once.
		c.Add(4 * retention.Day)
		plan, err := a.Retention.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantEsc := append(slices.Clone(demoIDs), unopened.Report.ID)
		slices.Sort(wantEsc)
		if got := ids(plan.Escalate); !slices.Equal(got, wantEsc) || len(plan.Purge) != 0 {
			t.Fatalf("plan on day 4: escalate %v purge %v; want escalate %v", got, ids(plan.Purge), wantEsc)
		}
		res, err := a.Retention.Run(ctx)
		if err != nil || len(res.Escalated) != len(wantEsc) || len(res.Purged) != 0 {
			t.Fatalf("run on day 4: %+v %v", res, err)
		}
		if r, _ := st.Report(ctx, unopened.Report.ID); !r.EscalatedAt.Equal(c.Now()) {
			t.Errorf("escalated_at %v", r.EscalatedAt)
		}
		if res, _ := a.Retention.Run(ctx); len(res.Escalated)+len(res.Purged) != 0 {
			t.Errorf("second run on day 4 did %+v", res)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_log WHERE action = 'report.escalated' AND actor = 'system' AND detail = 'reason=unopened'`); n != len(wantEsc) {
			t.Errorf("%d escalation entries, want %d", n, len(wantEsc))
		}

		// Day 300: the survivor of "busy" writes; day 400: a year has passed.
		c.Add(296 * retention.Day)
		cs := session(t, a, busy.Receipt)
		if err := cs.Reply(ctx, "Are you still there?"); err != nil {
			t.Fatal(err)
		}
		cs.Close()
		c.Add(100 * retention.Day)

		before := fingerprint(t, st)
		plan, err = a.Retention.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantPurge := append(slices.Clone(wantEsc), closed.Report.ID)
		slices.Sort(wantPurge)
		if got := ids(plan.Purge); !slices.Equal(got, wantPurge) || len(plan.Escalate) != 0 {
			t.Fatalf("plan on day 400: purge %v escalate %v; want purge %v", got, ids(plan.Escalate), wantPurge)
		}
		for _, it := range plan.Purge {
			if it.ReportID == closed.Report.ID && (it.Reason != store.PurgeClosed || it.CaseRef != closed.Report.CaseRef || it.Quiet < 399*retention.Day) {
				t.Errorf("closed report's plan item: %+v", it)
			}
			if it.ReportID == unopened.Report.ID && it.Reason != store.PurgeUnopened {
				t.Errorf("unopened report's plan item: %+v", it)
			}
		}
		if fingerprint(t, st) != before {
			t.Fatal("Plan (the dry run) changed the database")
		}

		res, err = a.Retention.Run(ctx)
		if err != nil || !slices.Equal(ids(res.Purged), wantPurge) {
			t.Fatalf("run on day 400: purged %v, %v; want %v", ids(res.Purged), err, wantPurge)
		}
		for _, id := range wantPurge {
			checkNoContent(t, a, id, "the purge")
			r, err := st.Report(ctx, id)
			if err != nil || r.Status != store.StatusPurged || !r.PurgedAt.Equal(c.Now()) || !r.Destroyed() || r.Withdrawn {
				t.Errorf("%s after purge: %+v %v", id, r, err)
			}
		}
		// Counted only with consent.
		if r, _ := st.Report(ctx, closed.Report.ID); r.County != "nairobi" || r.AgeBand != "18-24" || !slices.Equal(r.Categories, []string{"sextortion"}) || r.CreatedAt.IsZero() {
			t.Errorf("the counts the survivor agreed to were lost: %+v", r)
		}
		if r, _ := st.Report(ctx, unopened.Report.ID); r.County != "" || r.AgeBand != "" || len(r.Categories) != 0 {
			t.Errorf("a report not to be counted kept its clear fields: %+v", r)
		}
		// The kept one is intact.
		if n := count(t, a, `SELECT count(*) FROM report_wraps WHERE report_id = $1`, busy.Report.ID); n != 1 {
			t.Errorf("a report with recent activity lost its key wrap")
		}
		if _, err := a.Reporting.LogIn(ctx, closed.Receipt); !errors.Is(err, reporting.ErrNoReport) {
			t.Errorf("receipt of a purged report: %v", err)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_log WHERE action = 'report.purged' AND report_id = $1 AND detail = 'reason=retention_closed'`, closed.Report.ID); n != 1 {
			t.Errorf("%d purge entries for the closed report", n)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_log WHERE action = 'report.purged' AND detail = 'reason=retention_unopened'`); n != len(wantEsc) {
			t.Errorf("%d purge entries for unopened reports, want %d", n, len(wantEsc))
		}
		if _, err := a.Audit.Verify(ctx, a.Signing.Public()); err != nil {
			t.Errorf("audit chain after the purge: %v", err)
		}
		// Nothing left on disk. The kept report names the same phone
		// number: its blind index value is rightly still there.
		checkGoneFromDisk(t, a, append(closedBlobs, unopenedBlobs...), blobs(t, a, busy.Report.ID), "the purge")
		if res, _ := a.Retention.Run(ctx); len(res.Escalated)+len(res.Purged) != 0 {
			t.Errorf("a second run did %+v", res)
		}
	})
}

// TestPurgeSkipsReopened: a report listed for purging that a caseworker
// reopens before the purge reaches it is kept (the rule is checked again in
// the purge's transaction), and no audit entry is written.
func TestPurgeSkipsReopened(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, a *app.App, c *testkit.Clock) {
		ctx := t.Context()
		sub := submit(t, a, true)
		closed, review := store.StatusClosed, store.StatusInReview
		a.Store.MarkOpened(ctx, sub.Report.ID, c.Now())
		a.Store.UpdateCase(ctx, sub.Report.OrgID, sub.Report.ID, store.CaseUpdate{Status: &closed}, c.Now())
		c.Add(400 * retention.Day)
		rules := retention.DefaultPolicy.Rules(c.Now())
		due, err := a.Store.DueForPurge(ctx, rules, store.PurgeClosed, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("due: %v %v", due, err)
		}
		if err := a.Store.UpdateCase(ctx, sub.Report.OrgID, sub.Report.ID, store.CaseUpdate{Status: &review}, c.Now()); err != nil {
			t.Fatal(err)
		}
		rec, err := a.Audit.Prepare(audit.Event{Actor: audit.ActorSystem, OrgID: sub.Report.OrgID, Action: audit.ReportPurged, ReportID: sub.Report.ID, Detail: "reason=" + store.PurgeClosed})
		if err != nil {
			t.Fatal(err)
		}
		ok, err := a.Store.PurgeReport(ctx, sub.Report.ID, rules, store.PurgeClosed, c.Now(), rec)
		if err != nil || ok {
			t.Fatalf("purging a reopened report: %v %v", ok, err)
		}
		if n := count(t, a, `SELECT count(*) FROM audit_log WHERE action = 'report.purged'`); n != 0 {
			t.Errorf("%d purge entries for a purge that did not happen", n)
		}
		if n := count(t, a, `SELECT count(*) FROM report_wraps WHERE report_id = $1`, sub.Report.ID); n != 1 {
			t.Error("the reopened report lost its key")
		}
		// A withdrawn report is not purged (it is gone already), nor is a
		// purged one withdrawn.
		if err := a.Store.Withdraw(ctx, sub.Report.ID, c.Now()); err != nil {
			t.Fatal(err)
		}
		if err := a.Store.Withdraw(ctx, sub.Report.ID, c.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("withdrawing twice: %v", err)
		}
	})
}

func TestPolicyValidate(t *testing.T) {
	d := retention.Day
	for _, tc := range []struct {
		p  retention.Policy
		ok bool
	}{
		{retention.DefaultPolicy, true},
		{retention.Policy{}, true}, // everything off
		{retention.Policy{RetainClosed: 30 * d, PurgeUnopened: 10 * d}, true},
		{retention.Policy{EscalateUnopened: 10 * d, PurgeUnopened: 10 * d}, false},
		{retention.Policy{EscalateUnopened: 10 * d, PurgeUnopened: 5 * d}, false},
		{retention.Policy{RetainClosed: time.Hour}, false},
		{retention.Policy{RetainClosed: -d}, false},
	} {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.p, err)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	r := retention.DefaultPolicy.Rules(now)
	if !r.PurgeUnopenedEscalatedBefore.Equal(now.Add(-87*d)) || !r.ClosedQuietSince.Equal(now.Add(-365*d)) {
		t.Errorf("rules %+v", r)
	}
	if r := (retention.Policy{}).Rules(now); r != (store.RetentionRules{}) {
		t.Errorf("an empty policy has rules: %+v", r)
	}
}

// TestWithdrawalLikePurge: a survivor's withdrawal (the web and USSD path,
// reporting.Service.Withdraw) destroys exactly what a purge does — sealed
// fields, identifier index rows, every key wrap, sessions — at once, and
// keeps the counts the survivor agreed to. WithdrawAudited does the same with
// its audit entry in the same transaction.
func TestWithdrawalLikePurge(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, a *app.App, c *testkit.Clock) {
		ctx := t.Context()
		for i, counted := range []bool{true, false} {
			sub := submit(t, a, counted)
			sealed := blobs(t, a, sub.Report.ID)
			if n := count(t, a, `SELECT count(*) FROM identifiers WHERE report_id = $1`, sub.Report.ID); n == 0 {
				t.Fatal("no identifier index row to destroy")
			}
			if i == 0 {
				if err := session(t, a, sub.Receipt).Withdraw(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				rec, err := a.Audit.Prepare(audit.Event{Actor: audit.ActorSurvivor, OrgID: sub.Report.OrgID, Action: audit.ReportWithdrawn, ReportID: sub.Report.ID})
				if err != nil {
					t.Fatal(err)
				}
				if err := a.Store.WithdrawAudited(ctx, sub.Report.ID, c.Now(), rec); err != nil {
					t.Fatal(err)
				}
				if err := a.Store.WithdrawAudited(ctx, sub.Report.ID, c.Now(), rec); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("withdrawing twice: %v", err)
				}
			}
			checkNoContent(t, a, sub.Report.ID, "withdrawal")
			r, _ := a.Store.Report(ctx, sub.Report.ID)
			if r.Status != store.StatusWithdrawn || !r.Withdrawn || !r.Destroyed() || (r.County == "nairobi") != counted {
				t.Errorf("after withdrawal (counted %v): %+v", counted, r)
			}
			if n := count(t, a, `SELECT count(*) FROM audit_log WHERE action = 'report.withdrawn' AND report_id = $1`, sub.Report.ID); n != 1 {
				t.Errorf("%d withdrawal entries", n)
			}
			checkGoneFromDisk(t, a, sealed, nil, "withdrawal")
		}
		if _, err := a.Audit.Verify(ctx, a.Signing.Public()); err != nil {
			t.Error(err)
		}
	})
}
