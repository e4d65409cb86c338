package app_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/health"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/testkit"
)

// TestStartWarnings: at start the log says once, as a warning, what a
// deployment should not go on without: a backup (never taken, or older than
// a week), and --ussd-code when SMS is on. Each start says it again; a put-
// right start says nothing.
func TestStartWarnings(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	const noBackup, oldBackup, noCode = "no backup has ever been taken", "the last backup is more than a week old", "SMS is on but no --ussd-code is set"
	start := func(gw app.GatewayOptions, demo bool) string {
		t.Helper()
		logs := &testkit.LogBuffer{}
		a, err := app.New(context.Background(), app.Options{DataDir: dir, KDFParams: seal.TestKDFParams, Demo: demo, Gateway: gw,
			Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		return logs.String()
	}
	once := func(logs, what string, want bool) {
		t.Helper()
		n := 0
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, what) {
				n++
				if !strings.Contains(line, `"level":"WARN"`) {
					t.Errorf("%q is not a warning: %s", what, line)
				}
			}
		}
		if want && n != 1 || !want && n != 0 {
			t.Errorf("%q said %d times, want it %v once:\n%s", what, n, want, logs)
		}
	}
	token := "0123456789abcdef0123456789abcdef"

	logs := start(app.GatewayOptions{}, true)
	once(logs, noBackup, true)
	once(logs, noCode, false) // SMS off: only logged, no callbacks
	record := func(at time.Time) {
		st := storeOf(t, dir)
		if err := health.RecordBackup(t.Context(), st, at); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	record(now.Add(-9 * 24 * time.Hour))
	logs = start(app.GatewayOptions{Token: token}, false)
	once(logs, oldBackup, true)
	once(logs, noBackup, false)
	once(logs, noCode, true)

	record(now.Add(-2 * 24 * time.Hour))
	logs = start(app.GatewayOptions{Token: token, USSDCode: "*384*123#"}, false)
	once(logs, oldBackup, false)
	once(logs, noBackup, false)
	once(logs, noCode, false)
}

// storeOf opens the SQLite database in dir, as salama backup does.
func storeOf(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.OpenAsIs(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
