package casework_test

import (
	"testing"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

// A caseworker's reply nudges by SMS only a survivor who chose SMS contact,
// and the nudge goes to the number they typed, in the network's wording,
// from a background job.
func TestReplyNudgesOnlyThoseWhoChoseSMS(t *testing.T) {
	rec := &testkit.SMSRecorder{}
	e := apptest.New(t, storetest.NewDB(t, store.SQLite), func(o *app.Options) {
		o.Gateway = app.GatewayOptions{SMS: rec, USSDCode: "*384*123#"}
	})
	run := func() {
		t.Helper()
		if _, err := e.App.Jobs.RunDue(e.Ctx()); err != nil {
			t.Fatal(err)
		}
	}
	withPhone := e.Submit(apptest.Report(func(in *reporting.Input) {
		in.ContactPref, in.Phone, in.SafeTimes = "phone", "0722 111 999", "evenings"
	}))
	codeOnly := e.Submit(apptest.Report(nil))
	p := e.Principal("demo-caseworker")
	if err := e.App.Casework.SendMessage(e.Ctx(), p, codeOnly.Report.ID, "Habari, tuko hapa."); err != nil {
		t.Fatal(err)
	}
	run()
	if sent := rec.WithoutAlerts(); len(sent) != 0 {
		t.Fatalf("nudged a survivor who chose contact through their code only: %v", sent)
	}
	if err := e.App.Casework.SendMessage(e.Ctx(), p, withPhone.Report.ID, "Habari, tuko hapa."); err != nil {
		t.Fatal(err)
	}
	if sent := rec.WithoutAlerts(); len(sent) != 0 {
		t.Fatal("the nudge was sent inside the caseworker's request")
	}
	run()
	if sent := rec.WithoutAlerts(); len(sent) != 1 || sent[0].To != "+254722111999" || sent[0].Text != e.App.Nudger.Text() {
		t.Errorf("nudges sent: %v, want the survivor's number once", sent)
	}
}
