package ussd_test

import (
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/store/storetest"
)

// Through the real callback: a code dialled with menu choices
// (*384*123*1*1#: the first request already carries "1*1") starts the
// menu it names instead of "Time ran out", and the session goes on from
// there. A receipt is never taken from a dialled code (it stays in the
// phone's call history), and a report is never sent from one (consent to
// SMS is given on its screen).
func TestUSSDDeepCodes(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		g := newGateway(t, db)
		for _, tc := range []struct{ text, want string }{
			{"1*1", "What happened most?"},
			{"1*1*3", "Which county?"},
			{"3", "Free help, day and night"},
			{"3*1", "Which county?"},
			{"4*3", "0 Rudi"},
			{"4*1*2", "Kilitokea nini hasa?"},
			{"1*9", "choose a number"},
		} {
			s := g.raw("ATUid_deep_"+tc.text, "+254700000801", tc.text)
			if !strings.HasPrefix(s, "CON ") || !strings.Contains(s, tc.want) || strings.Contains(s, "Time ran out") {
				t.Errorf("dialled with %q:\n%s", tc.text, s)
			}
		}
		// The session goes on from the walked screen.
		if s := g.raw("ATUid_deep_1*1", "+254700000801", "1*1*3"); !strings.Contains(s, "Which county?") {
			t.Errorf("after a deep code:\n%s", s)
		}
		if s := g.raw("ATUid_deep_1*1", "+254700000801", "1*1*3*Homa*Bay"); !strings.Contains(s, "danger") {
			t.Errorf("after a deep code, a county:\n%s", s)
		}

		receipt := g.newReceipt()
		if s := g.raw("ATUid_deep_code", "+254700000802", "2*"+strings.ReplaceAll(receipt, " ", "")); !strings.Contains(s, "16-digit") || strings.Contains(s, "Your report:") {
			t.Errorf("a receipt in a dialled code:\n%s", s)
		}
		before := len(g.newUSSDReports())
		if s := g.raw("ATUid_deep_report", "+254700000803", "1*1*3*Nakuru*2*4*1"); !strings.Contains(s, "How can a helper reach you?") || receiptRE.MatchString(s) {
			t.Errorf("a whole report in a dialled code:\n%s", s)
		}
		if n := len(g.newUSSDReports()); n != before {
			t.Errorf("a dialled code stored %d reports", n-before)
		}
	})
}
