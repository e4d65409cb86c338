package stats

import (
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/salama-ke/salama/internal/directory"
)

// T translates a catalog key, with {0}, {1} … replaced by args; the
// locale printer's T method is one.
type T func(key string, args ...any) string

// Grid is a table as a page or a CSV file shows it: every figure already
// as text, suppressed ones as "<k" or "x".
type Grid struct {
	Name    string // TableMonth, TableCounty, TableAge, TableReferrals
	Corner  string // the heading of the row labels
	ColKeys []string
	Head    []string
	Rows    []GridRow
	Total   *GridRow // nil when the totals are not published
}

// GridRow is one row of a Grid.
type GridRow struct {
	Key, Label string
	Cells      []string
}

// Text is how one figure is shown.
func Text(n int, m Mark, k int) string {
	switch m {
	case Shown:
		return strconv.Itoa(n)
	case Small:
		return "<" + strconv.Itoa(k)
	case Hidden:
		return "x"
	}
	return ""
}

// ColWait is the month table's column of times to a first answer; it is
// not a count.
const ColWait = "wait"

// Grids are the published tables as text, labelled in t's language: the
// month table, the county and age tables, the referrals table.
func (f *Figures) Grids(t T) []Grid {
	if f.Pub == nil {
		return nil
	}
	var out []Grid
	for _, tb := range []*Table{f.Month, f.County, f.Age, f.RefTable} {
		if tb == nil {
			continue
		}
		pub := f.Pub
		if tb == f.RefTable {
			pub = f.Refs
		}
		g := Grid{Name: tb.Name, Corner: t("stats.col." + tb.Name), ColKeys: tb.Cols}
		for _, c := range tb.Cols {
			g.Head = append(g.Head, t(ColKey(c)))
		}
		if tb.Name == TableMonth {
			g.ColKeys = append(g.ColKeys[:len(g.ColKeys):len(g.ColKeys)], ColWait)
			g.Head = append(g.Head, t(ColKey(ColWait)))
		}
		for r, key := range tb.Rows {
			row := GridRow{Key: key}
			if tb.Name == TableMonth {
				row.Label = MonthLabel(t, f.Months[r])
			} else {
				row.Label = t(RowKey(tb.Name, key))
			}
			for c := range tb.Cols {
				row.Cells = append(row.Cells, Text(tb.Cells[r][c], tb.Marks[r][c], tb.kOf(r, f.K)))
			}
			if tb.Name == TableMonth {
				row.Cells = append(row.Cells, f.Waits[r].Text(t))
			}
			g.Rows = append(g.Rows, row)
		}
		if pub.ShowTotals {
			row := GridRow{Key: "total", Label: t("stats.total")}
			for _, c := range tb.Cols {
				row.Cells = append(row.Cells, Text(pub.Totals[c], pub.TotalMarks[c], f.K))
			}
			if tb.Name == TableMonth {
				row.Cells = append(row.Cells, f.YearWait.Text(t))
			}
			g.Total = &row
		}
		out = append(out, g)
	}
	return out
}

// kOf is the k row r was published with.
func (t *Table) kOf(r, def int) int {
	if t.RowK != nil && t.RowK[r] > 0 {
		return t.RowK[r]
	}
	return def
}

// Thresholds are the values of k the year's figures were published with,
// smallest first: one, unless the operator changed k during the year.
func (f *Figures) Thresholds() []int {
	var out []int
	add := func(k int) {
		if k > 0 && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if f.Month != nil {
		for r := range f.Month.Rows {
			add(f.Month.kOf(r, f.K))
		}
	}
	if f.County != nil || f.RefTable != nil || (f.Pub != nil && f.Pub.ShowTotals) {
		add(f.K)
	}
	slices.Sort(out)
	return out
}

// MonthLabel is a month's name and year in t's language: "March 2026".
func MonthLabel(t T, m time.Time) string {
	m = m.In(EAT)
	return t("stats.month."+strconv.Itoa(int(m.Month())), m.Year())
}

// ColKey is the catalog key of a column's heading.
func ColKey(col string) string { return "stats.col." + col }

// RowKey is the catalog key of a county or age band row.
func RowKey(table, row string) string {
	switch {
	case table == TableCounty && row == NotSaid:
		return "stats.notsay"
	case table == TableCounty:
		return directory.CountyKey(row)
	case table == TableAge && row == NotSaid:
		return "stats.notsay"
	case table == TableReferrals && row == RefUnlisted:
		return "stats.ref_unlisted"
	case table == TableReferrals:
		return "servicetype." + row
	}
	return "stats.age." + row
}

// Text is how a wait is shown: hours under two days, else days, rounded
// up; "–" when fewer than half have been answered; "" for a month with
// fewer than k reports.
func (w WaitFigure) Text(t T) string {
	switch {
	case !w.Shown:
		return ""
	case !w.Half:
		return "–"
	}
	h := (w.Minutes + 59) / 60
	if h == 0 {
		h = 1
	}
	if h < 48 {
		return t("stats.hours", h)
	}
	return t("stats.days", (h+23)/24)
}

// WriteCSV writes the grids as CSV in long form, one figure a line:
// table, year, row, row label, column, column label, value. Codes are
// stable across languages; labels are in the page's language.
func (f *Figures) WriteCSV(w io.Writer, t T) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"table", "year", "row", "row_label", "column", "column_label", "value"})
	year := strconv.Itoa(f.Year)
	for _, g := range f.Grids(t) {
		rows := g.Rows
		if g.Total != nil {
			rows = append(rows[:len(rows):len(rows)], *g.Total)
		}
		for _, r := range rows {
			for c, v := range r.Cells {
				if err := cw.Write([]string{g.Name, year, r.Key, r.Label, g.ColKeys[c], g.Head[c], v}); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
