package web_test

import (
	"bytes"
	"html"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/web"
)

// receiptRow is what a dump shows of one receipt: its lookup key, its wrap
// of the report's data key, the derivation version.
type receiptRow struct {
	lookup, wrap []byte
	version      int
}

// receiptRows reads the receipts table as someone with a copy of the
// database would: the SQLite file, or the PostgreSQL rows.
func (s *site) receiptRows(reportID string) []receiptRow {
	s.t.Helper()
	db := s.open()
	defer db.Close()
	rows, err := db.Query(`SELECT lookup, wrap, version FROM receipts WHERE report_id = $1`, reportID)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var out []receiptRow
	for rows.Next() {
		var r receiptRow
		if err := rows.Scan(&r.lookup, &r.wrap, &r.version); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// dumpReceipts is a seal.Receipts built only from what a database dump
// holds (the salt and the argon2id parameters in the settings table) and a
// network secret the attacker has to guess.
func (s *site) dumpReceipts() *seal.Receipts {
	s.t.Helper()
	db := s.open()
	defer db.Close()
	var salt, params []byte
	if err := db.QueryRow(`SELECT value FROM settings WHERE key = 'receipt_salt'`).Scan(&salt); err != nil {
		s.t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT value FROM settings WHERE key = 'receipt_kdf'`).Scan(&params); err != nil {
		s.t.Fatal(err)
	}
	p, err := seal.ParseKDFParams(string(params))
	if err != nil {
		s.t.Fatal(err)
	}
	rs, err := seal.NewReceipts(seal.NewKDF(1), seal.NewNetworkSecretForTest(), salt, p)
	if err != nil {
		s.t.Fatal(err)
	}
	return rs
}

// SPEC §6 "Receipt": a copy of the database alone allows no guessing. Someone
// who holds the dump and even knows the right receipt cannot confirm it: the
// argon2id output they can compute from the dump's salt and parameters (the
// whole key of the old derivation) is not the lookup key and opens no wrap,
// and no stored lookup key matches anything they can derive. With the
// network secret the same receipt finds its row and opens the report, so the
// check is not vacuous.
func TestDumpCannotConfirmReceipt(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		_, typed := s.report("en", fullReport())
		receipt, err := seal.ParseReceipt(typed)
		if err != nil {
			t.Fatal(err)
		}
		id := s.onlyReport()
		rows := s.receiptRows(id)
		if len(rows) != 1 || rows[0].version != int(seal.CurrentReceiptVersion) {
			t.Fatalf("receipt rows %+v, want one of version %d", rows, seal.CurrentReceiptVersion)
		}
		row := rows[0]

		// Without the network secret.
		ring, err := s.dumpReceipts().Keys(t.Context(), receipt)
		if err != nil {
			t.Fatal(err)
		}
		defer ring.Destroy()
		for _, k := range ring.Versions() {
			if bytes.Equal(k.Lookup, row.lookup) {
				t.Errorf("version %d keys derived from the dump alone find the receipt's row", k.Version)
			}
			if s.count(`SELECT count(*) FROM receipts WHERE lookup = $1`, k.Lookup) != 0 {
				t.Errorf("version %d keys derived from the dump alone find a row", k.Version)
			}
			if _, err := k.UnwrapDataKey(id, row.wrap); err == nil {
				t.Errorf("version %d keys derived from the dump alone open the report's data key", k.Version)
			}
		}
		bare, _ := ring.Version(seal.ReceiptV1) // argon2id(receipt, salt): all a dump allows
		if s.contains(bare.Lookup) {
			t.Error("the bare argon2id output of the receipt is in the database")
		}

		// With the network secret.
		withSecret, err := apptest.Receipts(t, s.app).Keys(t.Context(), receipt)
		if err != nil {
			t.Fatal(err)
		}
		defer withSecret.Destroy()
		cur := withSecret.Current()
		if !bytes.Equal(cur.Lookup, row.lookup) || !s.contains(row.lookup) {
			t.Fatal("with the network secret the receipt does not find its row")
		}
		dk, err := cur.UnwrapDataKey(id, row.wrap)
		if err != nil {
			t.Fatalf("with the network secret the receipt does not open the data key: %v", err)
		}
		defer dk.Destroy()
		fields := s.blobs(`SELECT sealed FROM report_fields WHERE report_id = $1 AND name = 'narrative'`, id)
		if len(fields) != 1 {
			t.Fatalf("%d narrative fields", len(fields))
		}
		if got, err := dk.Open(id, report.FieldNarrative, fields[0]); err != nil || string(got) != narrative {
			t.Fatalf("the narrative under the receipt's data key: %q, %v", got, err)
		}
	})
}

// A receipt issued before the current derivation still logs in, and that
// login rewrites its row: the new lookup key and wrap replace the old ones,
// and the old lookup key finds nothing any more.
func TestOldReceiptUpgradedAtWebLogin(t *testing.T) {
	each(t, func(t *testing.T, s *site) {
		_, typed := s.report("en", fullReport())
		receipt, _ := seal.ParseReceipt(typed)
		id := s.onlyReport()
		old := apptest.DowngradeReceipt(t, s.app, s.db, receipt)
		if rows := s.receiptRows(id); len(rows) != 1 || rows[0].version != 1 || !bytes.Equal(rows[0].lookup, old) {
			t.Fatalf("downgraded rows: %+v", rows)
		}

		cookie := s.login("en", typed)
		if r := s.get("/en/check/report", cookie); r.StatusCode != web.StatusReport || !strings.Contains(r.body, html.EscapeString(narrative)) {
			t.Fatalf("an old receipt does not open its report: %d", r.StatusCode)
		}
		rows := s.receiptRows(id)
		if len(rows) != 1 || rows[0].version != int(seal.CurrentReceiptVersion) {
			t.Fatalf("after the login: rows %+v, want one of version %d", rows, seal.CurrentReceiptVersion)
		}
		if n := s.count(`SELECT count(*) FROM receipts WHERE lookup = $1`, old); n != 0 {
			t.Errorf("the old lookup key still finds %d rows", n)
		}
		ring, err := apptest.Receipts(t, s.app).Keys(t.Context(), receipt)
		if err != nil {
			t.Fatal(err)
		}
		defer ring.Destroy()
		if !bytes.Equal(rows[0].lookup, ring.Current().Lookup) {
			t.Error("the upgraded row is not under the current lookup key")
		}
		if _, err := ring.Current().UnwrapDataKey(id, rows[0].wrap); err != nil {
			t.Errorf("the upgraded wrap does not open under the current keys: %v", err)
		}
		v1, _ := ring.Version(seal.ReceiptV1)
		if _, err := v1.UnwrapDataKey(id, rows[0].wrap); err == nil {
			t.Error("the old keys still open the upgraded wrap")
		}
		if s.db.Engine == store.SQLite {
			// Until the next checkpoint (the minutely job) the write-ahead
			// log holds the page as it was; after it, the old key is gone
			// from the files too (secure_delete). PostgreSQL keeps the
			// dead tuple until vacuum (docs/security.md).
			if err := s.app.Store.Checkpoint(t.Context()); err != nil {
				t.Fatal(err)
			}
			if s.contains(old) {
				t.Error("the old lookup key is still in the database files after a checkpoint")
			}
		}

		// And again: the receipt keeps working, nothing is rewritten twice.
		s.login("en", typed)
		if rows2 := s.receiptRows(id); len(rows2) != 1 || !bytes.Equal(rows2[0].wrap, rows[0].wrap) {
			t.Error("a second login rewrote the upgraded row")
		}
	})
}
