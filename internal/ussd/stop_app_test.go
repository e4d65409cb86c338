package ussd_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/sms"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// Through the real callbacks: a survivor who chose SMS contact texts STOP.
// She gets one confirmation; a caseworker's next message nudges nobody (the
// thread says why); the number is nowhere in the database. START undoes it.
func TestUSSDStopEndsNudges(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		ctx := context.Background()
		const phone = "+254733444666"
		_, receipt := g.childReportWithSMS(phone)
		id := g.env.ReportOfReceipt(receipt)
		p := g.env.Principal("demo-child-caseworker")
		defer p.Close()
		runJobs := func() {
			t.Helper()
			g.env.Clock.Add(2 * time.Second)
			if _, err := g.env.App.Jobs.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		text := func(body string) {
			t.Helper()
			n++
			status, _ := g.post("/gw/"+gatewayToken+"/sms", url.Values{"from": {"0733444666"}, "to": {"22384"},
				"text": {body}, "date": {"2026-03-12"}, "id": {"stop-" + string(rune('a'+n))}, "linkId": {"x"}})
			if status != 200 {
				t.Fatalf("SMS %q: HTTP %d", body, status)
			}
			runJobs()
		}
		// Every SMS to the survivor's number (WithoutAlerts would leave
		// out the confirmations, which begin like staff alerts).
		toPhone := func() []string { return g.sms.To(phone) }

		text("STOP")
		text("stop")
		if got := toPhone(); len(got) != 1 || !strings.Contains(got[0], "Send START") || !strings.Contains(got[0], "Tuma ANZA") {
			t.Fatalf("after STOP twice, to the phone: %q", got)
		}
		if err := g.env.App.Casework.SendMessage(ctx, p, id, "Tuko hapa kukusaidia."); err != nil {
			t.Fatal(err)
		}
		runJobs()
		if got := toPhone(); len(got) != 1 {
			t.Errorf("a nudge went to a number that texted STOP: %q", got)
		}
		nudges, err := g.env.App.Store.Nudges(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(nudges) != 1 || nudges[0].State != store.NudgeFailed || nudges[0].Failure != sms.FailStopped {
			t.Errorf("nudges %+v", nudges)
		}
		for _, needle := range []string{phone, "733444666"} {
			if g.contains(needle) {
				t.Errorf("the database holds %q", needle)
			}
		}

		text("Anza")
		if got := toPhone(); len(got) != 2 || !strings.Contains(got[1], "Tuma ACHA") {
			t.Fatalf("after ANZA: %q", got)
		}
		if err := g.env.App.Casework.SendMessage(ctx, p, id, "Tupigie simu ukiwa tayari."); err != nil {
			t.Fatal(err)
		}
		runJobs()
		if got := toPhone(); len(got) != 3 || !strings.Contains(got[2], "*384*123#") {
			t.Errorf("after ANZA, the nudge: %q", got)
		}
	})
}
