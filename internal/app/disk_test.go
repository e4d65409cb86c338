package app_test

import (
	"database/sql"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/testkit"
	"github.com/salama-ke/salama/internal/web"
)

// Issue 17 (8): with less free disk under the data directory than
// --min-free-disk, the server warns at start, /healthz says so, and a new
// report is refused with a page in the survivor's language that keeps
// every word; a survivor with a receipt still logs in and reads.
func TestLowDiskRefusesNewReportsKeepsTheRest(t *testing.T) {
	dataDir := t.TempDir()
	// First with room: a report whose receipt is used below.
	roomy := newInstance(t, "roomy", "", dataDir)
	u := newUser(t)
	form := u.get(roomy, "/en/report", http.StatusOK)
	received := u.post(roomy, "/en/report", url.Values{"token": {match(t, tokenRE, form)}, "about": {"me"}, "narrative": {"Stored while there was room."},
		"contact": {"code"}, "share": {"ask"}, "send": {"1"}}, http.StatusOK)
	receipt := match(t, receiptRE, received)

	// Then with a threshold no disk reaches.
	var logs testkit.LogBuffer
	a, err := app.New(t.Context(), app.Options{DataDir: dataDir, KDFParams: seal.TestKDFParams, Web: web.DefaultConfig(),
		MinFreeDisk: 1 << 62, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	full := &instance{name: "full", app: a, url: srv.URL}
	before := countReports(t, a)
	if !strings.Contains(logs.String(), "disk space low") || !strings.Contains(logs.String(), dataDir) {
		t.Errorf("no warning at start:\n%s", logs.String())
	}
	if body := u.get(full, "/healthz", http.StatusOK); !strings.HasPrefix(body, "degraded") || strings.Contains(body, dataDir) {
		t.Errorf("/healthz: %q", body)
	}

	for _, l := range []locale.Lang{locale.English, locale.Kiswahili} {
		p := a.Catalog.Printer(l)
		s := newUser(t)
		form := s.get(full, "/"+string(l)+"/report", http.StatusOK)
		narrative := "Alinitumia ujumbe wa vitisho jana usiku & I typed this once."
		page := s.post(full, "/"+string(l)+"/report", url.Values{"token": {match(t, tokenRE, form)}, "about": {"me"}, "what": {"sextortion"},
			"narrative": {narrative}, "contact": {"phone"}, "phone": {"0712 345 678"}, "share": {"ask"}, "send": {"1"}}, http.StatusServiceUnavailable)
		if !strings.Contains(page, html.EscapeString(p.T("problem.disk_low"))) {
			t.Errorf("%s: the page does not say why (%q)", l, p.T("problem.disk_low"))
		}
		for _, words := range []string{narrative, "0712 345 678"} {
			if !strings.Contains(page, html.EscapeString(words)) {
				t.Errorf("%s: the form came back without %q", l, words)
			}
		}
		if strings.Contains(page, `class="receipt"`) {
			t.Errorf("%s: a receipt for a refused report", l)
		}
	}
	if n := countReports(t, a); n != before {
		t.Errorf("%d reports stored while the disk was low", n-before)
	}

	// Checking a report still works.
	u.logIn(full, "en", receipt)
	if thread := u.get(full, "/en/check/report", web.StatusReport); !strings.Contains(thread, "Stored while there was room.") {
		t.Error("a receipt login does not show the report while the disk is low")
	}
}

func countReports(t *testing.T, a *app.App) int {
	t.Helper()
	var n int
	if err := a.Store.Tx(t.Context(), func(tx *sql.Tx) error {
		return tx.QueryRowContext(t.Context(), `SELECT count(*) FROM reports`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
