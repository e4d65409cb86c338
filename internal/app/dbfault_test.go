package app_test

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/web"
)

// A database fault while a survivor sends a report (SPEC §3.9): they get the
// form back with every word and a plain message, nothing half-written is
// stored, and once the database is back the same instance, never restarted,
// takes the same form.
//
// Each fault is broken after the form was opened and before it is sent:
//   - SQLite locked: another process (a backup, a CLI command) holds the
//     write lock longer than the busy timeout;
//   - PostgreSQL stopped: it refuses connections and drops the app's;
//   - PostgreSQL read-only: the database turns read-only and drops the
//     app's connections, as in a failover to a standby;
//   - on both, a write fails half-way through the report's transaction
//     (a trigger on receipts, the last table the report touches but one:
//     "disk full" after the report, its sealed fields and key wrap).
func TestDatabaseFaultsDuringSubmission(t *testing.T) {
	type fault struct {
		name           string
		lang           locale.Lang
		break_, repair func(f *faultDB, t *testing.T)
	}
	faults := map[string][]fault{
		store.SQLite: {
			{"locked past the busy timeout", locale.English, (*faultDB).lockSQLite, (*faultDB).unlockSQLite},
			{"a write fails mid-transaction", locale.Kiswahili, (*faultDB).addFailingTrigger, (*faultDB).dropFailingTrigger},
		},
		store.Postgres: {
			{"stopped", locale.English, (*faultDB).stopPostgres, (*faultDB).startPostgres},
			{"read-only", locale.Kiswahili, (*faultDB).readOnlyPostgres, (*faultDB).readWritePostgres},
			{"a write fails mid-transaction", locale.English, (*faultDB).addFailingTrigger, (*faultDB).dropFailingTrigger},
		},
	}
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		dataDir := db.DataDir
		if dataDir == "" {
			dataDir = t.TempDir()
		}
		in := newInstance(t, "A", db.DSN, dataDir)
		f := openFaultDB(t, db, dataDir)
		for i, fl := range faults[db.Engine] {
			t.Run(strings.ReplaceAll(fl.name, " ", "_"), func(t *testing.T) {
				l := string(fl.lang)
				p := in.app.Catalog.Printer(fl.lang)
				u := newUser(t)
				form := u.get(in, "/"+l+"/report", http.StatusOK)
				narrative := "Alinitumia picha na kutishia kuzisambaza. I typed all of this once & don't want to type it again. #" + fl.name
				phone := "0712 345 6" + string(rune('0'+i))
				values := url.Values{"token": {match(t, tokenRE, form)}, "about": {"me"}, "what": {"sextortion"},
					"county": {"nakuru"}, "narrative": {narrative}, "contact": {"phone"}, "phone": {phone},
					"safe_times": {"evenings"}, "share": {"ask"}, "send": {"1"}}
				before := f.reports(t)

				fl.break_(f, t)
				repaired := false
				t.Cleanup(func() {
					if !repaired {
						fl.repair(f, t)
					}
				})
				page := u.post(in, "/"+l+"/report", values, http.StatusServiceUnavailable)
				if !strings.Contains(page, html.EscapeString(p.T("problem.not_saved"))) {
					t.Errorf("the page does not say the report was not saved (%q)", p.T("problem.not_saved"))
				}
				for _, words := range []string{narrative, phone, "evenings"} {
					if !strings.Contains(page, html.EscapeString(words)) {
						t.Errorf("the form came back without %q", words)
					}
				}
				if strings.Contains(page, `class="receipt"`) {
					t.Error("the page shows a receipt for a report that was not saved")
				}

				fl.repair(f, t)
				repaired = true
				if n := f.reports(t); n != before {
					t.Errorf("%d reports before the fault, %d after it: something was stored", before, n)
				}
				if n := f.halfReports(t); n != 0 {
					t.Errorf("%d reports lack their key wrap, receipt or narrative", n)
				}

				// The same instance, the same form, sent again. On
				// PostgreSQL a pooled connection that the fault ended and
				// that was used again within a second (pgx checks only
				// connections idle longer) fails once more: that request
				// too gets the form back, and the next one goes through.
				var receipt string
				for attempt := 1; receipt == ""; attempt++ {
					status, page := u.send(in, http.MethodPost, "/"+l+"/report", values)
					switch {
					case status == http.StatusOK:
						receipt = match(t, receiptRE, page)
					case status == http.StatusServiceUnavailable && attempt < 3 && strings.Contains(page, html.EscapeString(narrative)):
						t.Logf("attempt %d after the repair: 503, the form came back with its words", attempt)
						time.Sleep(time.Second)
					default:
						t.Fatalf("sending again after the repair (attempt %d): status %d:\n%s", attempt, status, page)
					}
				}
				u.logIn(in, l, receipt)
				if thread := u.get(in, "/"+l+"/check/report", web.StatusReport); !strings.Contains(thread, html.EscapeString(narrative)) {
					t.Error("after recovering, the report sent again does not open with its narrative")
				}
				if n := f.reports(t); n != before+1 {
					t.Errorf("%d reports after sending again, want %d", n, before+1)
				}
			})
		}
	})
}

// faultDB is the test's own way into the app's database, to break it.
type faultDB struct {
	engine string
	dsn    string  // PostgreSQL
	db     *sql.DB // the app's database
	admin  *sql.DB // PostgreSQL: another database on the same server
	name   string  // PostgreSQL: the app's database's name
	lock   *sql.Conn
}

func openFaultDB(t *testing.T, db storetest.DB, dataDir string) *faultDB {
	t.Helper()
	f := &faultDB{engine: db.Engine}
	var err error
	if db.Engine == store.SQLite {
		f.db, err = sql.Open("sqlite", filepath.Join(dataDir, store.FileName)+"?_pragma=busy_timeout(5000)")
	} else {
		f.dsn = db.DSN
		f.db, err = sql.Open("pgx", db.DSN)
		if err == nil {
			f.admin, err = sql.Open("pgx", os.Getenv(storetest.PostgresEnv))
		}
		u, _ := url.Parse(db.DSN)
		f.name = strings.TrimPrefix(u.Path, "/")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.db.Close() // the current pool, not the one opened here
		if f.admin != nil {
			f.admin.Close()
		}
	})
	return f
}

func (f *faultDB) exec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (f *faultDB) count(t *testing.T, q string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (f *faultDB) reports(t *testing.T) int {
	t.Helper()
	return f.count(t, `SELECT count(*) FROM reports`)
}

func (f *faultDB) halfReports(t *testing.T) int {
	t.Helper()
	return f.count(t, `SELECT count(*) FROM reports r WHERE r.withdrawn_at IS NULL AND (
		NOT EXISTS (SELECT 1 FROM report_wraps w WHERE w.report_id = r.id)
		OR NOT EXISTS (SELECT 1 FROM receipts x WHERE x.report_id = r.id)
		OR NOT EXISTS (SELECT 1 FROM report_fields d WHERE d.report_id = r.id AND d.name = 'narrative'))`)
}

// lockSQLite takes the write lock on another connection and keeps it: the
// app's writer waits its busy timeout (5 s) and gives up.
func (f *faultDB) lockSQLite(t *testing.T) {
	t.Helper()
	c, err := f.db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(t.Context(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	f.lock = c
}

func (f *faultDB) unlockSQLite(t *testing.T) {
	t.Helper()
	if _, err := f.lock.ExecContext(context.Background(), `ROLLBACK`); err != nil {
		t.Errorf("releasing the lock: %v", err)
	}
	f.lock.Close()
	f.lock = nil
}

// addFailingTrigger makes the insert of the receipt fail, after the report
// row, its sealed fields and its key wrap were written in the same
// transaction.
func (f *faultDB) addFailingTrigger(t *testing.T) {
	t.Helper()
	if f.engine == store.SQLite {
		f.exec(t, f.db, `CREATE TRIGGER salama_test_fault BEFORE INSERT ON receipts BEGIN SELECT RAISE(ABORT, 'injected fault: disk full'); END`)
		return
	}
	f.exec(t, f.db, `CREATE FUNCTION salama_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault: disk full'; END $$`)
	f.exec(t, f.db, `CREATE TRIGGER salama_test_fault BEFORE INSERT ON receipts FOR EACH ROW EXECUTE FUNCTION salama_test_fault()`)
}

func (f *faultDB) dropFailingTrigger(t *testing.T) {
	t.Helper()
	if f.engine == store.SQLite {
		f.exec(t, f.db, `DROP TRIGGER salama_test_fault`)
		return
	}
	f.exec(t, f.db, `DROP TRIGGER salama_test_fault ON receipts`)
	f.exec(t, f.db, `DROP FUNCTION salama_test_fault()`)
}

// settle waits until pgx checks the app's idle connections before reuse
// (it does after a second), so that the submission meets the database's
// new state and not merely a dropped connection.
func settle() { time.Sleep(1100 * time.Millisecond) }

// dropConnections ends every session on the app's database, as a restart
// or a failover does, and gives the test a fresh pool of its own.
func (f *faultDB) dropConnections(t *testing.T) {
	t.Helper()
	f.exec(t, f.admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '`+f.name+`' AND pid <> pg_backend_pid()`)
	f.db.Close()
	db, err := sql.Open("pgx", f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
}

// stopPostgres refuses new connections to the app's database and drops
// the existing ones: to the app, the database has stopped.
func (f *faultDB) stopPostgres(t *testing.T) {
	t.Helper()
	f.exec(t, f.admin, `ALTER DATABASE `+f.name+` ALLOW_CONNECTIONS false`)
	f.dropConnections(t)
	settle()
}

func (f *faultDB) startPostgres(t *testing.T) {
	t.Helper()
	f.exec(t, f.admin, `ALTER DATABASE `+f.name+` ALLOW_CONNECTIONS true`)
}

// readOnlyPostgres makes every new session on the app's database
// read-only and drops the existing ones, which the app then replaces with
// read-only sessions.
func (f *faultDB) readOnlyPostgres(t *testing.T) {
	t.Helper()
	f.exec(t, f.admin, `ALTER DATABASE `+f.name+` SET default_transaction_read_only = on`)
	f.dropConnections(t)
	var ro string
	if err := f.db.QueryRowContext(t.Context(), `SHOW default_transaction_read_only`).Scan(&ro); err != nil || ro != "on" {
		t.Fatalf("a new session is not read-only: %q, %v", ro, err)
	}
	settle()
}

// readWritePostgres turns it back, dropping the read-only sessions as the
// failover back to a writable primary would.
func (f *faultDB) readWritePostgres(t *testing.T) {
	t.Helper()
	f.exec(t, f.admin, `ALTER DATABASE `+f.name+` RESET default_transaction_read_only`)
	f.dropConnections(t)
}
