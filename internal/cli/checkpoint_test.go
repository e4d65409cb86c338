package cli_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Issue 12 (lower): removing the newest audit entries left a shorter,
// valid chain that `salama audit verify` accepted. Now a signed checkpoint
// in the data directory (and any copy the operator kept) catches it, and
// also a tail cut back and written again.
func TestAuditVerifyDetectsATruncatedTail(t *testing.T) {
	clearEnv(t)
	ctx := t.Context()
	dir := t.TempDir()
	st, _, log := auditLog(t, dir)
	record := func(n int) {
		for range n {
			if err := log.Record(ctx, audit.Event{Actor: audit.UserActor("u1"), Action: audit.ReportRead, ReportID: "r1", Detail: "fields=narrative"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	record(5)

	code, stdout, stderr := run("audit", "verify", "--data", dir)
	if code != 0 || !strings.Contains(stdout, "no checkpoint to check") || !regexp.MustCompile(`checkpoint now #5 [0-9a-f]{64}, written to `).MatchString(stdout) {
		t.Fatalf("first verify: exit %d\n%s%s", code, stdout, stderr)
	}
	cpPath := filepath.Join(dir, audit.CheckpointFile)
	if fi, err := os.Stat(cpPath); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("checkpoint file: %v %v", fi, err)
	}
	// The operator keeps a copy elsewhere.
	kept := filepath.Join(t.TempDir(), "kept.checkpoint")
	b, _ := os.ReadFile(cpPath)
	os.WriteFile(kept, b, 0o600)

	record(2)
	if code, stdout, _ := run("audit", "verify", "--data", dir); code != 0 || !strings.Contains(stdout, "checkpoint #5 ") || !strings.Contains(stdout, "checkpoint now #7 ") {
		t.Fatalf("verify after more entries: exit %d\n%s", code, stdout)
	}

	// Someone with the database removes the two newest entries.
	raw, err := sql.Open("sqlite", filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE seq > 5`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr = run("audit", "verify", "--data", dir)
	if code != 1 || !strings.Contains(stderr, "truncated") || !strings.Contains(stderr, "#7") || strings.Contains(stdout, "OK") {
		t.Fatalf("truncated log: exit %d\n%s%s", code, stdout, stderr)
	}
	if b2, _ := os.ReadFile(cpPath); string(b2) != string(b) && !strings.Contains(string(b2), "seq 7") {
		t.Error("the failed verify moved the checkpoint back")
	}

	// Cut back and written again, by the program itself, which holds the
	// key: the entry the checkpoint names now has another hash.
	for range 3 {
		if err := log.Record(ctx, audit.Event{Actor: audit.UserActor("u2"), Action: audit.ReportRead, ReportID: "r2", Detail: "fields=contact"}); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, stderr := run("audit", "verify", "--data", dir); code != 1 || !strings.Contains(stderr, "entry #7 is not the one a signed checkpoint recorded") {
		t.Fatalf("rewritten tail: exit %d\n%s", code, stderr)
	}
	// Someone who holds the key as well rewrites the data directory's
	// checkpoint; the copy kept elsewhere still catches the older cut.
	if _, err := raw.Exec(`DELETE FROM audit_log WHERE seq > 4`); err != nil {
		t.Fatal(err)
	}
	os.Remove(cpPath)
	if code, _, stderr := run("audit", "verify", "--data", dir, "--checkpoint", kept); code != 1 || !strings.Contains(stderr, "truncated") {
		t.Errorf("with the kept checkpoint: exit %d\n%s", code, stderr)
	}
	// A checkpoint signed by another key proves nothing.
	other := audit.SignCheckpoint(seal.NewSigningKeyForTest(), 1, make([]byte, 32), time.Now())
	text, _ := other.MarshalText()
	forged := filepath.Join(t.TempDir(), "forged")
	os.WriteFile(forged, text, 0o600)
	if code, _, stderr := run("audit", "verify", "--data", dir, "--checkpoint", forged); code != 1 || !strings.Contains(stderr, "not a key of this log") {
		t.Errorf("a checkpoint by another key: exit %d\n%s", code, stderr)
	}
	st.Close()
}
