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
	// be worked out by subtraction; shown as "x".
	Hidden
	// Unpublished: a total that is not on the page at all (a year still
	// open). The relation still holds, and a reader may know it: the
	// column of each table sums to the same unknown number.
	Unpublished
)

// Table is one published two-way table: counts by row (month, county, age
// band) and column (reports, each kind of harm, tips).
type Table struct {
	Name  string
	Rows  []string
	Cols  []string
	Cells [][]int // [row][col]
	// Within[c] is the column whose cell in the same row is never smaller
	// than column c's (a kind of harm is named by at most every report of
	// the row), or -1. A reader knows this too.
	Within []int
	// Frozen[r] says row r was published before, with only its small
	// cells suppressed, so it cannot be hidden now: hiding it would only
	// hide it from readers who did not keep the earlier page.
	Frozen []bool

	// Marks, set by Protect.
	Marks [][]Mark
}

// Publication is the tables shown together for one period. Every table
// counts the same reports, split by a different row dimension, so a column
// key has the same sum in every table that has it: the period's total for
// that column. Those totals are either shown (in the totals row) or not,
// but the equalities hold either way, and Protect treats them as known.
type Publication struct {
	K          int
	Tables     []*Table
	ShowTotals bool

	// Totals by column key, and how each is published; set by Protect.
	Totals     map[string]int
	TotalMarks map[string]Mark
}

// ErrCannotProtect means Protect found no way to publish the tables with
// every small figure safe; the caller publishes less.
var ErrCannotProtect = errors.New("stats: figures cannot be published safely")

// Protect decides how every figure of p is published:
//
//  1. Primary suppression: every cell and total under k is Small.
//  2. Complementary suppression: while some Small figure holding at least
//     one report could be worked out exactly from what is published (the
//     shown figures, the bounds "<k" and "x" give, the column sums shared
//     by the tables, and "a kind of harm is named by at most every
//     report"), hide one more figure next to it: the smallest shown cell
//     of its column, else the column's total, else a figure it is tied to
//     through a relation.
//
// Whether a figure can be worked out is decided by audit (see audit.go):
// a figure is safe when another assignment of the hidden figures, within
// their bounds and satisfying every relation, gives it a different value.
// That is a witness, so the answer "safe" is never wrong; when the search
// finds none, the figure is treated as exposed and more is hidden.
//
// Protect returns ErrCannotProtect when nothing more can be hidden and some
// figure is still exposed.
func Protect(p *Publication) error {
	if p.K < 2 {
		return fmt.Errorf("stats: k must be at least 2, not %d", p.K)
	}
	m, err := newModel(p)
	if err != nil {
		return err
	}
	for v := range m.val {
		if m.mark[v] == Shown && m.val[v] < m.k {
			m.mark[v] = Small
		}
	}
	safe := make([]bool, len(m.val))
	for {
		x := -1
		for v := range m.val {
			if safe[v] || !m.target(v) {
				continue
			}
			if m.movable(v) {
				// Hiding more only widens what a reader must
				// consider, so a safe figure stays safe.
				safe[v] = true
				continue
			}
			x = v
			break
		}
		if x < 0 {
			break
		}
		if !m.hideFor(x) {
			return ErrCannotProtect
		}
	}
	m.write(p)
	return nil
}

// target reports whether v must not be derivable: a Small figure holding
// at least one report. A Small figure that is in fact zero may be
// derivable: knowing that nobody in a group reported picks nobody out.
func (m *model) target(v int) bool { return m.mark[v] == Small && m.val[v] > 0 }

// trySingly bounds how many candidates hideFor tries one by one.
const trySingly = 24

// hideFor hides one more figure so that x may become safe: the first
// candidate that makes it safe on its own, else the first candidate. It
// returns false when there is nothing left to hide.
func (m *model) hideFor(x int) bool {
	cands := m.candidates(x)
	if len(cands) == 0 {
		return false
	}
	for i, c := range cands {
		if i == trySingly {
			break
		}
		m.mark[c] = Hidden
		if m.movable(x) {
			return true
		}
		m.mark[c] = Shown
	}
	m.mark[cands[0]] = Hidden
	return true
}

// candidates lists the shown figures that may be hidden to protect x, best
// first: the smallest shown cells of x's column (the classic complementary
// cell: it costs the least information), the column's total, the figures x
// is tied to in its row, then figures further away through the relations
// (the same column in the other tables, which share the total, and so on),
// nearest first.
func (m *model) candidates(x int) []int {
	own := map[int]bool{}
	for _, eq := range m.varEqs[x] {
		for _, c := range m.eqs[eq.e].cells {
			own[c] = true
		}
	}
	rank := func(v int) int {
		switch {
		case own[v]:
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
			for _, u := range m.neighbours(v) {
				if !seen[u] {
					seen[u] = true
					next = append(next, u)
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
			if m.hideable(v) {
				out = append(out, v)
			}
		}
		level = next
	}
	return out
}

// neighbours are the variables sharing an equation or a coupling with v.
func (m *model) neighbours(v int) []int {
	var out []int
	for _, eq := range m.varEqs[v] {
		e := m.eqs[eq.e]
		out = append(out, e.cells...)
		out = append(out, e.total)
	}
	for _, ci := range m.varCouplings[v] {
		c := m.couplings[ci]
		out = append(out, c.lo, c.hi)
	}
	return out
}

func (m *model) hideable(v int) bool {
	return m.mark[v] == Shown && !m.frozen[v]
}

// model is a publication as a reader can see it: one variable per cell and
// per column total, with bounds from how it is published, equations (each
// column of each table sums to the column's total) and couplings (a ≤ b).
type model struct {
	k      int
	val    []int
	mark   []Mark
	frozen []bool

	eqs       []equation
	varEqs    [][]eqRef
	couplings []coupling
	// varCouplings lists the couplings each variable is in.
	varCouplings [][]int

	// where each variable came from, to write the marks back.
	cellOf  map[int]cellRef
	totalOf map[int]string
}

type equation struct {
	cells []int // sum of these …
	total int   // … equals this
}

// eqRef is a variable's place in an equation: sign +1 for a cell, -1 for
// the total.
type eqRef struct{ e, sign int }

type coupling struct{ lo, hi int } // val[lo] <= val[hi]

type cellRef struct{ t, r, c int }

func newModel(p *Publication) (*model, error) {
	m := &model{k: p.K, cellOf: map[int]cellRef{}, totalOf: map[int]string{}}
	newVar := func(val int, mark Mark, frozen bool) int {
		m.val = append(m.val, val)
		m.mark = append(m.mark, mark)
		m.frozen = append(m.frozen, frozen)
		m.varEqs = append(m.varEqs, nil)
		m.varCouplings = append(m.varCouplings, nil)
		return len(m.val) - 1
	}
	addCoupling := func(lo, hi int) {
		m.couplings = append(m.couplings, coupling{lo, hi})
		i := len(m.couplings) - 1
		m.varCouplings[lo] = append(m.varCouplings[lo], i)
		m.varCouplings[hi] = append(m.varCouplings[hi], i)
	}

	// Totals first, in the order columns first appear.
	totalVar := map[string]int{}
	p.Totals = map[string]int{}
	var keys []string
	within := map[string]string{}
	for _, t := range p.Tables {
		if err := t.check(); err != nil {
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
			if w := t.Within[c]; w >= 0 {
				within[key] = t.Cols[w]
			}
		}
	}
	mark := Unpublished
	if p.ShowTotals {
		mark = Shown
	}
	for _, key := range keys {
		v := newVar(p.Totals[key], mark, false)
		totalVar[key] = v
		m.totalOf[v] = key
	}
	for _, key := range keys {
		if w, ok := within[key]; ok {
			addCoupling(totalVar[key], totalVar[w])
		}
	}

	for ti, t := range p.Tables {
		vars := make([][]int, len(t.Rows))
		for r := range t.Rows {
			vars[r] = make([]int, len(t.Cols))
			for c := range t.Cols {
				v := newVar(t.Cells[r][c], Shown, t.Frozen[r])
				vars[r][c] = v
				m.cellOf[v] = cellRef{ti, r, c}
			}
		}
		for c, key := range t.Cols {
			e := equation{total: totalVar[key]}
			for r := range t.Rows {
				e.cells = append(e.cells, vars[r][c])
			}
			m.eqs = append(m.eqs, e)
			ei := len(m.eqs) - 1
			for _, v := range e.cells {
				m.varEqs[v] = append(m.varEqs[v], eqRef{ei, +1})
			}
			m.varEqs[e.total] = append(m.varEqs[e.total], eqRef{ei, -1})
		}
		for r := range t.Rows {
			for c, w := range t.Within {
				if w >= 0 {
					addCoupling(vars[r][c], vars[r][w])
				}
			}
		}
	}
	return m, nil
}

func (t *Table) check() error {
	if len(t.Cells) != len(t.Rows) || len(t.Frozen) != len(t.Rows) || len(t.Within) != len(t.Cols) {
		return fmt.Errorf("stats: table %q is malformed", t.Name)
	}
	for r := range t.Rows {
		if len(t.Cells[r]) != len(t.Cols) {
			return fmt.Errorf("stats: table %q row %q has %d cells, not %d", t.Name, t.Rows[r], len(t.Cells[r]), len(t.Cols))
		}
		for c, n := range t.Cells[r] {
			if n < 0 {
				return fmt.Errorf("stats: table %q has a negative count", t.Name)
			}
			if w := t.Within[c]; w >= 0 && n > t.Cells[r][w] {
				return fmt.Errorf("stats: table %q row %q: %s %d exceeds %s %d", t.Name, t.Rows[r], t.Cols[c], n, t.Cols[w], t.Cells[r][w])
			}
		}
	}
	for c, w := range t.Within {
		if w >= len(t.Cols) || w == c {
			return fmt.Errorf("stats: table %q: bad Within", t.Name)
		}
	}
	return nil
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
			p.Tables[ref.t].Marks[ref.r][ref.c] = m.mark[v]
		} else {
			p.TotalMarks[m.totalOf[v]] = m.mark[v]
		}
	}
}
