package apptest

import (
	"database/sql"
	"testing"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// Receipts is the network's receipt derivation, built as the application
// builds it: the salt and parameters from the database, the network secret
// from the data directory.
func Receipts(t testing.TB, a *app.App) *seal.Receipts {
	t.Helper()
	salt, _, err := a.Store.Setting(t.Context(), "receipt_salt")
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := a.Store.Setting(t.Context(), "receipt_kdf")
	if err != nil {
		t.Fatal(err)
	}
	p, err := seal.ParseKDFParams(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := seal.NewReceipts(a.KDF, a.Secret, salt, p)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// DowngradeReceipt rewrites the receipt row of a report made now as a
// Salama from before seal.ReceiptV2 wrote it: the bare argon2id halves as
// lookup key and wrap key (the derivation the fixed vectors of seal pin as
// ReceiptV1), version 1. It returns the old lookup key. This is the only
// way a test gets an old receipt: the application never writes one.
func DowngradeReceipt(t testing.TB, a *app.App, db storetest.DB, r seal.Receipt) (v1Lookup []byte) {
	t.Helper()
	ring, err := Receipts(t, a).Keys(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Destroy()
	cur := ring.Current()
	row, err := a.Store.ReceiptByLookup(t.Context(), cur.Lookup)
	if err != nil {
		t.Fatalf("the receipt's row: %v", err)
	}
	dk, err := cur.UnwrapDataKey(row.ReportID, row.Wrap)
	if err != nil {
		t.Fatal(err)
	}
	defer dk.Destroy()
	old, _ := ring.Version(seal.ReceiptV1)
	w, err := old.WrapDataKey(row.ReportID, dk)
	if err != nil {
		t.Fatal(err)
	}
	conn := WriteDB(t, a, db)
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), `UPDATE receipts SET lookup = $1, wrap = $2, version = 1 WHERE report_id = $3`, old.Lookup, w, row.ReportID); err != nil {
		t.Fatal(err)
	}
	return old.Lookup
}

// WriteDB opens the application's database for a test to change behind its
// back (SQLite waits for the application's writer).
func WriteDB(t testing.TB, a *app.App, db storetest.DB) *sql.DB {
	t.Helper()
	var conn *sql.DB
	var err error
	if db.Engine == store.SQLite {
		conn, err = sql.Open("sqlite", "file:"+a.Store.Files()[0]+"?_pragma=busy_timeout(10000)")
	} else {
		conn, err = sql.Open("pgx", db.DSN)
	}
	if err != nil {
		t.Fatal(err)
	}
	return conn
}
