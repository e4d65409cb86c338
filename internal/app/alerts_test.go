package app_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

// TestWarnsOrganisationWithoutAlertContact: at start, each organisation
// nobody would be alerted for is named once in the log; the demo's, which
// have example addresses, are not.
func TestWarnsOrganisationWithoutAlertContact(t *testing.T) {
	db := storetest.NewDB(t, store.SQLite)
	e := apptest.New(t, db)
	if strings.Contains(e.Logs.String(), "no alert contact") {
		t.Fatalf("warned about the demo's organisations, which have example alert addresses:\n%s", e.Logs.String())
	}
	child := e.ChildOrg()
	cs, err := e.App.Alerts.Contacts(e.Ctx(), child.Org.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if err := e.App.Alerts.RemoveContact(e.Ctx(), audit.ActorSystem, child.Org.ID, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	e.App.Close()

	// A restart, as the operator's next `salama serve`.
	logs := &testkit.LogBuffer{}
	a, err := app.New(context.Background(), app.Options{DataDir: e.DataDir, Database: db.DSN, KDFParams: seal.TestKDFParams,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var warned []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "no alert contact") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], child.Org.ID) || !strings.Contains(warned[0], `"level":"WARN"`) {
		t.Errorf("warnings %q, want one naming %s", warned, child.Org.ID)
	}
}
