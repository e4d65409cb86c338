package stats

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/store"
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
var Categories = report.Categories()

// Rows that are not a county or an age band.
const (
	Outside = "outside"              // outside Kenya
	NotSaid = report.AgeRatherNotSay // the person chose not to say
)

// AgeBands are the age bands of the person affected, in the form's order.
var AgeBands = append(report.AgeBands(), NotSaid)

// Table names.
const (
	TableMonth     = "month"
	TableCounty    = "county"
	TableAge       = "age"
	TableReferrals = "referrals"
)

// Referral columns: referrals made (the survivor agreed, or the audited
// child-protection override, and the service was told), accepted by the
// service (completed ones too), declined, and completed.
const (
	ColMade      = "made"
	ColAccepted  = "accepted"
	ColDeclined  = "declined"
	ColCompleted = "completed"
)

// RefUnlisted is the referral row of services no longer in the directory.
const RefUnlisted = "unlisted"

// Count is a number of counted reports, or tips, sent on the same day
// with the same coarse answers, as the store reads them.
type Count = store.StatsCount

// Wait is a number of counted reports sent on one day that waited the same
// number of whole minutes for a caseworker's first message, or (Answered
// false) have not had one.
type Wait = store.StatsWait

// Referral states, as the store spells them (SPEC §4.4).
const (
	RefAwaitingConsent = "awaiting_consent"
	RefSent            = "sent"
	RefAccepted        = "accepted"
	RefDeclined        = "declined"
	RefCompleted       = "completed"
	RefRevoked         = "revoked"
)

// Referral is a number of referrals of counted reports, made on one day to
// services of one type, in one state.
type Referral struct {
	Day time.Time
	// Type is the service's directory type; "" when the service is no
	// longer in the directory.
	Type  string
	State string
	// Consented: the referral was agreed (by the survivor, or the
	// child-protection override), so it was made.
	Consented bool
	N         int
}

// Source is where the figures come from, and where what is published is
// kept; FromStore makes one of the store. Only reports and tips whose sender agreed to
// be counted are ever returned, withdrawn ones included (withdrawal keeps
// the coarse answers of a report that may be counted, so leaving does not
// make a report vanish from the counts), and only their referrals. Copies
// made for referrals are never returned: they are not new reports.
type Source interface {
	StatsCounts(ctx context.Context, from, to time.Time) ([]Count, error)
	StatsWaits(ctx context.Context, from, to time.Time) ([]Wait, error)
	StatsReferrals(ctx context.Context, from, to time.Time) ([]Referral, error)
	// StatsFirst is when the first counted report or tip was sent; zero
	// when there is none.
	StatsFirst(ctx context.Context) (time.Time, error)
	Ledger
}

// Figures are one year's published statistics.
type Figures struct {
	Year int
	// K is the threshold of what this publication adds: new months, the
	// totals, the county, age and referral tables. A month published
	// before keeps the k it was published with (Month.RowK).
	K int
	// Complete: the year is over. Only then are there totals and the
	// tables by county, by age band and of referrals: a total that grew
	// every month would let anyone subtract last month's page from this
	// month's.
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
	// Refs is the referrals table's publication (complete years, when
	// there were referrals and they could be shown safely); RefsReduced
	// says its totals were left out, RefsWithheld that it was.
	Refs         *Publication
	RefTable     *Table
	RefsReduced  bool
	RefsWithheld bool
	// Held: newer figures exist but are not published, because the
	// threshold changed without the operator's confirmation (see
	// SettleK).
	Held bool

	// fresh[r]: month r is published by this Build for the first time;
	// freshCounty and freshAge are its counts by county and age band,
	// kept in its record.
	fresh                 []bool
	freshCounty, freshAge []map[string]map[string]int
}

// WaitFigure is the time within which half of a group's reports had a
// first message from a caseworker.
type WaitFigure struct {
	Shown   bool `json:"shown"` // false: the group has fewer than k reports
	Half    bool `json:"half"`  // false: fewer than half have had an answer yet
	Minutes int  `json:"minutes"`
}

// Input is everything a publication of one year is computed from.
type Input struct {
	Year       int
	Now, First time.Time // First: when the first counted report was sent
	K          int
	Counts     []Count
	Waits      []Wait
	Referrals  []Referral
	// Published are the year's months published before: they are shown
	// as they were, whatever the counts say now.
	Published []MonthRecord
}

// Build computes year's figures as they are published at in.Now. Months
// published before are taken from in.Published and frozen; the others are
// computed from the counts. Build is pure; the Service fetches, stores and
// shows.
func Build(in Input) (*Figures, error) {
	f := &Figures{Year: in.Year, K: in.K}
	f.Months, f.Complete = MonthsOver(in.Year, in.First, in.Now)
	for _, rec := range in.Published {
		// A month published before is shown even if the counts no
		// longer start there.
		if m, err := time.ParseInLocation("2006-01", rec.Month, EAT); err == nil && m.Year() == in.Year && (len(f.Months) == 0 || m.Before(f.Months[0])) {
			f.Months = monthRange(m, f.Months)
		}
	}
	if len(f.Months) == 0 {
		f.Months = nil
		return f, nil
	}
	published := map[string]MonthRecord{}
	for _, rec := range in.Published {
		published[rec.Month] = rec
	}

	monthIndex := func(t time.Time) int {
		t = t.In(EAT)
		i := (t.Year()-in.Year)*12 + int(t.Month()) - int(f.Months[0].Month())
		if t.Year() != in.Year || i < 0 || i >= len(f.Months) {
			return -1
		}
		return i
	}
	monthRows := make([]string, len(f.Months))
	for i, m := range f.Months {
		monthRows[i] = m.Format("2006-01")
	}
	counties := countyRows()
	cols := reportCols()
	month := newTable(TableMonth, monthRows, cols)
	county := newTable(TableCounty, counties, cols)
	age := newTable(TableAge, AgeBands, cols[:len(cols)-1])
	month.RowK, month.Marks = make([]int, len(monthRows)), make([][]Mark, len(monthRows))
	f.fresh = make([]bool, len(monthRows))
	f.Waits = make([]WaitFigure, len(monthRows))

	// Months published before: their row, marks and wait as published,
	// and their counts by county and age band as they were then, so that
	// the year's tables add up to the months shown.
	for r, key := range monthRows {
		rec, ok := published[key]
		if !ok {
			f.fresh[r] = true
			continue
		}
		month.Frozen[r], month.RowK[r], f.Waits[r] = true, rec.K, rec.Wait
		month.Marks[r] = make([]Mark, len(cols))
		for c, col := range cols {
			month.Cells[r][c], month.Marks[r][c] = rec.Cells[col], rec.Marks[col]
		}
		addRows(county, rec.County)
		addRows(age, rec.Age)
	}
	fresh := func(mi int) bool { return mi >= 0 && f.fresh[mi] }

	byMonth := make([][]Wait, len(f.Months))
	var all []Wait
	for _, w := range in.Waits {
		if mi := monthIndex(w.Day); mi >= 0 && w.N > 0 {
			byMonth[mi] = append(byMonth[mi], w)
			all = append(all, w)
		}
	}
	for r := range f.Months {
		if f.fresh[r] {
			f.Waits[r] = halfAnswered(byMonth[r], in.K)
		}
	}

	f.freshCounty, f.freshAge = make([]map[string]map[string]int, len(monthRows)), make([]map[string]map[string]int, len(monthRows))
	for _, c := range in.Counts {
		mi := monthIndex(c.Day)
		if !fresh(mi) || c.N <= 0 {
			continue
		}
		cr, ar, cs := place(c)
		month.add(monthRows[mi], cs, c.N)
		county.add(cr, cs, c.N)
		f.freshCounty[mi] = addTo(f.freshCounty[mi], cr, cs, c.N)
		if ar != "" {
			age.add(ar, cs, c.N)
			f.freshAge[mi] = addTo(f.freshAge[mi], ar, cs, c.N)
		}
	}

	// The first month shown holds a report or a tip: that is why it is
	// the first. A reader knows it, so the audit does.
	var facts []Fact
	if first := in.First.In(EAT); !in.First.IsZero() && first.Year() == in.Year && first.Month() == f.Months[0].Month() {
		facts = []Fact{{Cells: []CellRef{{0, 0, 0}, {0, 0, len(cols) - 1}}, Min: 1}}
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
		pub := &Publication{K: in.K, Tables: p.tables, ShowTotals: p.totals, Facts: facts}
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
	if f.Complete {
		f.YearWait = halfAnswered(all, in.K)
		if err := f.buildReferrals(in); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// place says where a count goes: its county row, its age row ("" for a
// tip, which has none) and its columns.
func place(c Count) (county, age string, cols []string) {
	county = NotSaid
	if c.County != "" && slices.Contains(countyList(), c.County) {
		county = c.County
	}
	if c.Tip {
		return county, "", []string{ColTips}
	}
	age = NotSaid
	if c.AgeBand != "" && slices.Contains(AgeBands, c.AgeBand) {
		age = c.AgeBand
	}
	cols = []string{ColReports}
	for _, cat := range Categories {
		if slices.Contains(c.Categories, cat) {
			cols = append(cols, cat) // each kind once, however often named
		}
	}
	return county, age, cols
}

// add adds n to the cells of row in columns cols.
func (t *Table) add(row string, cols []string, n int) {
	r := slices.Index(t.Rows, row)
	for _, col := range cols {
		if c := slices.Index(t.Cols, col); c >= 0 {
			t.Cells[r][c] += n
		}
	}
}

// addRows adds counts kept by row and column key to t.
func addRows(t *Table, rows map[string]map[string]int) {
	for row, byCol := range rows {
		r := slices.Index(t.Rows, row)
		if r < 0 {
			r = slices.Index(t.Rows, NotSaid)
		}
		for c, col := range t.Cols {
			t.Cells[r][c] += byCol[col]
		}
	}
}

// addTo adds n to m's row in columns cols.
func addTo(m map[string]map[string]int, row string, cols []string, n int) map[string]map[string]int {
	if m == nil {
		m = map[string]map[string]int{}
	}
	if m[row] == nil {
		m[row] = map[string]int{}
	}
	for _, col := range cols {
		m[row][col] += n
	}
	return m
}

// buildReferrals publishes the year's referrals by service type: made,
// accepted, declined, completed, as they stand when the year is first
// published. They share no figure with the report tables, so they are
// protected on their own: with totals, else without, else not at all.
func (f *Figures) buildReferrals(in Input) error {
	types := refRows()
	cols := []string{ColMade, ColAccepted, ColDeclined, ColCompleted}
	t := newTable(TableReferrals, types, cols)
	t.Relations = []Relation{
		{Cols: []int{1, 2, 0}, Coef: []int{1, 1, -1}}, // accepted + declined ≤ made
		AtMost(3, 1), // completed ≤ accepted
	}
	any := false
	for _, r := range in.Referrals {
		if d := r.Day.In(EAT); d.Year() != in.Year || r.N <= 0 {
			continue
		}
		row := slices.Index(types, r.Type)
		if row < 0 || r.Type == "" {
			row = slices.Index(types, RefUnlisted)
		}
		made := r.Consented || slices.Contains([]string{RefSent, RefAccepted, RefDeclined, RefCompleted}, r.State)
		if !made {
			continue // never agreed to: nothing was made
		}
		any = true
		t.Cells[row][0] += r.N
		switch r.State {
		case RefAccepted:
			t.Cells[row][1] += r.N
		case RefCompleted:
			t.Cells[row][1] += r.N
			t.Cells[row][3] += r.N
		case RefDeclined:
			t.Cells[row][2] += r.N
		}
	}
	if !any {
		return nil
	}
	for _, totals := range []bool{true, false} {
		pub := &Publication{K: in.K, Tables: []*Table{t}, ShowTotals: totals}
		err := Protect(pub)
		if errors.Is(err, ErrCannotProtect) {
			continue
		}
		if err != nil {
			return err
		}
		f.Refs, f.RefTable, f.RefsReduced = pub, t, !totals
		return nil
	}
	f.RefsWithheld = true
	return nil
}

func reportCols() []string {
	return append(append([]string{ColReports}, Categories...), ColTips)
}

// refRows are the service types in the directory's order, then services
// no longer listed.
func refRows() []string {
	var out []string
	for _, t := range directory.ServiceTypes() {
		out = append(out, string(t))
	}
	return append(out, RefUnlisted)
}

func newTable(name string, rows, cols []string) *Table {
	t := &Table{Name: name, Rows: rows, Cols: cols, Cells: make([][]int, len(rows)), Frozen: make([]bool, len(rows))}
	for r := range rows {
		t.Cells[r] = make([]int, len(cols))
	}
	if r := slices.Index(cols, ColReports); r >= 0 {
		for c, key := range cols {
			if slices.Contains(Categories, key) {
				t.Relations = append(t.Relations, AtMost(c, r)) // a kind of harm is named by at most every report
			}
		}
	}
	return t
}

// countyRows are the 47 counties in code order, then outside Kenya and not
// said.
func countyRows() []string { return slices.Clone(countyList()) }

var countyList = sync.OnceValue(func() []string {
	var out []string
	for _, c := range directory.Counties() {
		out = append(out, c.Slug)
	}
	return append(out, Outside, NotSaid)
})

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

func monthStart(t time.Time) time.Time {
	t = t.In(EAT)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, EAT)
}

// MonthsOver lists the months of year that are over at now, from the month
// of first (when that is in year) or January; complete says the whole
// year is over. Nothing when nothing is counted yet.
func MonthsOver(year int, first, now time.Time) (months []time.Time, complete bool) {
	from, yearEnd := time.Date(year, 1, 1, 0, 0, 0, 0, EAT), time.Date(year+1, 1, 1, 0, 0, 0, 0, EAT)
	to := monthStart(now)
	complete = !to.Before(yearEnd)
	if first.IsZero() {
		return nil, complete
	}
	if start := monthStart(first); start.After(from) {
		from = start
	}
	if to.After(yearEnd) {
		to = yearEnd
	}
	for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
		months = append(months, m)
	}
	return months, complete
}

// monthRange is the months from m up to the last of after (or m alone).
func monthRange(m time.Time, after []time.Time) []time.Time {
	last := m
	if len(after) > 0 {
		last = after[len(after)-1]
	}
	var out []time.Time
	for x := m; !x.After(last); x = x.AddDate(0, 1, 0) {
		out = append(out, x)
	}
	return out
}

// Years lists the years that have figures, oldest first: from the year of
// the first counted report, each year in which at least one month is
// over.
func Years(first, now time.Time) []int {
	if first.IsZero() {
		return nil
	}
	var out []int
	for y := first.In(EAT).Year(); y <= now.In(EAT).Year(); y++ {
		if ms, _ := MonthsOver(y, first, now); len(ms) > 0 {
			out = append(out, y)
		}
	}
	return out
}

// DefaultYear is the year a page shows unless asked for another: the last
// year with a month that is over (in January, the year just ended), or 0
// when there is none yet.
func DefaultYear(first, now time.Time) int {
	ys := Years(first, now)
	if len(ys) == 0 {
		return 0
	}
	return ys[len(ys)-1]
}
