package cli_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/totp"
)

// TestOrgRotateKey: `salama org rotate-key` replaces an organisation's key
// pair with its recovery code, re-wraps every report before it returns, and
// afterwards the members read everything with the new key, which the old
// one cannot open.
func TestOrgRotateKey(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		clearEnv(t)
		t.Setenv("SALAMA_RECOVERY_CODE", "")
		ctx := context.Background()
		dir := db.DataDir
		if dir == "" {
			dir = t.TempDir()
		}
		open := func() *app.App {
			a, err := app.New(ctx, app.Options{DataDir: dir, Database: db.DSN, KDFParams: seal.TestKDFParams, Demo: true,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		a := open()
		intake := a.Demo.Orgs[0]
		for _, o := range a.Demo.Orgs {
			if o.Org.Intake {
				intake = o
			}
		}
		acc := a.Demo.Accounts[0]
		for _, x := range a.Demo.Accounts {
			if x.Username == "demo-caseworker" {
				acc = x
			}
		}
		login := func(a *app.App, step int) (*staff.Principal, error) {
			cookie, err := a.Staff.Login(ctx, acc.Username, acc.Password, totp.Code(acc.TOTP, time.Now().Add(time.Duration(step)*totp.Period)))
			if err != nil {
				return nil, err
			}
			return a.Staff.Session(ctx, cookie)
		}
		p, err := login(a, 0)
		if err != nil {
			t.Fatal(err)
		}
		page, err := a.Casework.Inbox(ctx, p, "new", "", "", "", 50)
		if err != nil || len(page.Reports) == 0 {
			t.Fatalf("inbox: %v", err)
		}
		a.Close()

		// A wrong code changes nothing.
		t.Setenv("SALAMA_RECOVERY_CODE", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
		if code, _, stderr := run("org", "rotate-key", "--org", intake.Org.ID, "--data", dir, "--database", db.DSN); code != 1 || !strings.Contains(stderr, "wrong organisation id or recovery code") {
			t.Fatalf("wrong recovery code: exit %d %q", code, stderr)
		}
		t.Setenv("SALAMA_RECOVERY_CODE", intake.RecoveryCode)
		code, stdout, stderr := run("org", "rotate-key", "--org", intake.Org.ID, "--data", dir, "--database", db.DSN)
		if code != 0 || !strings.Contains(stdout, "new key pair (generation 2)") || !strings.Contains(stdout, "Done:") {
			t.Fatalf("rotate-key: exit %d\n%s\n%s", code, stdout, stderr)
		}

		a = open()
		defer a.Close()
		if _, err := a.Staff.Session(ctx, "x"); !errors.Is(err, casework.ErrNoSession) {
			t.Fatal(err)
		}
		p, err = login(a, 1)
		if err != nil {
			t.Fatalf("login after the rotation: %v", err)
		}
		for _, r := range page.Reports {
			if _, err := a.Casework.Open(ctx, p, r.ID); err != nil {
				t.Errorf("report %s after the rotation: %v", r.ID, err)
			}
			if _, gen, _ := a.Store.ReportWrap(ctx, r.ID, "org:"+intake.Org.ID); gen != 2 {
				t.Errorf("report %s wrapped to generation %d", r.ID, gen)
			}
		}
		if n, _ := a.Store.CountStaleReportWraps(ctx, "org:"+intake.Org.ID, 2); n != 0 {
			t.Errorf("%d report keys left on the old key", n)
		}
		// The recovery code still works, for the new key.
		if code, stdout, stderr := run("org", "rotate-key", "--org", intake.Org.ID, "--data", dir, "--database", db.DSN); code != 0 || !strings.Contains(stdout, "generation 3") {
			t.Errorf("a second rotation: exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
}
