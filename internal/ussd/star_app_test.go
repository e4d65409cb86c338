package ussd_test

import (
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/store/storetest"
)

// Through the real callback: a county typed as "Homa*Bay" (the gateway
// joins answers with '*') used to send the caller back to the main menu
// and lose her answers. Now the report goes through with Homa Bay, and a
// receipt typed with '*' between its groups opens it.
func TestUSSDStarInsideAnswers(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		c := g.dial("+254700000601")
		c.press("1")
		c.press("1")
		c.press("3")
		if s := c.press("Homa*Bay"); !strings.Contains(s, "danger") || strings.Contains(s, "start again") {
			t.Fatalf("after Homa*Bay:\n%s", s)
		}
		c.press("2")
		c.press("4")
		end := c.press("1")
		receipt := receiptRE.FindString(end)
		if receipt == "" {
			t.Fatalf("receipt screen:\n%s", end)
		}
		r, err := g.env.App.Store.Report(g.env.Ctx(), g.env.ReportOfReceipt(receipt))
		if err != nil {
			t.Fatal(err)
		}
		if r.County != "homa-bay" || r.About != "me" || r.DangerNow != "no" {
			t.Errorf("stored county %q, about %q, danger %q", r.County, r.About, r.DangerNow)
		}
		c = g.dial("+254700000601")
		c.press("2")
		if s := c.press(strings.ReplaceAll(receipt, " ", "*")); !strings.Contains(s, "Your report:") {
			t.Errorf("a receipt typed with '*':\n%s", s)
		}
	})
}
