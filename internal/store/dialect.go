package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// What differs between SQLite and PostgreSQL, and what to write so that it
// does not.
//
// Written the same on both, and checked by the tests on both:
//   - placeholders are $1, $2 …; modernc.org/sqlite binds $N by number, so
//     a placeholder may repeat or come out of order (not so with
//     ncruces/go-sqlite3, which binds by order of appearance);
//   - booleans are BOOLEAN, written true/false, bound and scanned as bool;
//   - timestamps are BIGINT unix seconds, computed in Go, never now();
//   - INSERT … ON CONFLICT (cols) DO NOTHING | DO UPDATE SET c = excluded.c,
//     and RETURNING;
//   - CAST(x AS TEXT), COALESCE, ||, LIMIT $n OFFSET $n, count(*) (scans into
//     int or int64).
//
// Different, so avoided or handled here:
//   - column types: BLOB vs BYTEA; the migrations are per engine and a test
//     compares the two schemas;
//   - error codes: IsUniqueViolation;
//   - row locks: PostgreSQL instances compete for rows (jobs) with
//     FOR UPDATE SKIP LOCKED; SQLite has one writer and no such clause, see
//     dialect.lockRows;
//   - LIKE is case-insensitive for ASCII on SQLite and case-sensitive on
//     PostgreSQL (which also has ILIKE): write lower(col) LIKE lower($1);
//   - scalar max(a, b)/min(a, b) exist only on SQLite, GREATEST/LEAST only on
//     PostgreSQL: use CASE WHEN;
//   - date functions differ entirely: bucket unix seconds with integer
//     arithmetic (created_at - created_at % 86400) or in Go;
//   - an empty BLOB scans as nil on SQLite and as []byte{} on PostgreSQL:
//     never tell NULL from empty by nil-ness; ask col IS NULL;
//   - a column declared PRIMARY KEY may hold NULL on SQLite unless it is also
//     NOT NULL: the SQLite migrations say NOT NULL on every key column.
type dialect struct {
	engine string // SQLite or Postgres
}

// lockRows is appended to a SELECT that claims rows for work in a
// transaction, so that two PostgreSQL instances never claim the same row.
// SQLite's single writer already serialises such transactions.
func (d dialect) lockRows() string {
	if d.engine == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// shareRow is appended to a SELECT inside a write transaction that must
// keep the row it read from changing until the transaction ends (the key of
// an organisation, while a report is wrapped to it): a shared row lock on
// PostgreSQL, which other readers share and a writer waits for; SQLite's
// single writer serialises such transactions already.
func (d dialect) shareRow() string {
	if d.engine == Postgres {
		return " FOR SHARE"
	}
	return ""
}

// retryable reports whether a failed transaction may succeed if run again:
// PostgreSQL's serialization_failure and deadlock_detected.
func (d dialect) retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique or primary key
// constraint violation on either engine.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" // unique_violation, also for primary keys
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// IsForeignKeyViolation reports whether err is a foreign key constraint
// violation on either engine: a row refers to one that does not exist (or no
// longer does).
func IsForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503" // foreign_key_violation
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}
