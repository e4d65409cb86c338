package cli_test

import (
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// serveBriefly runs `salama serve` with args and returns how it ended. A
// server that starts instead of refusing is a failure of the test (it is
// left running until the test binary exits).
func serveBriefly(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := run(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		done <- result{code, stderr}
	}()
	select {
	case r := <-done:
		return r.code, r.stderr
	case <-time.After(2 * time.Minute):
		t.Fatal("salama serve started instead of refusing")
		return 0, ""
	}
}

// A production `salama serve` refuses a database whose receipt argon2id
// parameters are the test-only ones, whether a test made the database or
// someone with write access to it changed the setting; only the explicit
// test-only setting (app.Options.KDFParams = seal.TestKDFParams, which no
// flag or variable sets) accepts them.
func TestServeRefusesTestKDFParams(t *testing.T) {
	clearEnv(t)
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		dir := db.DataDir
		if dir == "" {
			dir = t.TempDir()
		}
		demoNetwork(t, dir, db.DSN, time.Now)
		code, stderr := serveBriefly(t, "--data", dir, "--database", db.DSN)
		if code != 1 || !strings.Contains(stderr, "receipt_kdf = "+seal.TestKDFParams.String()) || !strings.Contains(stderr, "made only for tests") {
			t.Fatalf("serve on a test database: exit %d\n%s", code, stderr)
		}

		// The test-only setting, explicitly on, still opens it.
		a, err := app.New(t.Context(), app.Options{DataDir: dir, Database: db.DSN, KDFParams: seal.TestKDFParams,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatalf("the test-only setting refused its own database: %v", err)
		}
		a.Close()

		// A production database (receipt_kdf written by a production
		// start) passes the check: it stops only at the missing intake
		// organisation. Then someone lowers the stored setting.
		fresh := storetest.NewDB(t, db.Engine)
		freshDir := fresh.DataDir
		if freshDir == "" {
			freshDir = t.TempDir()
		}
		code, stderr = serveBriefly(t, "--data", freshDir, "--database", fresh.DSN)
		if code != 1 || !strings.Contains(stderr, "no intake organisation") || strings.Contains(stderr, "receipt_kdf") {
			t.Fatalf("serve on a fresh production database: exit %d\n%s", code, stderr)
		}
		var conn *sql.DB
		if db.Engine == store.SQLite {
			conn, err = sql.Open("sqlite", filepath.Join(freshDir, store.FileName))
		} else {
			conn, err = sql.Open("pgx", fresh.DSN)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var stored []byte
		if err := conn.QueryRow(`SELECT value FROM settings WHERE key = 'receipt_kdf'`).Scan(&stored); err != nil || string(stored) != seal.DefaultKDFParams.String() {
			t.Fatalf("a production start stored receipt_kdf %q (%v)", stored, err)
		}
		if _, err := conn.Exec(`UPDATE settings SET value = $1 WHERE key = 'receipt_kdf'`, []byte(seal.TestKDFParams.String())); err != nil {
			t.Fatal(err)
		}
		code, stderr = serveBriefly(t, "--data", freshDir, "--database", fresh.DSN)
		if code != 1 || !strings.Contains(stderr, "made only for tests") {
			t.Fatalf("serve after the setting was lowered: exit %d\n%s", code, stderr)
		}
	})
}
