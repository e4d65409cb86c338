package store_test

import (
	"slices"
	"testing"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// TestContentTablesComplete: every table that refers to a report is either
// destroyed with the report's content (withdrawal, purge) or knowingly kept.
// A new table holding a report's content that nobody listed would survive a
// withdrawal; this test fails instead.
func TestContentTablesComplete(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'report_id'`
		if s.Engine() == store.Postgres {
			q = `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'report_id'`
		}
		rows, err := store.ReaderOf(s).QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var name string
			rows.Scan(&name)
			n++
			if !slices.Contains(store.ContentTables, name) && !slices.Contains(store.KeptTables, name) {
				t.Errorf("table %s has a report_id but is neither destroyed with a report's content nor listed as kept (internal/store/lifecycle.go)", name)
			}
		}
		if n < 5 {
			t.Errorf("only %d tables with report_id found", n)
		}
	})
}
