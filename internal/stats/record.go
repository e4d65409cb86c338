package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/salama-ke/salama/internal/store"
)

// What has been published is kept, and shown as it was, for ever.
//
// A page that changes is many pages, and anyone can keep the old ones: the
// difference between two versions of a figure is a figure too. So the
// first time a month's row is published its record is stored — the row's
// counts and marks, the time within which half its reports were answered,
// and its counts by county and by age band (what the year's tables will
// add up, so that they agree with the months shown) — and from then on the
// month is shown from its record, whatever happens to the reports: a late
// first answer, a withdrawal, a retention purge, a restore. When the year
// is over it is published whole, once, as one record.
//
// Records hold coarse counts only, the ones the published figures are
// made of; no report can be found from them, and the reports' own coarse
// answers are in the database anyway.

// ErrPublished means a record for that period is stored already: another
// instance published it first. The caller reads it back.
var ErrPublished = store.ErrStatsPublished

// Record is one published period as the Ledger stores it; its Data is the
// JSON of a MonthRecord or a year record.
type Record = store.StatsRecord

// Ledger keeps what has been published; *store.Store is one.
type Ledger interface {
	// StatsPublished returns year's records, in any order.
	StatsPublished(ctx context.Context, year int) ([]Record, error)
	// StatsPublish stores records, all or none, and returns ErrPublished
	// when one of them is stored already.
	StatsPublish(ctx context.Context, recs []Record) error
	// StatsLastK is the k of the newest record, 0 when there is none.
	StatsLastK(ctx context.Context) (int, error)
	// StatsKChange is the change of k the operator confirmed last;
	// zeros when none.
	StatsKChange(ctx context.Context) (from, to int, err error)
	SetStatsKChange(ctx context.Context, from, to int) error
}

// MonthRecord is one month as first published.
type MonthRecord struct {
	Month  string                    `json:"month"` // 2006-01
	K      int                       `json:"k"`
	Cells  map[string]int            `json:"cells"` // by column key
	Marks  map[string]Mark           `json:"marks"`
	Wait   WaitFigure                `json:"wait"`
	County map[string]map[string]int `json:"county"` // row → column → count, non-zero only
	Age    map[string]map[string]int `json:"age"`
}

// yearRecord is a whole year as published when it was over.
type yearRecord struct {
	Year       int             `json:"year"`
	K          int             `json:"k"`
	Months     []string        `json:"months"`
	Reduced    bool            `json:"reduced"`
	ShowTotals bool            `json:"show_totals"`
	Tables     []tableRecord   `json:"tables"`
	Totals     map[string]int  `json:"totals"`
	TotalMarks map[string]Mark `json:"total_marks"`
	Waits      []WaitFigure    `json:"waits"`
	YearWait   WaitFigure      `json:"year_wait"`

	Refs           *tableRecord    `json:"refs,omitempty"`
	RefsShowTotals bool            `json:"refs_show_totals"`
	RefTotals      map[string]int  `json:"ref_totals,omitempty"`
	RefTotalMarks  map[string]Mark `json:"ref_total_marks,omitempty"`
	RefsReduced    bool            `json:"refs_reduced"`
	RefsWithheld   bool            `json:"refs_withheld"`
}

type tableRecord struct {
	Name  string   `json:"name"`
	Rows  []string `json:"rows"`
	Cols  []string `json:"cols"`
	Cells [][]int  `json:"cells"`
	Marks [][]Mark `json:"marks"`
	RowK  []int    `json:"row_k,omitempty"`
}

func toRecord(t *Table) *tableRecord {
	return &tableRecord{Name: t.Name, Rows: t.Rows, Cols: t.Cols, Cells: t.Cells, Marks: t.Marks, RowK: t.RowK}
}

func (r *tableRecord) table() *Table {
	t := &Table{Name: r.Name, Rows: r.Rows, Cols: r.Cols, Cells: r.Cells, Marks: r.Marks, RowK: r.RowK, Frozen: make([]bool, len(r.Rows))}
	for i := range t.Frozen {
		t.Frozen[i] = true
	}
	return t
}

// newRecords are the records of what f publishes for the first time: the
// whole year when it is over, else each month new on the page.
func (f *Figures) newRecords(now time.Time) ([]Record, error) {
	if f.Pub == nil {
		return nil, nil
	}
	if f.Complete {
		y := yearRecord{Year: f.Year, K: f.K, Reduced: f.Reduced, ShowTotals: f.Pub.ShowTotals, Totals: f.Pub.Totals,
			TotalMarks: f.Pub.TotalMarks, Waits: f.Waits, YearWait: f.YearWait, RefsReduced: f.RefsReduced, RefsWithheld: f.RefsWithheld}
		for _, m := range f.Months {
			y.Months = append(y.Months, m.Format("2006-01"))
		}
		for _, t := range f.Pub.Tables {
			y.Tables = append(y.Tables, *toRecord(t))
		}
		if f.Refs != nil {
			y.Refs, y.RefsShowTotals, y.RefTotals, y.RefTotalMarks = toRecord(f.RefTable), f.Refs.ShowTotals, f.Refs.Totals, f.Refs.TotalMarks
		}
		data, err := json.Marshal(y)
		if err != nil {
			return nil, err
		}
		return []Record{{Period: strconv.Itoa(f.Year), Year: f.Year, K: f.K, Data: data, At: now}}, nil
	}
	var out []Record
	for r, m := range f.Months {
		if !f.fresh[r] {
			continue
		}
		rec := MonthRecord{Month: m.Format("2006-01"), K: f.K, Cells: map[string]int{}, Marks: map[string]Mark{},
			Wait: f.Waits[r], County: f.freshCounty[r], Age: f.freshAge[r]}
		for c, col := range f.Month.Cols {
			rec.Cells[col], rec.Marks[col] = f.Month.Cells[r][c], f.Month.Marks[r][c]
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, Record{Period: rec.Month, Year: f.Year, K: f.K, Data: data, At: now})
	}
	return out, nil
}

// monthRecords decodes the month records among recs, oldest first.
func monthRecords(recs []Record) ([]MonthRecord, error) {
	var out []MonthRecord
	for _, r := range recs {
		if len(r.Period) != len("2006-01") {
			continue
		}
		var m MonthRecord
		if err := json.Unmarshal(r.Data, &m); err != nil {
			return nil, fmt.Errorf("stats: record %s: %w", r.Period, err)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b MonthRecord) int {
		switch {
		case a.Month < b.Month:
			return -1
		case a.Month > b.Month:
			return 1
		}
		return 0
	})
	return out, nil
}

// fromRecords is year as published: from its year record when it has one,
// else from its months' records. Every page is shown this way, so that
// what is shown is what is stored.
func fromRecords(year int, recs []Record) (*Figures, error) {
	for _, r := range recs {
		if r.Period == strconv.Itoa(year) {
			return fromYearRecord(r)
		}
	}
	ms, err := monthRecords(recs)
	if err != nil {
		return nil, err
	}
	f := &Figures{Year: year}
	if len(ms) == 0 {
		return f, nil
	}
	cols := reportCols()
	var rows []string
	for _, m := range ms {
		rows = append(rows, m.Month)
	}
	t := newTable(TableMonth, rows, cols)
	t.RowK, t.Marks = make([]int, len(rows)), make([][]Mark, len(rows))
	for r, m := range ms {
		at, err := time.ParseInLocation("2006-01", m.Month, EAT)
		if err != nil {
			return nil, fmt.Errorf("stats: record %s: %w", m.Month, err)
		}
		f.Months, f.Waits = append(f.Months, at), append(f.Waits, m.Wait)
		t.Frozen[r], t.RowK[r], t.Marks[r] = true, m.K, make([]Mark, len(cols))
		for c, col := range cols {
			t.Cells[r][c], t.Marks[r][c] = m.Cells[col], m.Marks[col]
		}
		f.K = m.K
	}
	f.Month = t
	f.Pub = &Publication{K: f.K, Tables: []*Table{t}}
	return f, nil
}

func fromYearRecord(r Record) (*Figures, error) {
	var y yearRecord
	if err := json.Unmarshal(r.Data, &y); err != nil {
		return nil, fmt.Errorf("stats: record %s: %w", r.Period, err)
	}
	f := &Figures{Year: y.Year, K: y.K, Complete: true, Reduced: y.Reduced, Waits: y.Waits, YearWait: y.YearWait,
		RefsReduced: y.RefsReduced, RefsWithheld: y.RefsWithheld}
	for _, m := range y.Months {
		at, err := time.ParseInLocation("2006-01", m, EAT)
		if err != nil {
			return nil, fmt.Errorf("stats: record %s: %w", r.Period, err)
		}
		f.Months = append(f.Months, at)
	}
	f.Pub = &Publication{K: y.K, ShowTotals: y.ShowTotals, Totals: y.Totals, TotalMarks: y.TotalMarks}
	for i := range y.Tables {
		t := y.Tables[i].table()
		f.Pub.Tables = append(f.Pub.Tables, t)
		switch t.Name {
		case TableMonth:
			f.Month = t
		case TableCounty:
			f.County = t
		case TableAge:
			f.Age = t
		}
	}
	if y.Refs != nil {
		f.RefTable = y.Refs.table()
		f.Refs = &Publication{K: y.K, Tables: []*Table{f.RefTable}, ShowTotals: y.RefsShowTotals, Totals: y.RefTotals, TotalMarks: y.RefTotalMarks}
	}
	if f.Month == nil || len(f.Waits) != len(f.Months) || len(f.Month.Rows) != len(f.Months) {
		return nil, fmt.Errorf("stats: record %s is malformed", r.Period)
	}
	return f, nil
}

// Marks are stored by name, so that a record never depends on the order
// of the constants.
var markNames = [...]string{Shown: "shown", Small: "small", Hidden: "hidden", Unpublished: "unpublished"}

func (m Mark) MarshalText() ([]byte, error) {
	if int(m) >= len(markNames) {
		return nil, fmt.Errorf("stats: mark %d", m)
	}
	return []byte(markNames[m]), nil
}

func (m *Mark) UnmarshalText(b []byte) error {
	i := slices.Index(markNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("stats: mark %q", b)
	}
	*m = Mark(i)
	return nil
}
