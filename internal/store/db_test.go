package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

func TestOpenSQLiteFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := store.Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Engine(); got != store.SQLite {
		t.Errorf("Engine() = %q, want %q", got, store.SQLite)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode %o, want 700", perm)
	}
	files := s.Files()
	want := []string{"salama.db", "salama.db-wal", "salama.db-shm"}
	if len(files) != len(want) {
		t.Fatalf("Files() = %v", files)
	}
	for i, f := range files {
		if filepath.Base(f) != want[i] || filepath.Dir(f) != dir {
			t.Errorf("Files()[%d] = %q, want %s in %s", i, f, want[i], dir)
		}
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", want[i], err)
			continue
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode %o, want 600", want[i], perm)
		}
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Error(err)
	}
}

func TestOpenPostgresEngine(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.Postgres)
	if got := s.Engine(); got != store.Postgres {
		t.Errorf("Engine() = %q, want %q", got, store.Postgres)
	}
	if f := s.Files(); f != nil {
		t.Errorf("Files() = %v, want nil", f)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Error(err)
	}
	if err := s.Checkpoint(t.Context()); err != nil {
		t.Errorf("Checkpoint on PostgreSQL: %v", err)
	}
}

func TestOpenRejectsOtherURLs(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{"mysql://u:secretpw@h/db", "file:x.db", "sqlite://x"} {
		_, err := store.Open(t.Context(), dsn, t.TempDir())
		if err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("error reveals the URL: %v", err)
		}
	}
	if _, err := store.Open(t.Context(), "", ""); err == nil {
		t.Error("Open without a data directory succeeded")
	}
}

func TestOpenPostgresErrorHidesPassword(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1; the connection is refused at once.
	_, err := store.Open(t.Context(), "postgres://u:secretpw@127.0.0.1:1/db?connect_timeout=2", "")
	if err == nil {
		t.Fatal("Open succeeded")
	}
	if strings.Contains(err.Error(), "secretpw") {
		t.Errorf("error reveals the password: %v", err)
	}
}

// TestSQLitePragmas reads the pragmas back from the writer and from several
// reader connections at once (so that they are distinct connections).
func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	want := map[string]string{
		"journal_mode":  "wal",
		"busy_timeout":  "5000",
		"synchronous":   "2", // FULL
		"foreign_keys":  "1",
		"secure_delete": "1",
	}
	check := func(t *testing.T, c *sql.Conn, queryOnly string) {
		for p, w := range want {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+p).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", p, err)
			}
			if got != w {
				t.Errorf("PRAGMA %s = %s, want %s", p, got, w)
			}
		}
		var got string
		if err := c.QueryRowContext(ctx, "PRAGMA query_only").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != queryOnly {
			t.Errorf("PRAGMA query_only = %s, want %s", got, queryOnly)
		}
	}

	t.Run("writer", func(t *testing.T) {
		c, err := store.WriterOf(s).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		check(t, c, "0")
	})
	t.Run("readers", func(t *testing.T) {
		var conns []*sql.Conn
		for range 3 {
			c, err := store.ReaderOf(s).Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			check(t, c, "1")
			c.Close()
		}
	})
	if got := store.WriterOf(s).Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer MaxOpenConnections = %d, want 1", got)
	}
}

func TestSQLiteReaderRefusesWrites(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	_, err := store.ReaderOf(s).ExecContext(t.Context(), `INSERT INTO settings (key, value) VALUES ('k', x'00')`)
	if err == nil {
		t.Fatal("write through the read pool succeeded")
	}
}

// TestSQLiteTwoInstances runs two stores on one file concurrently, as a CLI
// subcommand beside the server would: BEGIN IMMEDIATE and the busy timeout
// make them queue rather than fail with SQLITE_BUSY.
func TestSQLiteTwoInstances(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t, store.SQLite)
	a, b := db.Open(t), db.Open(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			errs <- s.Tx(ctx, func(tx *sql.Tx) error {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM settings`).Scan(&n); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)`, fmt.Sprintf("k%d", i), []byte{byte(n)})
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var n int
	if err := store.ReaderOf(b).QueryRowContext(ctx, `SELECT count(*) FROM settings`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 40 {
		t.Errorf("%d rows, want 40", n)
	}
}

// TestPlaceholders checks that $N binds by number on both engines: out of
// order, and repeated.
func TestPlaceholders(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		var x, y, z string
		err := store.ReaderOf(s).QueryRowContext(ctx, `SELECT CAST($2 AS TEXT), CAST($1 AS TEXT), CAST($1 AS TEXT)`, "one", "two").Scan(&x, &y, &z)
		if err != nil {
			t.Fatal(err)
		}
		if x != "two" || y != "one" || z != "one" {
			t.Errorf("got %q %q %q, want two one one", x, y, z)
		}

		err = s.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (value, key) VALUES ($2, $1), ($3, $1 || '-again')`, "k", []byte("v2"), []byte("v3"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]string{"k": "v2", "k-again": "v3"} {
			v, ok, err := s.Setting(ctx, key)
			if err != nil || !ok || string(v) != want {
				t.Errorf("Setting(%q) = %q, %v, %v; want %q", key, v, ok, err, want)
			}
		}
	})
}

func TestTx(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		insert := func(key string) func(tx *sql.Tx) error {
			return func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)`, key, []byte("v"))
				return err
			}
		}
		present := func(key string) bool {
			t.Helper()
			_, ok, err := s.Setting(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}

		errBoom := errors.New("boom")
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			if err := insert("rolled-back")(tx); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Errorf("Tx returned %v, want fn's error", err)
		}
		if present("rolled-back") {
			t.Error("a failed transaction left its row")
		}

		func() {
			defer func() {
				if r := recover(); r != "panic in tx" {
					t.Errorf("recovered %v, want the panic to go on", r)
				}
			}()
			s.Tx(ctx, func(tx *sql.Tx) error {
				insert("panicked")(tx)
				panic("panic in tx")
			})
		}()
		if present("panicked") {
			t.Error("a panicking transaction left its row")
		}

		// The writer (one connection on SQLite) was given back.
		if err := s.Tx(ctx, insert("committed")); err != nil {
			t.Fatal(err)
		}
		if !present("committed") {
			t.Error("a committed row is missing")
		}
		// A failed statement fails the transaction.
		if err := s.Tx(ctx, insert("committed")); !store.IsUniqueViolation(err) {
			t.Errorf("duplicate insert: %v, want a unique violation", err)
		}
	})
}

// TestLockRows runs the clause that claims rows for work on both engines.
func TestLockRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.EnsureSetting(ctx, "k", func() ([]byte, error) { return []byte("v"), nil }); err != nil {
			t.Fatal(err)
		}
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			var k string
			return tx.QueryRowContext(ctx, `SELECT key FROM settings WHERE key = $1 LIMIT 1`+store.LockRows(s), "k").Scan(&k)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func insertOrg(t *testing.T, s *store.Store, id string) {
	t.Helper()
	err := s.Tx(t.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(t.Context(), `INSERT INTO organisations (id, name, public_key, created_at) VALUES ($1, $2, $3, $4)`, id, "Org "+id, "age1…", int64(1700000000))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func insertReport(ctx context.Context, s *store.Store, id, caseRef, orgID string) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO reports (id, case_ref, kind, channel, org_id, status, created_at, updated_at)
			VALUES ($1, $2, 'report', 'web', $3, 'new', $4, $4)`, id, caseRef, orgID, int64(1700000000))
		return err
	})
}

func TestConstraintErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		insertOrg(t, s, "org1")
		if err := insertReport(ctx, s, "r1", "SAL-1", "org1"); err != nil {
			t.Fatal(err)
		}
		_, syntaxErr := store.ReaderOf(s).ExecContext(ctx, `SELEC 1`)

		tests := []struct {
			name       string
			err        error
			unique, fk bool
		}{
			{"nil", nil, false, false},
			{"other error", errors.New("x"), false, false},
			{"syntax error", syntaxErr, false, false},
			{"primary key", insertReport(ctx, s, "r1", "SAL-2", "org1"), true, false},
			{"unique column", insertReport(ctx, s, "r2", "SAL-1", "org1"), true, false},
			{"foreign key", insertReport(ctx, s, "r3", "SAL-3", "no-such-org"), false, true},
		}
		for _, tt := range tests {
			wrapped := fmt.Errorf("wrapped: %w", tt.err)
			if tt.err == nil {
				wrapped = nil
			}
			if got := store.IsUniqueViolation(wrapped); got != tt.unique {
				t.Errorf("%s: IsUniqueViolation(%v) = %v, want %v", tt.name, tt.err, got, tt.unique)
			}
			if got := store.IsForeignKeyViolation(wrapped); got != tt.fk {
				t.Errorf("%s: IsForeignKeyViolation(%v) = %v, want %v", tt.name, tt.err, got, tt.fk)
			}
		}
	})
}

// TestTypesRoundTrip pins how Go values go in and come out on both engines.
func TestTypesRoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO organisations (id, name, intake, public_key, recovery_salt, recovery_wrap, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, "o", "Ŝalama ✓", true, "pk", []byte{}, nil, int64(1)<<62)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var (
			name           string
			intake, child  bool
			salt, wrap     []byte
			params         sql.NullString
			created        int64
			defaultIntake  bool
			nullWithdrawnN int
		)
		err = store.ReaderOf(s).QueryRowContext(ctx, `SELECT name, intake, child_protection, recovery_salt, recovery_wrap, recovery_params, created_at
			FROM organisations WHERE id = $1 AND intake = true AND child_protection = $2`, "o", false).
			Scan(&name, &intake, &child, &salt, &wrap, &params, &created)
		if err != nil {
			t.Fatal(err)
		}
		if name != "Ŝalama ✓" || !intake || child || created != int64(1)<<62 || params.Valid {
			t.Errorf("got %q %v %v %d %v", name, intake, child, created, params)
		}
		// An empty BLOB reads back as nil on SQLite (the driver's choice)
		// and as []byte{} on PostgreSQL; IS NULL tells them apart on both.
		if len(salt) != 0 {
			t.Errorf("empty blob came back as %#v", salt)
		}
		if wrap != nil {
			t.Errorf("NULL blob came back as %#v, want nil", wrap)
		}
		var saltNull, wrapNull bool
		err = store.ReaderOf(s).QueryRowContext(ctx, `SELECT recovery_salt IS NULL, recovery_wrap IS NULL FROM organisations WHERE id = $1`, "o").Scan(&saltNull, &wrapNull)
		if err != nil {
			t.Fatal(err)
		}
		if saltNull || !wrapNull {
			t.Errorf("IS NULL: empty blob %v, NULL blob %v; want false, true", saltNull, wrapNull)
		}

		// Defaults and NULL timestamps.
		if err := insertReport(ctx, s, "r", "SAL-1", "o"); err != nil {
			t.Fatal(err)
		}
		err = store.ReaderOf(s).QueryRowContext(ctx, `SELECT consent_stats, (SELECT count(*) FROM reports WHERE withdrawn_at IS NULL) FROM reports WHERE id = $1`, "r").
			Scan(&defaultIntake, &nullWithdrawnN)
		if err != nil {
			t.Fatal(err)
		}
		if defaultIntake || nullWithdrawnN != 1 {
			t.Errorf("defaults: consent_stats %v, withdrawn_at NULL count %d", defaultIntake, nullWithdrawnN)
		}
	})
}

// TestCheckpointLeavesNoTrace deletes a row and checks its bytes are in none
// of the database files afterwards: secure_delete zeroes the freed space and
// Checkpoint empties the write-ahead log, which still held the old page.
func TestCheckpointLeavesNoTrace(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	ctx := t.Context()
	marker := []byte("WITHDRAWN-NARRATIVE-7c1f0e")
	if _, err := s.EnsureSetting(ctx, "secret", func() ([]byte, error) { return marker, nil }); err != nil {
		t.Fatal(err)
	}
	// Something else in the same page, so the page stays in use.
	if _, err := s.EnsureSetting(ctx, "other", func() ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if !filesContain(t, s.Files(), marker) {
		t.Fatal("marker not written to disk: the test proves nothing")
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, "secret")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !filesContain(t, s.Files(), marker) {
		t.Log("note: marker already gone before the checkpoint")
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if filesContain(t, s.Files(), marker) {
		t.Error("deleted value still on disk after Checkpoint")
	}
	if fi, err := os.Stat(s.Files()[1]); err == nil && fi.Size() != 0 {
		t.Errorf("WAL is %d bytes after Checkpoint, want 0", fi.Size())
	}
}

func filesContain(t *testing.T, files []string, needle []byte) bool {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, needle) {
			return true
		}
	}
	return false
}
