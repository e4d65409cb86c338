package ussd_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/casework/caseworktest"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// receiptRow reads a report's receipt row.
func (g *gateway) receiptRow(reportID string) (lookup []byte, version int, n int) {
	g.t.Helper()
	db := caseworktest.WriteDB(g.t, g.env.App, g.env.DB)
	defer db.Close()
	rows, err := db.Query(`SELECT lookup, version FROM receipts WHERE report_id = $1`, reportID)
	if err != nil {
		g.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		n++
		if err := rows.Scan(&lookup, &version); err != nil {
			g.t.Fatal(err)
		}
	}
	return lookup, version, n
}

// A receipt from before the current derivation checks a report on a
// feature phone as it did, and that check upgrades its row like a web login.
func TestUSSDOldReceiptUpgraded(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		c := g.dial("+254711000222")
		for _, in := range []string{"1", "1", "3", "Nakuru", "2", "4"} {
			c.press(in)
		}
		typed := receiptRE.FindString(c.press("1"))
		receipt, err := seal.ParseReceipt(typed)
		if err != nil {
			t.Fatalf("no receipt: %v", err)
		}
		id := g.env.ReportOfReceipt(typed)
		old := caseworktest.DowngradeReceipt(t, g.env.App, db, receipt)

		c = g.dial("+254711000222")
		c.press("2")
		if s := c.press(typed); strings.HasPrefix(s, "END") || !strings.Contains(s, "received") {
			t.Fatalf("an old receipt does not check its report:\n%s", s)
		}
		lookup, version, n := g.receiptRow(id)
		if n != 1 || version != int(seal.CurrentReceiptVersion) || bytes.Equal(lookup, old) {
			t.Fatalf("after the check: %d rows, version %d", n, version)
		}
		ring, err := caseworktest.Receipts(t, g.env.App).Keys(t.Context(), receipt)
		if err != nil {
			t.Fatal(err)
		}
		defer ring.Destroy()
		if !bytes.Equal(lookup, ring.Current().Lookup) {
			t.Error("the upgraded row is not under the current lookup key")
		}
	})
}
