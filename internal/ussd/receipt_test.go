package ussd_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/app/apptest"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// receiptRow reads a report's receipt row.
func (g *gateway) receiptRow(reportID string) (lookup []byte, version int, n int) {
	g.t.Helper()
	db := apptest.WriteDB(g.t, g.env.App, g.env.DB)
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
		typed := receiptRE.FindString(c.reportForMe())
		receipt, err := seal.ParseReceipt(typed)
		if err != nil {
			t.Fatalf("no receipt: %v", err)
		}
		id := g.env.ReportOfReceipt(typed)
		old := apptest.DowngradeReceipt(t, g.env.App, db, receipt)

		c = g.dial("+254711000222")
		c.press("2")
		if s := c.press(typed); strings.HasPrefix(s, "END") || !strings.Contains(s, "received") {
			t.Fatalf("an old receipt does not check its report:\n%s", s)
		}
		lookup, version, n := g.receiptRow(id)
		if n != 1 || version != int(seal.CurrentReceiptVersion) || bytes.Equal(lookup, old) {
			t.Fatalf("after the check: %d rows, version %d", n, version)
		}
		ring, err := apptest.Receipts(t, g.env.App).Keys(t.Context(), receipt)
		if err != nil {
			t.Fatal(err)
		}
		defer ring.Destroy()
		if !bytes.Equal(lookup, ring.Current().Lookup) {
			t.Error("the upgraded row is not under the current lookup key")
		}
	})
}

// newReceipt files a report through the reporting service and returns its
// receipt as a survivor would type it.
func (g *gateway) newReceipt() string {
	g.t.Helper()
	return g.env.Submit(apptest.Report(nil)).Receipt.String()
}

// Receipt guessing on a feature phone is limited per phone number, in
// memory, through the real webhook: five codes, then "too many tries",
// in a new session too and however the gateway writes the number, while
// another phone is not held back.
func TestUSSDReceiptGuessesLimitedPerPhone(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		known := g.newReceipt()
		c := g.dial("+254700000301")
		c.press("2")
		for i := range 5 {
			if s := c.press(fmt.Sprintf("1111 2222 3333 %04d", i)); strings.HasPrefix(s, "END") {
				t.Fatalf("guess %d ended the session:\n%s", i, s)
			}
		}
		if s := c.press(known); !strings.HasPrefix(s, "END") || !strings.Contains(s, "Too many tries") {
			t.Fatalf("sixth code:\n%s", s)
		}
		for _, same := range []string{"+254700000301", "0700000301", "254700000301", " +254 700 000 301"} {
			c := g.dial(same)
			c.press("2")
			if s := c.press(known); !strings.Contains(s, "Too many tries") {
				t.Errorf("the same phone as %q in a new session is not held back:\n%s", same, s)
			}
		}
		other := g.dial("+254700000302")
		other.press("2")
		if s := other.press(known); strings.HasPrefix(s, "END") || !strings.Contains(s, "received") {
			t.Errorf("another phone is held back:\n%s", s)
		}
		// The limit lives in memory only: nothing in the database names
		// the phone, in any form.
		for _, needle := range []string{"+254700000301", "700000301"} {
			if g.contains(needle) {
				t.Errorf("the database holds %q", needle)
			}
		}
	})
}

// The receipt is read from every request again, so a caller who checked
// their own report could put any code where theirs was and repeat the
// request: that used to open any report, with no limit. Only the report the
// session checked opens; anything else ends the session with the screen a
// wrong code gives, and counts against the phone's limit.
func TestUSSDCheckedSessionOpensOnlyItsReport(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		mine, theirs := g.newReceipt(), g.newReceipt()
		const phone = "+254700000401"
		c := g.dial(phone)
		c.press("2")
		if s := c.press(mine); !strings.Contains(s, "received") {
			t.Fatalf("own receipt:\n%s", s)
		}
		// The same request, repeated with another report's receipt.
		if s := g.raw(c.id, phone, "2*"+theirs); !strings.HasPrefix(s, "END") || strings.Contains(s, "received") {
			t.Errorf("a repeated request with another report's receipt shows:\n%s", s)
		}
		// The next request, with another report's receipt in the code's place.
		c = g.dial(phone)
		c.press("2")
		c.press(mine)
		if s := g.raw(c.id, phone, "2*"+theirs+"*1"); !strings.HasPrefix(s, "END") || strings.Contains(s, "received") {
			t.Errorf("the next request with another report's receipt shows:\n%s", s)
		}
		// Each such try took one of the phone's five, as did each code
		// typed: mine twice, two tries, and one wrong code make five, so
		// even the caller's own code is refused for a while.
		c = g.dial(phone)
		c.press("2")
		if s := c.press("1111 2222 3333 4444"); strings.HasPrefix(s, "END") {
			t.Fatalf("the fifth code ended the session:\n%s", s)
		}
		if s := c.press(mine); !strings.Contains(s, "Too many tries") {
			t.Errorf("tries through repeated requests are not counted:\n%s", s)
		}
	})
}

// A gateway that gives a session id again, to another caller, never shows
// that caller the first one's screens: not the receipt of a report just
// sent, not the status of a report just checked.
func TestUSSDReusedSessionIDFromAnotherPhone(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		a := g.dial("+254700000501")
		sent := a.reportForMe()
		receipt := receiptRE.FindString(sent)
		if receipt == "" {
			t.Fatalf("no receipt:\n%s", sent)
		}
		// The same phone repeating its last request gets it again.
		if s := g.raw(a.id, a.phone, strings.Join(a.inputs, "*")); receiptRE.FindString(s) != receipt {
			t.Errorf("the gateway repeating the last request did not get the same receipt:\n%s", s)
		}
		// Another phone with the same session id and the same inputs.
		s := g.raw(a.id, "+254700000502", strings.Join(a.inputs, "*"))
		if strings.Contains(s, receipt) || receiptRE.MatchString(s) {
			t.Errorf("another phone with a reused session id sees the receipt:\n%s", s)
		}
		if n := len(g.newUSSDReports()); n != 1 {
			t.Errorf("%d USSD reports stored, want 1", n)
		}

		// A checked report, the same way.
		b := g.dial("+254700000503")
		b.press("2")
		if s := b.press(receipt); !strings.Contains(s, "received") {
			t.Fatalf("check:\n%s", s)
		}
		s = g.raw(b.id, "+254700000504", strings.Join(b.inputs, "*"))
		if strings.Contains(s, "received") || strings.Contains(s, "helper is looking") {
			t.Errorf("another phone with a reused session id sees the status:\n%s", s)
		}
		// From the start, the other phone simply gets the menu.
		if s := g.raw(b.id, "+254700000504", ""); !strings.Contains(s, "1 Report") {
			t.Errorf("another phone starting with a reused session id:\n%s", s)
		}
	})
}
