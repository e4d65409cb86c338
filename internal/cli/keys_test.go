package cli_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// openApp starts the app as `salama serve` does, on dir (and database).
func openApp(t *testing.T, dir, database string) (*app.App, error) {
	t.Helper()
	return app.New(t.Context(), app.Options{DataDir: dir, Database: database, KDFParams: seal.TestKDFParams,
		NetworkSecret: os.Getenv("SALAMA_NETWORK_SECRET"), SigningKey: os.Getenv("SALAMA_SIGNING_KEY"), // as the command line passes them
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func mustApp(t *testing.T, dir, database string) *app.App {
	t.Helper()
	a, err := openApp(t, dir, database)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// reportNaming stores a report that names phone and agrees to matching,
// and returns its id.
func reportNaming(t *testing.T, a *app.App, phone string) string {
	t.Helper()
	in := reporting.NewInput(reporting.KindReport)
	in.About, in.What, in.Narrative, in.AllowMatch = "me", []string{"sextortion"}, "He sends threats from this number.", true
	in.Identifiers = []reporting.Identifier{{Type: "phone", Value: phone}}
	in.Token = a.Reporting.NewToken()
	sub, err := a.Reporting.Submit(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return sub.Report.ID
}

func phoneMatches(t *testing.T, a *app.App, reportID string) int {
	t.Helper()
	ms, err := a.Store.Matches(t.Context(), reportID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Kind == "phone" {
			return m.Reports
		}
	}
	return -1
}

// serve runs `salama serve` on dir; with a key problem it returns at once.
func serve(t *testing.T, dir, database string) (int, string) {
	t.Helper()
	args := []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}
	if database != "" {
		args = append(args, "--database", database)
	}
	done := make(chan struct{})
	var code int
	var stderr string
	go func() {
		defer close(done)
		code, _, stderr = run(args...)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("salama serve started instead of refusing")
	}
	return code, stderr
}

func engines(t *testing.T, fn func(t *testing.T, dir, database string)) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := storetest.NewDB(t, engine)
			dir := db.DataDir
			if dir == "" {
				dir = t.TempDir()
			}
			fn(t, dir, db.DSN)
		})
	}
}

// Issue 17 (5): a deleted network.secret or signing.key was replaced
// silently at the next start. Now `salama serve` refuses, says which key
// is missing and how to restore it, creates nothing, and a key from another
// deployment is refused too.
func TestServeRefusesMissingOrOtherKeys(t *testing.T) {
	clearEnv(t)
	engines(t, func(t *testing.T, dir, database string) {
		demoNetwork(t, dir, database, time.Now)
		for _, k := range []struct{ file, missing, other string }{
			{seal.NetworkSecretFile, "the network secret is missing", "network secret in"},
			{seal.SigningKeyFile, "the signing key is missing", "signing key in"},
		} {
			path := filepath.Join(dir, k.file)
			saved, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(path)
			code, stderr := serve(t, dir, database)
			if code != 1 {
				t.Fatalf("%s deleted: exit %d\n%s", k.file, code, stderr)
			}
			for _, want := range []string{k.missing, path, "restore --secrets-only", "Lost keys"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("%s deleted: the message lacks %q:\n%s", k.file, want, stderr)
				}
			}
			if _, err := os.Stat(path); err == nil {
				t.Errorf("%s deleted: a new one was created", k.file)
			}
			// Another deployment's key (a fresh random one).
			os.WriteFile(path, []byte(strings.Repeat("7e", 32)+"\n"), 0o600)
			if code, stderr := serve(t, dir, database); code != 1 || !strings.Contains(stderr, k.other) || !strings.Contains(stderr, "is not the one this database") {
				t.Errorf("%s replaced: exit %d\n%s", k.file, code, stderr)
			}
			os.WriteFile(path, saved, 0o600)
		}
		a := mustApp(t, dir, database)
		a.Close()
	})
}

// A lost key file comes back from a backup made with --include-secrets,
// without touching the database.
func TestRestoreSecretsOnly(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	demoNetwork(t, dir, "", time.Now)
	keyFile := filepath.Join(t.TempDir(), "k.txt")
	_, stdout, _ := run("backup", "keygen", "--out", keyFile, "--classic")
	pub := regexp.MustCompile(`age1[0-9a-z]+`).FindString(stdout)
	full := filepath.Join(t.TempDir(), "full.age")
	plain := filepath.Join(t.TempDir(), "plain.age")
	if code, _, stderr := run("backup", "--data", dir, "--to", full, "--recipient", pub, "--include-secrets"); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := run("backup", "--data", dir, "--to", plain, "--recipient", pub); code != 0 {
		t.Fatal(stderr)
	}
	os.Remove(filepath.Join(dir, seal.NetworkSecretFile))
	if code, _, stderr := run("restore", "--secrets-only", "--from", plain, "--identity", keyFile, "--data", dir); code != 1 || !strings.Contains(stderr, "--include-secrets") {
		t.Errorf("secrets from a backup without them: exit %d, %s", code, stderr)
	}
	code, stdout, stderr := run("restore", "--secrets-only", "--from", full, "--identity", keyFile, "--data", dir)
	if code != 0 || !strings.Contains(stdout, "Wrote "+filepath.Join(dir, seal.NetworkSecretFile)) || strings.Contains(stdout, seal.SigningKeyFile) {
		t.Fatalf("restore --secrets-only: exit %d\n%s%s", code, stdout, stderr)
	}
	mustApp(t, dir, "").Close()
}

// Issue 17 (5): a deliberate rotation of the network secret re-keys the
// blind index, so a number reported before the rotation is matched by a
// report after it; the old secret no longer starts the server; the audit
// log records the rotation and still verifies.
func TestRotateNetworkSecretKeepsMatching(t *testing.T) {
	clearEnv(t)
	engines(t, func(t *testing.T, dir, database string) {
		receipts := demoNetwork(t, dir, database, time.Now)
		a := mustApp(t, dir, database)
		before := reportNaming(t, a, "0712 345 678")
		other := reportNaming(t, a, "0799 000 111")
		a.Close()
		blinds := blindIndex(t, dir, database)
		oldSecret, _ := os.ReadFile(filepath.Join(dir, seal.NetworkSecretFile))

		code, stdout, stderr := run(keysArgs(dir, database, "--network-secret")...)
		if code != 0 || !regexp.MustCompile(`\b[1-9]\d* blind index rows re-keyed`).MatchString(stdout) {
			t.Fatalf("rotate: exit %d\n%s%s", code, stdout, stderr)
		}
		rotated := blindIndex(t, dir, database)
		if len(rotated) != len(blinds) {
			t.Errorf("%d blind index rows before the rotation, %d after", len(blinds), len(rotated))
		}
		for row, b := range rotated {
			if old, ok := blinds[row]; !ok || old == b {
				t.Errorf("%s: blind index missing before or unchanged by the rotation", row)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "network.secret.next")); err == nil {
			t.Error("network.secret.next left behind")
		}

		a = mustApp(t, dir, database)
		// Receipts issued under the old secret still open (and are
		// upgraded to the new one on the way).
		for _, r := range receipts {
			rc, _ := seal.ParseReceipt(r)
			for range 2 {
				if _, err := a.Reporting.LogIn(t.Context(), rc); err != nil {
					t.Errorf("a receipt issued before the rotation: %v", err)
				}
			}
		}
		after := reportNaming(t, a, "+254712345678")
		if n := phoneMatches(t, a, after); n != 1 {
			t.Errorf("the report after the rotation matches %d reports, want the one before it", n)
		}
		if n := phoneMatches(t, a, before); n != 1 {
			t.Errorf("the report before the rotation matches %d reports, want the one after it", n)
		}
		if n := phoneMatches(t, a, other); n != 0 {
			t.Errorf("another number matches %d reports", n)
		}
		a.Close()
		// Twice: the earlier generations survive a second rotation.
		if code, stdout, stderr := run(keysArgs(dir, database, "--network-secret")...); code != 0 {
			t.Fatalf("second rotation: exit %d\n%s%s", code, stdout, stderr)
		}
		a = mustApp(t, dir, database)
		for _, r := range receipts[:1] {
			rc, _ := seal.ParseReceipt(r)
			if _, err := a.Reporting.LogIn(t.Context(), rc); err != nil {
				t.Errorf("a receipt after two rotations: %v", err)
			}
		}
		third := reportNaming(t, a, "254 712 345678")
		if n := phoneMatches(t, a, third); n != 2 {
			t.Errorf("after two rotations the number matches %d reports, want 2", n)
		}
		a.Close()

		os.WriteFile(filepath.Join(dir, seal.NetworkSecretFile), oldSecret, 0o600)
		if code, stderr := serve(t, dir, database); code != 1 || !strings.Contains(stderr, "is not the one this database") {
			t.Errorf("the old secret after the rotation: exit %d\n%s", code, stderr)
		}
		os.Remove(filepath.Join(dir, seal.NetworkSecretFile))
		if code, stdout, stderr := run(auditArgs(dir, database)...); code != 0 {
			t.Errorf("audit verify after rotations: exit %d\n%s%s", code, stdout, stderr)
		}
		if n := countAudit(t, dir, database, string(audit.NetworkSecretRotated)); n != 2 {
			t.Errorf("%d rotation entries, want 2", n)
		}
	})
}

// Issue 17 (5): a signing key rotation is an audit entry signed by the new
// key; `salama audit verify` accepts the change there, entries on both
// sides verify, and the old key no longer verifies the log.
func TestRotateSigningKeyAuditVerifies(t *testing.T) {
	clearEnv(t)
	engines(t, func(t *testing.T, dir, database string) {
		demoNetwork(t, dir, database, time.Now)
		a := mustApp(t, dir, database)
		id := reportNaming(t, a, "0712 345 678")
		if err := a.Audit.Record(t.Context(), audit.Event{Actor: audit.ActorSystem, Action: audit.ReportEscalated, ReportID: id, Detail: "reason=unopened"}); err != nil {
			t.Fatal(err)
		}
		a.Close()
		oldKey, _ := os.ReadFile(filepath.Join(dir, seal.SigningKeyFile))
		_, oldPub, _ := run("signing-key", "--data", dir)

		code, stdout, stderr := run(keysArgs(dir, database, "--signing-key")...)
		if code != 0 || !strings.Contains(stdout, "Signing key rotated") || !strings.Contains(stdout, strings.TrimSpace(oldPub)) {
			t.Fatalf("rotate: exit %d\n%s%s", code, stdout, stderr)
		}
		_, newPub, _ := run("signing-key", "--data", dir)
		if newPub == oldPub {
			t.Fatal("the signing key did not change")
		}

		a = mustApp(t, dir, database)
		if err := a.Audit.Record(t.Context(), audit.Event{Actor: audit.ActorSystem, Action: audit.ReportEscalated, ReportID: id, Detail: "reason=unopened"}); err != nil {
			t.Fatal(err)
		}
		// A report's trail spans both keys (the console and evidence
		// bundles read it so).
		if es, err := a.Audit.ForReport(t.Context(), id); err != nil || len(es) < 2 {
			t.Errorf("the report's audit trail across the rotation: %d entries, %v", len(es), err)
		}
		a.Close()

		code, stdout, stderr = run(auditArgs(dir, database)...)
		if code != 0 || !strings.Contains(stdout, "audit log OK") || !strings.Contains(stdout, strings.TrimSpace(oldPub)+" for #1 to #") ||
			!strings.Contains(stdout, strings.TrimSpace(newPub)+" from #") {
			t.Fatalf("audit verify across the rotation: exit %d\n%s%s", code, stdout, stderr)
		}
		// With the old key the log is another deployment's.
		t.Setenv("SALAMA_SIGNING_KEY", strings.TrimSpace(string(oldKey)))
		if code, _, stderr := run(auditArgs(dir, database)...); code != 1 || !strings.Contains(stderr, "not by the key given") {
			t.Errorf("verify with the old key: exit %d, %s", code, stderr)
		}
		t.Setenv("SALAMA_SIGNING_KEY", "")

		// Someone who stole the old key and can write the database
		// appends an entry signed with it: it does not verify.
		st, err := store.Open(t.Context(), database, dir)
		if err != nil {
			t.Fatal(err)
		}
		stolen, _ := seal.LoadSigningKey("", strings.TrimSpace(string(oldKey)))
		if err := audit.New(st, stolen, nil).Record(t.Context(), audit.Event{Actor: audit.ActorSystem, Action: audit.ReportPurged, ReportID: id}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if code, _, stderr := run(auditArgs(dir, database)...); code != 1 || !strings.Contains(stderr, "bad signature") {
			t.Errorf("an entry signed with the old key after the rotation: exit %d, %s", code, stderr)
		}
	})
}

// A rotation interrupted after its transaction committed (the new key is
// still in KEY.next) is finished by the next start; one interrupted before
// leaves the old key working and its KEY.next is removed.
func TestInterruptedRotation(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	demoNetwork(t, dir, "", time.Now)
	path := filepath.Join(dir, seal.NetworkSecretFile)
	old, _ := os.ReadFile(path)
	if code, stdout, stderr := run(keysArgs(dir, "", "--network-secret")...); code != 0 {
		t.Fatalf("rotate: %s%s", stdout, stderr)
	}
	// As if the process had died before the rename.
	os.Rename(path, path+".next")
	os.WriteFile(path, old, 0o600)
	mustApp(t, dir, "").Close()
	if _, err := os.Stat(path + ".next"); err == nil {
		t.Error("network.secret.next is still there")
	}
	if b, _ := os.ReadFile(path); string(b) == string(old) {
		t.Error("the start did not finish the rotation")
	}
	// Died before the transaction: a stray next file with another key.
	os.WriteFile(path+".next", []byte(strings.Repeat("5a", 32)+"\n"), 0o600)
	mustApp(t, dir, "").Close()
	if _, err := os.Stat(path + ".next"); err == nil {
		t.Error("the stray network.secret.next is still there")
	}
}

// Keys from the environment: the rotation writes the new one to --out.
func TestRotateWithKeysFromTheEnvironment(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	secret, signing := strings.Repeat("1f", 32), strings.Repeat("2e", 32)
	t.Setenv("SALAMA_NETWORK_SECRET", secret)
	t.Setenv("SALAMA_SIGNING_KEY", signing)
	demoNetwork(t, dir, "", time.Now)
	if _, err := os.Stat(filepath.Join(dir, seal.NetworkSecretFile)); err == nil {
		t.Fatal("a network.secret file was created although the environment gives it")
	}
	if code, _, stderr := run(keysArgs(dir, "", "--network-secret")...); code != 1 || !strings.Contains(stderr, "--out") {
		t.Fatalf("without --out: exit %d, %s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "new.secret")
	if code, stdout, stderr := run(append(keysArgs(dir, "", "--network-secret"), "--out", out)...); code != 0 || !strings.Contains(stdout, out) {
		t.Fatalf("with --out: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := openApp(t, dir, ""); err == nil {
		t.Fatal("the old environment value still starts the server")
	}
	b, _ := os.ReadFile(out)
	t.Setenv("SALAMA_NETWORK_SECRET", strings.TrimSpace(string(b)))
	mustApp(t, dir, "").Close()
}

// Lost for good: the network secret is replaced without re-keying (old
// reports never match new ones), the signing key only against the key the
// operator published, and the audit log still verifies.
func TestLostKeys(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	demoNetwork(t, dir, "", time.Now)
	a := mustApp(t, dir, "")
	before := reportNaming(t, a, "0712 345 678")
	a.Close()
	_, pub, _ := run("signing-key", "--data", dir)

	if code, _, stderr := run(append(keysArgs(dir, "", "--network-secret"), "--lost")...); code != 1 || !strings.Contains(stderr, "matches the database") {
		t.Errorf("--lost with the key present: exit %d, %s", code, stderr)
	}
	os.Remove(filepath.Join(dir, seal.NetworkSecretFile))
	if code, stdout, stderr := run(append(keysArgs(dir, "", "--network-secret"), "--lost")...); code != 0 || !strings.Contains(stdout, "will not match") {
		t.Fatalf("--lost: exit %d\n%s%s", code, stdout, stderr)
	}
	a = mustApp(t, dir, "")
	after := reportNaming(t, a, "0712 345 678")
	if n := phoneMatches(t, a, after); n != 0 {
		t.Errorf("after losing the secret a new report matches %d old ones", n)
	}
	if n := phoneMatches(t, a, before); n != 0 {
		t.Errorf("the old report matches %d", n)
	}
	a.Close()

	os.Remove(filepath.Join(dir, seal.SigningKeyFile))
	if code, _, stderr := run(append(keysArgs(dir, "", "--signing-key"), "--lost")...); code != 1 || !strings.Contains(stderr, "--previous-key") {
		t.Errorf("--lost without --previous-key: exit %d, %s", code, stderr)
	}
	wrong := seal.NewSigningKeyForTest().Public().String()
	if code, _, stderr := run(append(keysArgs(dir, "", "--signing-key"), "--lost", "--previous-key", wrong)...); code != 1 || !strings.Contains(stderr, "not with the --previous-key") {
		t.Errorf("--lost with another previous key: exit %d, %s", code, stderr)
	}
	if code, stdout, stderr := run(append(keysArgs(dir, "", "--signing-key"), "--lost", "--previous-key", strings.TrimSpace(pub))...); code != 0 {
		t.Fatalf("--lost --signing-key: exit %d\n%s%s", code, stdout, stderr)
	}
	mustApp(t, dir, "").Close()
	if code, stdout, stderr := run("audit", "verify", "--data", dir); code != 0 || !strings.Contains(stdout, strings.TrimSpace(pub)+" for #1") {
		t.Errorf("audit verify after losing the signing key: exit %d\n%s%s", code, stdout, stderr)
	}
}

func keysArgs(dir, database string, which string) []string {
	args := []string{"keys", "rotate", which, "--data", dir}
	if database != "" {
		args = append(args, "--database", database)
	}
	return args
}

func auditArgs(dir, database string) []string {
	args := []string{"audit", "verify", "--data", dir}
	if database != "" {
		args = append(args, "--database", database)
	}
	return args
}

func rawDB(t *testing.T, dir, database string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if database == "" {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName)+"?mode=ro")
	} else {
		db, err = sql.Open("pgx", database)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// blindIndex maps each report and kind to its blind index values.
func blindIndex(t *testing.T, dir, database string) map[string]string {
	t.Helper()
	rows, err := rawDB(t, dir, database).QueryContext(context.Background(), `SELECT report_id, kind, blind FROM identifiers`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var r, k string
		var b []byte
		if err := rows.Scan(&r, &k, &b); err != nil {
			t.Fatal(err)
		}
		vs := strings.Split(out[r+" "+k], "|")
		vs = append(vs, string(b))
		slices.Sort(vs)
		out[r+" "+k] = strings.Join(vs, "|")
	}
	if len(out) == 0 {
		t.Fatal("no blind index rows")
	}
	return out
}

func countAudit(t *testing.T, dir, database, action string) int {
	t.Helper()
	var n int
	if err := rawDB(t, dir, database).QueryRow(`SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An organisation key rotation still re-wrapping reports holds the retired
// key sealed under the current network secret: the secret is not rotated
// until that job is done.
func TestRotateWaitsForTheOrgRekeyJob(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	demoNetwork(t, dir, "", time.Now)
	st, err := store.Open(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnqueueJob(t.Context(), store.NewJob{Kind: staff.JobOrgRekey, Payload: []byte(`{"org":"x"}`), RunAt: time.Now()}, time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if code, _, stderr := run(keysArgs(dir, "", "--network-secret")...); code != 1 || !strings.Contains(stderr, "let them finish") {
		t.Fatalf("rotation with a re-wrap job pending: exit %d, %s", code, stderr)
	}
}
