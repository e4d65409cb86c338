package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/cli"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli.Main(append([]string{"salama"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// auditLog opens the SQLite database in dir and its audit log, signed by
// the data directory's signing key (made if missing), as a server would.
func auditLog(t *testing.T, dir string) (*store.Store, *seal.SigningKey, *audit.Log) {
	t.Helper()
	st, err := store.Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := seal.LoadOrCreateSigningKey(dir, "")
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st, key, audit.New(st, key, nil)
}

func TestAuditVerify(t *testing.T) {
	for _, v := range []string{"SALAMA_SIGNING_KEY", "SALAMA_DATA", "SALAMA_DATABASE"} {
		t.Setenv(v, "")
	}
	ctx := context.Background()
	dir := t.TempDir()

	// Nothing to verify yet: refuse, and create neither a key nor a database.
	if code, _, stderr := run("audit", "verify", "--data", dir); code != 1 || !strings.Contains(stderr, "signing key") {
		t.Fatalf("no key: exit %d, %q", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("verify without a key left %d files in the data directory", len(entries))
	}

	st, key, log := auditLog(t, dir)
	for _, ev := range []audit.Event{
		{Actor: audit.UserActor("u1"), Action: audit.LoginOK, Detail: "method=totp"},
		{Actor: audit.UserActor("u1"), Action: audit.ReportRead, ReportID: "r1"},
		{Actor: audit.UserActor("u1"), Action: audit.StatusChanged, ReportID: "r1", Detail: "status=new→in_review"},
	} {
		if err := log.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	code, stdout, stderr := run("audit", "verify", "--data", dir)
	if code != 0 || !strings.HasPrefix(stdout, "audit log OK: 3 entries, head #3 ") || !strings.Contains(stdout, key.Public().String()) {
		t.Fatalf("clean log: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}

	// Someone with the database but not the key edits entry 2.
	raw, err := sql.Open("sqlite", filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET detail = 'fields=none' WHERE seq = 2`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	code, stdout, stderr = run("audit", "verify", "--data", dir)
	if code != 1 || !strings.Contains(stderr, "entry #2 edited") || strings.Contains(stdout, "OK") {
		t.Fatalf("edited log: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
}

// TestAuditVerifyPostgres verifies a PostgreSQL log named by --database,
// with the key in the environment as a multi-instance deployment keeps it.
func TestAuditVerifyPostgres(t *testing.T) {
	db := storetest.NewDB(t, store.Postgres)
	seed := strings.Repeat("ab", 32)
	key, err := seal.LoadSigningKey("", seed)
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(db.Open(t), key, nil)
	for range 3 {
		if err := log.Record(t.Context(), audit.Event{Actor: audit.ActorSystem, Action: audit.ReportPurged, ReportID: "r1"}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SALAMA_DATA", "")
	t.Setenv("SALAMA_SIGNING_KEY", seed)
	if code, stdout, stderr := run("audit", "verify", "--database", db.DSN); code != 0 || !strings.HasPrefix(stdout, "audit log OK: 3 entries, head #3 ") {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	t.Setenv("SALAMA_SIGNING_KEY", strings.Repeat("cd", 32))
	if code, _, stderr := run("audit", "verify", "--database", db.DSN); code != 1 || !strings.Contains(stderr, "entry #1 has a bad signature") {
		t.Fatalf("another key: exit %d, %q", code, stderr)
	}
}

func TestAuditUsage(t *testing.T) {
	for _, args := range [][]string{{"audit"}, {"audit", "check"}} {
		if code, _, stderr := run(args...); code == 0 || !strings.Contains(stderr, "salama audit verify") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
	if code, _, stderr := run("audit", "verify", "--help"); code != 0 || !strings.Contains(stderr, "head") || !strings.Contains(stderr, "-data") {
		t.Errorf("verify --help: exit %d, %q", code, stderr)
	}
	if code, _, stderr := run("audit", "--help"); code != 0 || !strings.Contains(stderr, "salama audit verify") {
		t.Errorf("audit --help: exit %d, %q", code, stderr)
	}
	dir := t.TempDir()
	t.Setenv("SALAMA_SIGNING_KEY", strings.Repeat("ab", 32))
	if code, _, stderr := run("audit", "verify", "--data", dir); code != 1 || !strings.Contains(stderr, "no database") {
		t.Errorf("no database: exit %d, %q", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("verify without a database created %d files", len(entries))
	}
}
