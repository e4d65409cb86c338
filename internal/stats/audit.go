package stats

import (
	"math"
	"slices"
)

// The audit: can a reader work out a suppressed figure exactly?
//
// A reader knows every shown figure, that a "<k" figure is between 0 and
// k-1, that an "x" figure is at least k, that each column of each table
// sums to the column's total (shown or not, the same in every table), and
// that a kind of harm is named by at most every report of its row. A
// suppressed figure can be worked out exactly when every assignment of the
// suppressed figures that fits all of that gives it the same value.
//
// movable(x) looks for a witness that this is not so: a change of ±1 to x,
// repaired by ±1 changes to other suppressed figures until every bound,
// equation and coupling holds again. A witness found is a second
// assignment the reader cannot rule out, so "movable" is never wrong. The
// search is bounded, so "not movable" may be pessimistic: the figure is
// then treated as exposed and Protect hides more. The tests in
// protect_test.go check every witness on its own, and the published result
// against an exhaustive search on small tables.

const (
	inf = math.MaxInt32
	// maxMoves bounds a witness: x and up to this many repairs.
	maxMoves = 14
	// searchBudget bounds the nodes one search may visit.
	searchBudget = 5000
)

// bounds are what a reader knows of v from how it is published.
func (m *model) bounds(v int) (lo, hi int) {
	switch m.mark[v] {
	case Shown:
		return m.val[v], m.val[v]
	case Small:
		return 0, m.k - 1
	case Hidden:
		return m.k, inf
	default: // Unpublished
		return 0, inf
	}
}

func (m *model) canMove(v, d int) bool {
	if m.mark[v] == Shown {
		return false
	}
	lo, hi := m.bounds(v)
	n := m.val[v] + d
	return n >= lo && n <= hi
}

type move struct{ v, d int }

// movable reports whether some assignment a reader cannot rule out gives x
// another value.
func (m *model) movable(x int) bool { return m.witness(x) != nil }

// witness returns the changes from the true figures to another assignment
// a reader cannot rule out in which x differs, or nil.
func (m *model) witness(x int) []move {
	for _, d := range []int{-1, +1} {
		if !m.canMove(x, d) {
			continue
		}
		budget := searchBudget
		if w := m.repair([]move{{x, d}}, &budget); w != nil {
			return w
		}
	}
	return nil
}

func (m *model) delta(moves []move, v int) int {
	for _, mv := range moves {
		if mv.v == v {
			return mv.d
		}
	}
	return 0
}

// repair extends moves until no equation or coupling is broken, and
// returns them; nil when the search finds no way.
func (m *model) repair(moves []move, budget *int) []move {
	*budget--
	if *budget < 0 {
		return nil
	}
	fixes, broken := m.firstBroken(moves)
	if !broken {
		return slices.Clone(moves)
	}
	if len(moves) > maxMoves {
		return nil
	}
	for _, f := range fixes {
		if w := m.repair(append(moves, f), budget); w != nil {
			return w
		}
		if *budget < 0 {
			return nil
		}
	}
	return nil
}

// firstBroken finds the first equation or coupling the moves break and
// lists the single moves that would mend it (one step of it), or reports
// that nothing is broken.
func (m *model) firstBroken(moves []move) ([]move, bool) {
	moved := func(v int) bool { return m.delta(moves, v) != 0 }
	for _, mv := range moves {
		for _, ref := range m.varEqs[mv.v] {
			s := 0
			for _, o := range moves {
				for _, r := range m.varEqs[o.v] {
					if r.e == ref.e {
						s += r.sign * o.d
					}
				}
			}
			if s == 0 {
				continue
			}
			// Bring the equation one step back towards balance.
			want := -sign(s)
			e := m.eqs[ref.e]
			var fixes []move
			for _, c := range e.cells {
				if !moved(c) && m.canMove(c, want) {
					fixes = append(fixes, move{c, want})
				}
			}
			if !moved(e.total) && m.canMove(e.total, -want) {
				fixes = append(fixes, move{e.total, -want})
			}
			return m.order(fixes), true
		}
	}
	for _, mv := range moves {
		for _, ci := range m.varCouplings[mv.v] {
			c := m.couplings[ci]
			if m.val[c.lo]+m.delta(moves, c.lo) <= m.val[c.hi]+m.delta(moves, c.hi) {
				continue
			}
			var fixes []move
			if !moved(c.hi) && m.canMove(c.hi, +1) {
				fixes = append(fixes, move{c.hi, +1})
			}
			if !moved(c.lo) && m.canMove(c.lo, -1) {
				fixes = append(fixes, move{c.lo, -1})
			}
			return fixes, true
		}
	}
	return nil, false
}

// order tries first the repairs least likely to break something else: a
// figure with no coupling, then one with room on the coupled side.
func (m *model) order(fixes []move) []move {
	free := fixes[:0:0]
	var rest []move
	for _, f := range fixes {
		if len(m.varCouplings[f.v]) == 0 {
			free = append(free, f)
		} else {
			rest = append(rest, f)
		}
	}
	return append(free, rest...)
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}
