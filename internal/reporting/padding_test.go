package reporting_test

import (
	"strings"
	"testing"

	"github.com/salama-ke/salama/internal/store/storetest"
)

// Issue 12 (lower): the length of a sealed narrative in the database gave
// away the length of what the survivor wrote. Two reports with narratives
// of 10 and 200 characters now store sealed narratives of one length.
func TestSealedNarrativeLengthIsBucketed(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		e := newEnv(t, db)
		short, long := report(false), report(false)
		short.Narrative = strings.Repeat("a", 10)
		long.Narrative = strings.Repeat("b", 200)
		a := e.submit(t, short)
		b := e.submit(t, long)
		size := func(id string) int {
			var n int
			if err := db.SQL(t).QueryRowContext(t.Context(), `SELECT length(sealed) FROM report_fields WHERE report_id = $1 AND name = 'narrative'`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if sa, sb := size(a.Report.ID), size(b.Report.ID); sa != sb {
			t.Fatalf("sealed narratives of 10 and 200 characters are %d and %d bytes", sa, sb)
		}
	})
}
