package app_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/web"
)

// A database that reads but takes no writes (read-only after a failover, a
// full disk, SQLite locked by another process) while survivors come back
// with their receipts (issue 17 item 8, the survivor's part): a receipt
// login, a login already open, and an old receipt whose upgrade cannot be
// written all still show the report, say that replying is not possible now,
// and offer no form; nothing answers 500. Once the database takes writes
// again, the same instance logs in, upgrades and takes replies.
func TestDatabaseFaultsDuringReceiptLogin(t *testing.T) {
	type fault struct {
		name           string
		break_, repair func(f *faultDB, t *testing.T)
	}
	faults := map[string][]fault{
		store.SQLite: {
			{"locked past the busy timeout", (*faultDB).lockSQLite, (*faultDB).unlockSQLite},
			{"writes fail", (*faultDB).addWriteFaults, (*faultDB).dropWriteFaults},
		},
		store.Postgres: {
			{"read-only", (*faultDB).readOnlyPostgres, (*faultDB).readWritePostgres},
			{"writes fail", (*faultDB).addWriteFaults, (*faultDB).dropWriteFaults},
		},
	}
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		dataDir := db.DataDir
		if dataDir == "" {
			dataDir = t.TempDir()
		}
		f := openFaultDB(t, db, dataDir)
		for _, fl := range faults[db.Engine] {
			t.Run(strings.ReplaceAll(fl.name, " ", "_"), func(t *testing.T) {
				// An instance of its own: receipt logins from one address
				// are limited, and every request here comes from loopback.
				in := newInstance(t, fl.name, db.DSN, dataDir)
				readOnly := html.EscapeString(in.app.Catalog.Printer(locale.English).T("thread.read_only"))
				// Before the fault: two reports, one of them with a receipt
				// from before the current derivation, and a survivor
				// already logged in.
				current, currentReceipt := sendReport(t, in, "Current receipt, "+fl.name)
				old, oldReceipt := sendReport(t, in, "Old receipt, "+fl.name)
				oldParsed, err := seal.ParseReceipt(oldReceipt)
				if err != nil {
					t.Fatal(err)
				}
				apptest.DowngradeReceipt(t, in.app, db, oldParsed)
				open := newUser(t)
				open.logIn(in, "en", currentReceipt)
				oldRows := f.count(t, `SELECT count(*) FROM receipts WHERE version = 1`)
				sessions := f.count(t, `SELECT count(*) FROM survivor_sessions`)

				fl.break_(f, t)
				repaired := false
				t.Cleanup(func() {
					if !repaired {
						fl.repair(f, t)
					}
				})
				shows := func(who, page, narrative string) {
					t.Helper()
					if !strings.Contains(page, html.EscapeString(narrative)) || !strings.Contains(page, readOnly) {
						t.Errorf("%s: the report or the read-only notice is missing:\n%s", who, page)
					}
					if strings.Contains(page, `action="/en/check/reply"`) || strings.Contains(page, `action="/en/check/withdraw"`) {
						t.Errorf("%s: the page offers forms that cannot work now", who)
					}
				}

				// A login already open: marking it used fails.
				status, page := open.send(in, http.MethodGet, "/en/check/report", nil)
				if status != web.StatusReport {
					t.Fatalf("an open login during the fault: status %d:\n%s", status, page)
				}
				shows("an open login", page, current)

				// A new login: its session cannot be stored.
				fresh := newUser(t)
				status, page = fresh.sendLogin(in, currentReceipt)
				if status != http.StatusOK {
					t.Fatalf("a receipt login during the fault: status %d:\n%s", status, page)
				}
				shows("a new login", page, current)

				// An old receipt: its upgrade cannot be written either.
				oldUser := newUser(t)
				status, page = oldUser.sendLogin(in, oldReceipt)
				if status != http.StatusOK {
					t.Fatalf("an old receipt during the fault: status %d:\n%s", status, page)
				}
				shows("an old receipt", page, old)

				fl.repair(f, t)
				repaired = true
				if db.Engine == store.Postgres {
					settle() // the repair dropped the pool's connections
				}
				if v := f.count(t, `SELECT count(*) FROM receipts WHERE version = 1`); v != oldRows {
					t.Errorf("%d version 1 receipts after the fault, want %d: the failed upgrade wrote something", v, oldRows)
				}
				if n := f.count(t, `SELECT count(*) FROM survivor_sessions`); n != sessions {
					t.Errorf("%d sessions after the fault, %d before: a login during the fault stored one", n, sessions)
				}

				// Back to normal on the same instance: the old receipt logs
				// in and is upgraded, the open login takes a reply.
				oldUser.logIn(in, "en", oldReceipt)
				if v := f.count(t, `SELECT count(*) FROM receipts WHERE version = 1`); v != oldRows-1 {
					t.Errorf("%d version 1 receipts after a login on the repaired database, want %d", v, oldRows-1)
				}
				thread := open.get(in, "/en/check/report", web.StatusReport)
				if strings.Contains(thread, readOnly) {
					t.Error("the read-only notice stays after the repair")
				}
				open.post(in, "/en/check/reply", url.Values{"csrf": {match(t, csrfRE, thread)}, "text": {"Back again after the fault."}}, http.StatusSeeOther)
			})
		}
	})
}

// sendReport sends a report with a narrative made unique by tag and returns
// the narrative and the receipt.
func sendReport(t *testing.T, in *instance, tag string) (narrative, receipt string) {
	t.Helper()
	u := newUser(t)
	form := u.get(in, "/en/report", http.StatusOK)
	narrative = "He threatens to share my photos. " + tag
	page := u.post(in, "/en/report", url.Values{"token": {match(t, tokenRE, form)}, "about": {"me"}, "what": {"sextortion"},
		"county": {"nakuru"}, "narrative": {narrative}, "contact": {"code"}, "share": {"ask"}, "send": {"1"}}, http.StatusOK)
	return narrative, match(t, receiptRE, page)
}

// sendLogin sends the receipt login form and returns what came back.
func (u *user) sendLogin(in *instance, receipt string) (int, string) {
	u.t.Helper()
	form := u.get(in, "/en/check", http.StatusOK)
	return u.send(in, http.MethodPost, "/en/check", url.Values{"receipt": {receipt}, "token": {match(u.t, tokenRE, form)}})
}

// addWriteFaults makes every write a receipt login does fail, as a full
// disk does, while reads go on: storing or marking a session, and
// upgrading a receipt.
func (f *faultDB) addWriteFaults(t *testing.T) {
	t.Helper()
	if f.engine == store.SQLite {
		for _, on := range []string{"INSERT ON survivor_sessions", "UPDATE ON survivor_sessions", "UPDATE ON receipts"} {
			name := "salama_test_write_fault_" + strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(on, " ON ", "_"), " ", "_"))
			f.exec(t, f.db, `CREATE TRIGGER `+name+` BEFORE `+on+` BEGIN SELECT RAISE(ABORT, 'injected fault: disk full'); END`)
		}
		return
	}
	f.exec(t, f.db, `CREATE FUNCTION salama_test_write_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault: disk full'; END $$`)
	f.exec(t, f.db, `CREATE TRIGGER salama_test_write_fault BEFORE INSERT OR UPDATE ON survivor_sessions FOR EACH ROW EXECUTE FUNCTION salama_test_write_fault()`)
	f.exec(t, f.db, `CREATE TRIGGER salama_test_write_fault BEFORE UPDATE ON receipts FOR EACH ROW EXECUTE FUNCTION salama_test_write_fault()`)
}

func (f *faultDB) dropWriteFaults(t *testing.T) {
	t.Helper()
	if f.engine == store.SQLite {
		for _, name := range []string{"insert_survivor_sessions", "update_survivor_sessions", "update_receipts"} {
			f.exec(t, f.db, `DROP TRIGGER salama_test_write_fault_`+name)
		}
		return
	}
	f.exec(t, f.db, `DROP TRIGGER salama_test_write_fault ON survivor_sessions`)
	f.exec(t, f.db, `DROP TRIGGER salama_test_write_fault ON receipts`)
	f.exec(t, f.db, `DROP FUNCTION salama_test_write_fault()`)
}
