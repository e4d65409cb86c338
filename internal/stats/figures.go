package stats

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/salama-ke/salama/internal/directory"
)

// EAT is the time zone months are counted in: East Africa Time, UTC+3 all
// year (Kenya has no daylight saving), fixed here so the binary needs no
// time-zone database.
var EAT = time.FixedZone("EAT", 3*60*60)

// Column keys besides the categories.
const (
	ColReports = "reports" // survivors' reports (a tip is not one)
	ColTips    = "tips"    // tips: an advert, a number or an account seen by a bystander
)

// Categories are the kinds of harm a report can name, in the form's order
// (reporting.WhatChoices). A report can name several, or none.
var Categories = []string{"images_requested", "sextortion", "advertised", "trafficking", "sexual_violence", "other"}

// Rows that are not a county or an age band.
const (
	Outside = "outside" // outside Kenya
	NotSaid = "notsay"  // the person chose not to say
)

// AgeBands are the age bands of the person affected, in the form's order.
var AgeBands = []string{"under13", "13-15", "16-17", "18-24", "25plus", NotSaid}

// Table names.
const (
	TableMonth  = "month"
	TableCounty = "county"
	TableAge    = "age"
)

// Count is a number of counted reports, or tips, sent on the same day
// with the same coarse answers.
type Count struct {
	Tip        bool
	Day        time.Time // any time on the day it was sent
	Categories []string
	County     string // a county slug, "outside", or "" (not said)
	AgeBand    string // "" when not said
	N          int
}

// Wait is a number of counted reports sent on one day that waited the same
// number of whole minutes for a caseworker's first message, or (Answered
// false) have not had one.
type Wait struct {
	Day      time.Time
	Minutes  int
	Answered bool
	N        int
}

// Source is where the figures come from; *store.Store is one. Only reports
// and tips whose sender agreed to be counted are ever returned, withdrawn
// ones included (withdrawal keeps the coarse answers of a report that may
// be counted, so leaving does not make a report vanish from the counts).
// Copies made for referrals are never returned: they are not new reports.
//
// Referral figures (acceptance, completion) are not here yet: they will
// come from a second method on the source, returning referrals of counted
// reports by month and outcome, published as one more table of the same
// Publication, so that Protect covers them with the rest.
type Source interface {
	StatsCounts(ctx context.Context, from, to time.Time) ([]Count, error)
	StatsWaits(ctx context.Context, from, to time.Time) ([]Wait, error)
	// StatsFirst is when the first counted report or tip was sent; zero
	// when there is none.
	StatsFirst(ctx context.Context) (time.Time, error)
}

// Figures are one year's published statistics.
type Figures struct {
	Year int
	K    int
	// Complete: the year is over. Only then are there totals and the
	// tables by county and by age band: a total that grew every month
	// would let anyone subtract last month's page from this month's.
	Complete bool
	// Months are the first days of the months in the month table: the
	// months of the year that are over, from the first one with a
	// counted report.
	Months []time.Time
	// Pub holds the tables and how each figure is published; nil when no
	// month of the year is over.
	Pub                *Publication
	Month, County, Age *Table
	// Reduced: the year is over but its totals could not be published
	// safely, so less is shown.
	Reduced bool
	// Waits are the month table's times to a first answer; YearWait the
	// year's (complete years only).
	Waits    []WaitFigure
	YearWait WaitFigure
}

// WaitFigure is the time within which half of a group's reports had a
// first message from a caseworker.
type WaitFigure struct {
	Shown   bool // false: the group has fewer than k reports
	Half    bool // false: fewer than half have had an answer yet
	Minutes int
}

// Build computes year's figures from the counted reports sent in it, as
// the page shows them at now. first is when the first counted report was
// sent (zero if none). Build is pure; Compute fetches from a Source.
func Build(year int, now, first time.Time, k int, counts []Count, waits []Wait) (*Figures, error) {
	f := &Figures{Year: year, K: k}
	from, yearEnd := time.Date(year, 1, 1, 0, 0, 0, 0, EAT), time.Date(year+1, 1, 1, 0, 0, 0, 0, EAT)
	n := now.In(EAT)
	thisMonth := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, EAT)
	to := yearEnd
	if thisMonth.Before(to) {
		to = thisMonth
	}
	f.Complete = !thisMonth.Before(yearEnd)
	if !first.IsZero() {
		fm := first.In(EAT)
		if start := time.Date(fm.Year(), fm.Month(), 1, 0, 0, 0, 0, EAT); start.After(from) {
			from = start
		}
	}
	for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
		f.Months = append(f.Months, m)
	}
	if len(f.Months) == 0 || first.IsZero() {
		f.Months = nil
		return f, nil
	}

	monthIndex := func(t time.Time) int {
		t = t.In(EAT)
		i := (t.Year()-year)*12 + int(t.Month()) - int(f.Months[0].Month())
		if t.Year() != year || i < 0 || i >= len(f.Months) {
			return -1
		}
		return i
	}
	monthRows := make([]string, len(f.Months))
	for i, m := range f.Months {
		monthRows[i] = m.Format("2006-01")
	}
	counties := countyRows()
	countyIndex := map[string]int{}
	for i, c := range counties {
		countyIndex[c] = i
	}
	ageIndex := map[string]int{}
	for i, a := range AgeBands {
		ageIndex[a] = i
	}

	cols := append(append([]string{ColReports}, Categories...), ColTips)
	month := newTable(TableMonth, monthRows, cols)
	county := newTable(TableCounty, counties, cols)
	age := newTable(TableAge, AgeBands, cols[:len(cols)-1])
	for _, c := range counts {
		mi := monthIndex(c.Day)
		if mi < 0 || c.N <= 0 {
			continue
		}
		ci := countyIndex[NotSaid]
		if i, ok := countyIndex[c.County]; ok {
			ci = i
		}
		if c.Tip {
			month.Cells[mi][len(cols)-1] += c.N
			county.Cells[ci][len(cols)-1] += c.N
			continue
		}
		ai := ageIndex[NotSaid]
		if i, ok := ageIndex[c.AgeBand]; ok {
			ai = i
		}
		month.Cells[mi][0] += c.N
		county.Cells[ci][0] += c.N
		age.Cells[ai][0] += c.N
		var seen []string
		for _, cat := range c.Categories {
			j := slices.Index(Categories, cat)
			if j < 0 || slices.Contains(seen, cat) {
				continue
			}
			seen = append(seen, cat)
			month.Cells[mi][1+j] += c.N
			county.Cells[ci][1+j] += c.N
			age.Cells[ai][1+j] += c.N
		}
	}

	// Months were published one by one while the year was open, with only
	// their small cells suppressed: they cannot be hidden afterwards. The
	// last month of a complete year is published for the first time with
	// the totals.
	for r := range month.Frozen {
		month.Frozen[r] = !f.Complete || r < len(month.Rows)-1
	}
	type plan struct {
		tables  []*Table
		totals  bool
		reduced bool
	}
	plans := []plan{{[]*Table{month}, false, false}}
	if f.Complete {
		plans = []plan{
			{[]*Table{month, county, age}, true, false},
			{[]*Table{month, county, age}, false, true},
			{[]*Table{month}, false, true},
		}
	}
	var err error
	for _, p := range plans {
		pub := &Publication{K: k, Tables: p.tables, ShowTotals: p.totals}
		if err = Protect(pub); errors.Is(err, ErrCannotProtect) {
			continue
		}
		if err != nil {
			return nil, err
		}
		f.Pub, f.Reduced, f.Month = pub, p.reduced, month
		if len(p.tables) == 3 {
			f.County, f.Age = county, age
		}
		break
	}
	if f.Pub == nil {
		return nil, err
	}

	byMonth := make([][]Wait, len(f.Months))
	var all []Wait
	for _, w := range waits {
		if mi := monthIndex(w.Day); mi >= 0 && w.N > 0 {
			byMonth[mi] = append(byMonth[mi], w)
			all = append(all, w)
		}
	}
	f.Waits = make([]WaitFigure, len(f.Months))
	for i := range f.Months {
		f.Waits[i] = halfAnswered(byMonth[i], k)
	}
	if f.Complete {
		f.YearWait = halfAnswered(all, k)
	}
	return f, nil
}

func newTable(name string, rows, cols []string) *Table {
	t := &Table{Name: name, Rows: rows, Cols: cols, Cells: make([][]int, len(rows)), Frozen: make([]bool, len(rows)), Within: make([]int, len(cols))}
	for r := range rows {
		t.Cells[r] = make([]int, len(cols))
	}
	for c, key := range cols {
		t.Within[c] = -1
		if slices.Contains(Categories, key) {
			t.Within[c] = 0 // a kind of harm is named by at most every report
		}
	}
	return t
}

// countyRows are the 47 counties in code order, then outside Kenya and not
// said.
func countyRows() []string {
	var out []string
	for _, c := range directory.Counties() {
		out = append(out, c.Slug)
	}
	return append(out, Outside, NotSaid)
}

// halfAnswered is the time within which half of the reports had a first
// answer. Reports still waiting count as not answered: a median of the
// answered ones alone would look better the fewer were answered.
func halfAnswered(ws []Wait, k int) WaitFigure {
	n := 0
	for _, w := range ws {
		n += w.N
	}
	if n < k {
		return WaitFigure{}
	}
	answered := slices.DeleteFunc(slices.Clone(ws), func(w Wait) bool { return !w.Answered })
	sort.Slice(answered, func(i, j int) bool { return answered[i].Minutes < answered[j].Minutes })
	need := (n + 1) / 2 // the ⌈n/2⌉-th shortest wait
	seen := 0
	for _, w := range answered {
		seen += w.N
		if seen >= need {
			return WaitFigure{Shown: true, Half: true, Minutes: w.Minutes}
		}
	}
	return WaitFigure{Shown: true}
}

// DefaultYear is the year a page shows unless asked for another: the
// current one once a month of it is over, else the one before.
func DefaultYear(now time.Time) int {
	n := now.In(EAT)
	if n.Month() == time.January {
		return n.Year() - 1
	}
	return n.Year()
}

// Years lists the years that have figures, oldest first: from the year of
// the first counted report to DefaultYear.
func Years(first, now time.Time) []int {
	if first.IsZero() {
		return nil
	}
	var out []int
	for y := first.In(EAT).Year(); y <= DefaultYear(now); y++ {
		out = append(out, y)
	}
	return out
}
