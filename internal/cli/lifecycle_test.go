package cli_test

import (
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

func clearEnv(t *testing.T) {
	for _, v := range []string{"SALAMA_DATA", "SALAMA_DATABASE", "SALAMA_SIGNING_KEY", "SALAMA_NETWORK_SECRET", "SALAMA_BACKUP_RECIPIENT",
		"SALAMA_RETAIN_CLOSED_DAYS", "SALAMA_ESCALATE_UNOPENED_DAYS", "SALAMA_PURGE_UNOPENED_DAYS", "SALAMA_INCLUDE_SECRETS"} {
		t.Setenv(v, "")
	}
}

// demoNetwork makes the demo network in a data directory (SQLite) or a
// database, as if the server had run at now, and returns its receipts.
func demoNetwork(t *testing.T, dir, database string, now func() time.Time) []string {
	t.Helper()
	a, err := app.New(t.Context(), app.Options{DataDir: dir, Database: database, KDFParams: seal.TestKDFParams, Demo: true,
		NetworkSecret: os.Getenv("SALAMA_NETWORK_SECRET"), SigningKey: os.Getenv("SALAMA_SIGNING_KEY"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	return a.Demo.Receipts
}

func countRows(t *testing.T, dir, q string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPurgeCommand(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	// The demo reports arrived 400 days ago and nobody opened them.
	demoNetwork(t, dir, "", func() time.Time { return time.Now().Add(-400 * 24 * time.Hour) })
	wraps := countRows(t, dir, `SELECT count(*) FROM report_wraps`)

	code, stdout, stderr := run("purge", "--dry-run", "--data", dir)
	if code != 0 || !strings.Contains(stdout, "5 to escalate, 0 to purge. Nothing was changed.") ||
		!strings.Contains(stdout, "nobody opened it in 400 days (policy: escalate after 3)") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`escalate\s+[A-Z0-9]{4}-[A-Z0-9]{4}\s+`).MatchString(stdout) {
		t.Errorf("dry run lists no case references:\n%s", stdout)
	}
	if n := countRows(t, dir, `SELECT count(*) FROM reports WHERE escalated_at IS NOT NULL`); n != 0 {
		t.Fatalf("the dry run escalated %d reports", n)
	}
	if code, stdout, stderr = run("purge", "--data", dir); code != 0 || !strings.Contains(stdout, "Escalated 5, purged 0.") {
		t.Fatalf("purge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Escalated just now: with the default policy they stay 87 more days.
	// Without escalation they go at 90 days.
	code, stdout, _ = run("purge", "--dry-run", "--data", dir, "--escalate-unopened-days", "0")
	if code != 0 || !strings.Contains(stdout, "0 to escalate, 5 to purge.") || !strings.Contains(stdout, "(policy: purge after 90)") {
		t.Fatalf("dry run without escalation: exit %d\n%s", code, stdout)
	}
	if n := countRows(t, dir, `SELECT count(*) FROM report_wraps`); n != wraps {
		t.Fatalf("a dry run removed key wraps")
	}
	t.Setenv("SALAMA_ESCALATE_UNOPENED_DAYS", "0")
	if code, stdout, stderr = run("purge", "--data", dir); code != 0 || !strings.Contains(stdout, "Escalated 0, purged 5.") {
		t.Fatalf("purge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := countRows(t, dir, `SELECT count(*) FROM reports WHERE status = 'purged'`); n != 5 {
		t.Errorf("%d reports purged, want 5", n)
	}
	if n := countRows(t, dir, `SELECT count(*) FROM report_wraps`); n != wraps-5 {
		t.Errorf("%d key wraps left of %d", n, wraps)
	}
	if code, stdout, _ := run("audit", "verify", "--data", dir); code != 0 {
		t.Errorf("audit log after purge: %s", stdout)
	}
	if code, stdout, stderr := run("jobs", "--data", dir); code != 0 || !strings.Contains(stdout, "No jobs.") {
		t.Errorf("jobs: exit %d %q %q", code, stdout, stderr)
	}

	for _, bad := range [][]string{
		{"purge", "--data", dir, "--escalate-unopened-days", "10", "--purge-unopened-days", "5"},
		{"purge", "--data", dir, "--retain-closed-days", "-1"},
		{"purge", "--data", t.TempDir()},
	} {
		if code, _, _ := run(bad...); code != 1 {
			t.Errorf("%v: exit %d, want 1", bad, code)
		}
	}
}

func TestBackupRestoreCommands(t *testing.T) {
	clearEnv(t)
	src := t.TempDir()
	receipts := demoNetwork(t, src, "", time.Now)
	keys := t.TempDir()
	keyFile := filepath.Join(keys, "backup-key.txt")

	code, stdout, stderr := run("backup", "keygen", "--out", keyFile)
	pub := regexp.MustCompile(`age1pq1[0-9a-z]+`).FindString(stdout)
	if code != 0 || pub == "" {
		t.Fatalf("keygen: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v", err)
	}

	plain := filepath.Join(keys, "plain.age")
	code, stdout, stderr = run("backup", "--data", src, "--to", plain, "--recipient", pub)
	if code != 0 || !strings.Contains(stdout, "Backup written") || !strings.Contains(stdout, "Reminder: the network secret and the signing key are not in it") {
		t.Fatalf("backup: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// The health page and the start-up warning read when it was taken.
	at := countRows(t, src, "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'last_backup'")
	if d := time.Since(time.Unix(int64(at), 0)); d < 0 || d > time.Minute {
		t.Errorf("last backup recorded at %d, %v ago", at, d)
	}
	if code, _, stderr := run("backup", "--data", src, "--to", plain, "--recipient", pub); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("overwriting a backup: exit %d %s", code, stderr)
	}
	if code, stdout, _ := run("restore", "--check", "--from", plain, "--identity", keyFile); code != 0 || !strings.Contains(stdout, "Backup OK") || !strings.Contains(stdout, "secrets: not included") {
		t.Errorf("check: exit %d\n%s", code, stdout)
	}

	// Without secrets: restored, with the reminder.
	dst := t.TempDir()
	code, stdout, stderr = run("restore", "--data", dst, "--from", plain, "--identity", keyFile)
	if code != 0 || !strings.Contains(stdout, "Restored into") || !strings.Contains(stdout, "Before `salama serve`") {
		t.Fatalf("restore: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := run("restore", "--data", dst, "--from", plain, "--identity", keyFile); code != 1 || !strings.Contains(stderr, "not empty") {
		t.Errorf("restore over data: exit %d %s", code, stderr)
	}

	// With secrets, into PostgreSQL when there is one (else SQLite): one
	// file is then enough, and the audit log verifies at once.
	t.Setenv("SALAMA_BACKUP_RECIPIENT", pub)
	full := filepath.Join(keys, "full.age")
	if code, stdout, stderr := run("backup", "--data", src, "--to", full, "--include-secrets"); code != 0 || !strings.Contains(stdout, "It holds the network secret") {
		t.Fatalf("backup --include-secrets: exit %d\n%s\n%s", code, stdout, stderr)
	}
	dst2 := t.TempDir()
	args := []string{"restore", "--data", dst2, "--from", full, "--identity", keyFile}
	database := ""
	if os.Getenv(storetest.PostgresEnv) != "" {
		database = storetest.NewDB(t, store.Postgres).DSN
		args = append(args, "--database", database)
	}
	code, stdout, stderr = run(args...)
	if code != 0 || !strings.Contains(stdout, "signing.key from the backup") || !strings.Contains(stdout, "Audit log verified") {
		t.Fatalf("restore with secrets: exit %d\n%s\n%s", code, stdout, stderr)
	}
	a, err := app.New(t.Context(), app.Options{DataDir: dst2, Database: database, KDFParams: seal.TestKDFParams,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, r := range receipts {
		rc, _ := seal.ParseReceipt(r)
		if _, err := a.Reporting.LogIn(t.Context(), rc); err != nil {
			t.Errorf("receipt after restore: %v", err)
		}
	}

	// Standard output and input.
	code, _, stderr = run("backup", "--data", src, "--to", "-", "--recipient", "age1notakey")
	if code != 1 || strings.Contains(stderr, "age1notakey") {
		t.Errorf("bad recipient: exit %d, %q", code, stderr)
	}
}

// Issue 17 (9) and 12 (9) through the command line: a restore that fails
// leaves the target as it was (no database file, no empty schema), and
// backups made with --to-dir --keep-days expire and are deleted.
func TestRestoreFailureAndBackupExpiry(t *testing.T) {
	clearEnv(t)
	src := t.TempDir()
	demoNetwork(t, src, "", time.Now)
	keys := t.TempDir()
	keyFile := filepath.Join(keys, "backup-key.txt")
	_, stdout, _ := run("backup", "keygen", "--out", keyFile, "--classic")
	pub := regexp.MustCompile(`age1[0-9a-z]+`).FindString(stdout)

	backups := t.TempDir()
	// An old backup of the same naming, and someone else's file.
	old := filepath.Join(backups, "salama-20200101T000000Z.age")
	os.WriteFile(old, []byte("age-encryption.org/v1\n"), 0o600)
	os.WriteFile(filepath.Join(backups, "notes.txt"), []byte("keep me"), 0o600)
	if code, _, stderr := run("backup", "--data", src, "--to-dir", backups, "--recipient", pub); code != 1 || !strings.Contains(stderr, "--keep-days") {
		t.Errorf("--to-dir without --keep-days: exit %d, %s", code, stderr)
	}
	code, stdout, stderr := run("backup", "--data", src, "--to-dir", backups, "--keep-days", "30", "--recipient", pub)
	if code != 0 || !strings.Contains(stdout, "Expires ") || !strings.Contains(stdout, "Deleted salama-20200101T000000Z.age: older than 30 days") {
		t.Fatalf("backup --to-dir --keep-days: exit %d\n%s\n%s", code, stdout, stderr)
	}
	made, _ := filepath.Glob(filepath.Join(backups, "salama-2*.age"))
	if len(made) != 1 {
		t.Fatalf("backups in the directory: %v", made)
	}
	if _, err := os.Stat(filepath.Join(backups, "notes.txt")); err != nil {
		t.Error("pruning removed a file it did not make")
	}
	good := made[0]
	if code, stdout, _ := run("restore", "--check", "--from", good, "--identity", keyFile); code != 0 || !strings.Contains(stdout, "expires ") {
		t.Errorf("check shows no expiry: exit %d\n%s", code, stdout)
	}

	// A damaged copy: cut short, as a transfer that broke off.
	b, _ := os.ReadFile(good)
	damaged := filepath.Join(keys, "damaged.age")
	os.WriteFile(damaged, b[:len(b)*2/3], 0o600)

	targets := []struct{ name, data, database string }{{"sqlite", filepath.Join(t.TempDir(), "new-data"), ""}}
	if os.Getenv(storetest.PostgresEnv) != "" {
		targets = append(targets, struct{ name, data, database string }{"postgres", t.TempDir(), storetest.NewDB(t, store.Postgres).DSN})
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			args := []string{"restore", "--data", tg.data, "--from", damaged, "--identity", keyFile}
			if tg.database != "" {
				args = append(args, "--database", tg.database)
			}
			if code, stdout, stderr := run(args...); code != 1 || strings.Contains(stdout, "Restored") {
				t.Fatalf("damaged backup: exit %d\n%s\n%s", code, stdout, stderr)
			}
			if tg.database == "" {
				if _, err := os.Stat(tg.data); err == nil {
					entries, _ := os.ReadDir(tg.data)
					t.Errorf("the failed restore left the data directory with %d files", len(entries))
				}
			} else {
				db, err := sql.Open("pgx", tg.database)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var tables int
				if err := db.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil {
					t.Fatal(err)
				}
				if tables != 0 {
					t.Errorf("the failed restore left %d tables in the PostgreSQL database", tables)
				}
			}
			// The same target then takes the good backup.
			args[4] = good
			if code, stdout, stderr := run(args...); code != 0 || !strings.Contains(stdout, "Restored into") || !strings.Contains(stdout, "withdrew after") {
				t.Fatalf("good backup after the failure: exit %d\n%s\n%s", code, stdout, stderr)
			}
		})
	}
}
