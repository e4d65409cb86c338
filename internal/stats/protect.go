package stats

import (
	"errors"
	"fmt"
	"slices"
)

// Mark says how one figure is published.
type Mark uint8

const (
	// Shown: the number itself.
	Shown Mark = iota
	// Small: fewer than k, perhaps none; shown as "<k".
	Small
	// Hidden: k or more, hidden so that a Small figure beside it cannot
	// be narrowed down; shown as "x".
	Hidden
	// Unpublished: a total that is not on the page at all. The relation
	// still holds, and a reader may know it: the column of each table
	// sums to the same unknown number.
	Unpublished
)

// Table is one published two-way table: counts by row (month, county, age
// band, service type) and column (reports, each kind of harm, tips; or
// referrals made, accepted …).
type Table struct {
	Name  string
	Rows  []string
	Cols  []string
	Cells [][]int // [row][col]
	// Relations are what a reader knows of every row, and so of the
	// totals: a kind of harm is named by at most every report of its
	// row; a referral is accepted or declined at most once.
	Relations []Relation
	// Frozen[r] says row r was published before, with Marks[r]: it keeps
	// those marks (Protect neither hides more of it nor shows more).
	Frozen []bool
	// RowK[r] is the k row r is published with; 0 means the
	// publication's. Rows published before a change of k keep theirs.
	RowK []int

	// Marks are set by Protect, except a frozen row's, which are given
	// (nil: the small-cell marks it was published with).
	Marks [][]Mark
}

// Relation says Σ Coef[i]·cell(Cols[i]) ≤ 0 in every row.
type Relation struct {
	Cols []int
	Coef []int
}

// AtMost is the relation cell(small) ≤ cell(big).
func AtMost(small, big int) Relation {
	return Relation{Cols: []int{small, big}, Coef: []int{1, -1}}
}

// Fact is something else a reader knows: the cells sum to at least Min.
// The first month shown holds a report or a tip, for one: that is why it
// is the first.
type Fact struct {
	Cells []CellRef
	Min   int
}

// CellRef is a cell of a publication: table, row, column indexes.
type CellRef struct{ Table, Row, Col int }

// Publication is the tables shown together for one period. Every table
// counts the same reports, split by a different row dimension, so a column
// key has the same sum in every table that has it: the period's total for
// that column. Those totals are either shown (in the totals row) or not,
// but the equalities hold either way, and Protect treats them as known.
type Publication struct {
	K          int
	Tables     []*Table
	ShowTotals bool
	Facts      []Fact

	// Totals by column key, and how each is published; set by Protect.
	Totals     map[string]int
	TotalMarks map[string]Mark
}

// ErrCannotProtect means Protect found no way to publish the tables with
// every small figure safe; the caller publishes less.
var ErrCannotProtect = errors.New("stats: figures cannot be published safely")

// Protect decides how every figure of p is published:
//
//  1. Primary suppression: every cell and total under k is Small
//     (frozen rows keep the marks they were published with).
//  2. The interval audit (audit.go): for every Small figure holding at
//     least one report, a reader who solves everything published as an
//     integer system must find it can be 0 and can be k−1. That is, the
//     narrowest interval anyone can prove for it is the whole of
//     [0, k−1] that "<k" says anyway.
//  3. Complementary suppression: while some Small figure fails, hide one
//     more figure near it (the one that mends it on its own, trying the
//     cheapest first: the smallest shown cells of its column, then its
//     totals, then figures further away through the relations) and audit
//     again.
//
// Protect returns ErrCannotProtect when nothing more can be hidden and some
// figure can still be narrowed.
func Protect(p *Publication) error {
	if p.K < 2 {
		return fmt.Errorf("stats: k must be at least 2, not %d", p.K)
	}
	m, err := newModel(p)
	if err != nil {
		return err
	}
	for v := range m.val {
		if !m.frozen[v] && m.mark[v] == Shown && m.val[v] < m.k[v] {
			m.mark[v] = Small
		}
	}
	a := newAudit(m)
	for {
		v, side := a.firstExposed()
		if v < 0 {
			break
		}
		if !a.hideFor(v, side) {
			return ErrCannotProtect
		}
	}
	m.write(p)
	return nil
}

// trySingly bounds how many candidates hideFor tries one by one.
const trySingly = 24

// hideFor hides one more figure so that v may be safe on side: the first
// candidate that makes it safe on its own, else the first candidate. It
// returns false when there is nothing left to hide.
func (a *audit) hideFor(v int, side int) bool {
	m := a.m
	cands := m.candidates(v)
	if len(cands) == 0 {
		return false
	}
	for i, c := range cands {
		if i == trySingly {
			break
		}
		m.setMark(c, Hidden)
		if a.check(v, side) {
			return true
		}
		m.setMark(c, Shown)
	}
	m.setMark(cands[0], Hidden)
	return true
}

// candidates lists the shown figures that may be hidden to protect x, best
// first: the smallest shown cells sharing a relation with x (the classic
// complementary cell: it costs the least information), totals, then
// figures further away through the relations (the same column in the
// other tables, which share the total, and so on), nearest first.
func (m *model) candidates(x int) []int {
	own := map[int]bool{}
	for _, ri := range m.varRows[x] {
		for _, v := range m.rows[ri].vars {
			own[v] = true
		}
	}
	rank := func(v int) int {
		switch {
		case own[v] && m.totalOf[v] == "":
			return 0
		case m.totalOf[v] != "":
			return 1
		}
		return 2
	}
	var out []int
	seen := map[int]bool{x: true}
	level := []int{x}
	for len(level) > 0 {
		var next []int
		for _, v := range level {
			for _, ri := range m.varRows[v] {
				for _, u := range m.rows[ri].vars {
					if !seen[u] {
						seen[u] = true
						next = append(next, u)
					}
				}
			}
		}
		slices.SortStableFunc(next, func(a, b int) int {
			if ra, rb := rank(a), rank(b); ra != rb {
				return ra - rb
			}
			return m.val[a] - m.val[b]
		})
		for _, v := range next {
			if m.mark[v] == Shown && !m.frozen[v] {
				out = append(out, v)
			}
		}
		level = next
	}
	return out
}

// model is a publication as a reader can see it: one variable per cell and
// per column total, with bounds from how it is published, and rows: each
// column of each table sums to the column's total, each relation holds in
// every row, each fact holds.
type model struct {
	k      []int // the k each figure is published with
	val    []int
	mark   []Mark
	frozen []bool

	rows    []linRow // bounds aside, what a reader knows
	varRows [][]int  // the rows each variable is in

	// where each variable came from, to write the marks back.
	cellOf  map[int]CellRef
	totalOf map[int]string

	version int // bumped by every change of a mark
}

func newModel(p *Publication) (*model, error) {
	m := &model{cellOf: map[int]CellRef{}, totalOf: map[int]string{}}
	newVar := func(val, k int, mark Mark, frozen bool) int {
		m.val = append(m.val, val)
		m.k = append(m.k, k)
		m.mark = append(m.mark, mark)
		m.frozen = append(m.frozen, frozen)
		m.varRows = append(m.varRows, nil)
		return len(m.val) - 1
	}
	addRow := func(r linRow) {
		m.rows = append(m.rows, r)
		for _, v := range r.vars {
			m.varRows[v] = append(m.varRows[v], len(m.rows)-1)
		}
	}

	// Totals first, in the order columns first appear.
	p.Totals = map[string]int{}
	var keys []string
	for _, t := range p.Tables {
		if err := t.check(p.K); err != nil {
			return nil, err
		}
		for c, key := range t.Cols {
			sum := 0
			for r := range t.Rows {
				sum += t.Cells[r][c]
			}
			if prev, ok := p.Totals[key]; ok && prev != sum {
				return nil, fmt.Errorf("stats: column %q sums to %d in table %q but %d before", key, sum, t.Name, prev)
			}
			if _, ok := p.Totals[key]; !ok {
				keys = append(keys, key)
			}
			p.Totals[key] = sum
		}
	}
	mark := Unpublished
	if p.ShowTotals {
		mark = Shown
	}
	totalVar := map[string]int{}
	for _, key := range keys {
		v := newVar(p.Totals[key], p.K, mark, false)
		totalVar[key] = v
		m.totalOf[v] = key
	}

	cells := make([][][]int, len(p.Tables))
	for ti, t := range p.Tables {
		vars := make([][]int, len(t.Rows))
		for r := range t.Rows {
			k := p.K
			if t.RowK != nil && t.RowK[r] > 0 {
				k = t.RowK[r]
			}
			vars[r] = make([]int, len(t.Cols))
			for c := range t.Cols {
				mk := Shown
				if t.Frozen[r] {
					mk = frozenMark(t, r, c, k)
				}
				v := newVar(t.Cells[r][c], k, mk, t.Frozen[r])
				vars[r][c] = v
				m.cellOf[v] = CellRef{ti, r, c}
			}
		}
		cells[ti] = vars
		for c, key := range t.Cols {
			row := linRow{vars: []int{totalVar[key]}, coef: []int{-1}}
			for r := range t.Rows {
				row.vars, row.coef = append(row.vars, vars[r][c]), append(row.coef, 1)
			}
			addRow(row)
		}
		for r := range t.Rows {
			for _, rel := range t.Relations {
				row := linRow{lo: -unbounded}
				for i, c := range rel.Cols {
					row.vars, row.coef = append(row.vars, vars[r][c]), append(row.coef, rel.Coef[i])
				}
				addRow(row)
			}
		}
	}
	for _, f := range p.Facts {
		row := linRow{lo: f.Min, hi: unbounded}
		for _, c := range f.Cells {
			if c.Table >= len(cells) || c.Row >= len(cells[c.Table]) || c.Col >= len(cells[c.Table][c.Row]) {
				return nil, errors.New("stats: a fact names a cell that is not there")
			}
			row.vars, row.coef = append(row.vars, cells[c.Table][c.Row][c.Col]), append(row.coef, 1)
		}
		addRow(row)
	}
	// The true figures are a solution: the tables are consistent.
	if sys := m.system(); !sys.holds(m.val) {
		return nil, errors.New("stats: the tables contradict their relations or facts")
	}
	return m, nil
}

// frozenMark is how a frozen row's cell was published: as given, or the
// small-cell mark.
func frozenMark(t *Table, r, c, k int) Mark {
	if t.Marks != nil && r < len(t.Marks) && t.Marks[r] != nil {
		return t.Marks[r][c]
	}
	if t.Cells[r][c] < k {
		return Small
	}
	return Shown
}

func (t *Table) check(k int) error {
	if len(t.Cells) != len(t.Rows) || len(t.Frozen) != len(t.Rows) || (t.RowK != nil && len(t.RowK) != len(t.Rows)) {
		return fmt.Errorf("stats: table %q is malformed", t.Name)
	}
	for r := range t.Rows {
		if len(t.Cells[r]) != len(t.Cols) {
			return fmt.Errorf("stats: table %q row %q has %d cells, not %d", t.Name, t.Rows[r], len(t.Cells[r]), len(t.Cols))
		}
		for _, n := range t.Cells[r] {
			if n < 0 {
				return fmt.Errorf("stats: table %q has a negative count", t.Name)
			}
		}
		if t.RowK != nil && t.RowK[r] != 0 && t.RowK[r] < 2 {
			return fmt.Errorf("stats: table %q row %q: k %d", t.Name, t.Rows[r], t.RowK[r])
		}
		if !t.Frozen[r] || t.Marks == nil || r >= len(t.Marks) || t.Marks[r] == nil {
			continue
		}
		rk := k
		if t.RowK != nil && t.RowK[r] > 0 {
			rk = t.RowK[r]
		}
		if len(t.Marks[r]) != len(t.Cols) {
			return fmt.Errorf("stats: table %q row %q: marks malformed", t.Name, t.Rows[r])
		}
		for c, mk := range t.Marks[r] {
			n := t.Cells[r][c]
			if mk > Hidden || (mk == Small) != (n < rk) {
				return fmt.Errorf("stats: table %q row %q: %d marked %d", t.Name, t.Rows[r], n, mk)
			}
		}
	}
	for _, rel := range t.Relations {
		if len(rel.Cols) != len(rel.Coef) {
			return fmt.Errorf("stats: table %q: bad relation", t.Name)
		}
		for _, c := range rel.Cols {
			if c < 0 || c >= len(t.Cols) {
				return fmt.Errorf("stats: table %q: bad relation", t.Name)
			}
		}
	}
	return nil
}

// bounds are what a reader knows of v from how it is published.
func (m *model) bounds(v int) (lo, hi int) {
	switch m.mark[v] {
	case Shown:
		return m.val[v], m.val[v]
	case Small:
		return 0, m.k[v] - 1
	case Hidden:
		return m.k[v], unbounded
	default: // Unpublished
		return 0, unbounded
	}
}

// system is what a reader knows, as a linear system.
func (m *model) system() *linSystem {
	sys := &linSystem{lo: make([]int, len(m.val)), hi: make([]int, len(m.val)), rows: m.rows}
	for v := range m.val {
		sys.lo[v], sys.hi[v] = m.bounds(v)
	}
	return sys
}

func (m *model) setMark(v int, mk Mark) {
	m.mark[v] = mk
	m.version++
}

func (m *model) write(p *Publication) {
	for _, t := range p.Tables {
		t.Marks = make([][]Mark, len(t.Rows))
		for r := range t.Rows {
			t.Marks[r] = make([]Mark, len(t.Cols))
		}
	}
	p.TotalMarks = map[string]Mark{}
	for v := range m.val {
		if ref, ok := m.cellOf[v]; ok {
			p.Tables[ref.Table].Marks[ref.Row][ref.Col] = m.mark[v]
		} else {
			p.TotalMarks[m.totalOf[v]] = m.mark[v]
		}
	}
}
