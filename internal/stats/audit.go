package stats

import "sync/atomic"

// The interval audit: how narrowly can a reader pin a suppressed figure?
//
// A reader knows every shown figure, that a "<k" figure is between 0 and
// k−1, that an "x" figure is at least k, that each column of each table
// sums to the column's total (shown or not, the same in every table), the
// relations of each row (a kind of harm is named by at most every report
// of its row …) and the facts (the first month shown holds a report or a
// tip). Solving all of that together as an integer system gives each
// suppressed figure an interval: the smallest and the largest value any
// solution gives it. Statistical disclosure control tools (τ-Argus,
// sdcTable) audit exactly this.
//
// A Small figure holding a report is safe when its interval is the whole
// [0, k−1]: the reader learns nothing beyond "<k". So for each one, the
// audit asks the solver (lp.go) for two solutions: one where it is 0 (the
// low side) and one where it is k−1 (the high side). Each solution found
// is a full assignment of every figure; any other Small figure that it
// happens to put at 0 or at its k−1 is settled on that side too. Hiding
// more only widens what a reader must consider, so a settled side stays
// settled however much is hidden later.
//
// A Small figure that is in fact 0 is not a target: knowing that nobody
// in a group reported picks nobody out. But a reader who knows this rule
// can use it: a "<k" that cannot be k−1 must be 0, since one holding a
// report could be. So once every target is settled, the audit looks for
// such zeros, fixes them at 0 as that reader would, and audits the targets
// again, until no new zero is found. Hiding more can only free zeros, so
// the zeros are found afresh after every hide.

// Sides of a figure's interval.
const (
	low  = 0 // can it be 0?
	high = 1 // can it be k−1?
)

// auditUnknowns counts questions the solver gave up on (a budget ran out),
// each answered "exposed" and so mended by hiding more. The tests assert
// that the realistic years never need it: there the audit is exact.
var auditUnknowns atomic.Int64

// deduceZeros switches the search for zeros a reader can tell; only a test
// turns it off, to show what it is for.
var deduceZeros = true

type audit struct {
	m       *model
	settled [][2]bool
	// zero[v]: v is a Small figure a reader can tell is 0; zeroOK[v]: v is
	// a Small 0 shown able to be k−1, so no reader can.
	zero, zeroOK []bool
	zeroVersion  int // the model version zero was found for

	// The system and its components, for the model's current marks.
	version int
	sys     *linSystem
	comps   []component
	compOf  []int
	// base[c] is component c's relaxation at the true figures, built
	// when first needed; scratch is where a question is worked.
	base    map[int]*lp
	scratch lp
}

func newAudit(m *model) *audit {
	return &audit{m: m, settled: make([][2]bool, len(m.val)), version: -1,
		zero: make([]bool, len(m.val)), zeroOK: make([]bool, len(m.val))}
}

// target reports whether v must have the full interval: a Small figure
// holding at least one report.
func (a *audit) target(v int) bool { return a.m.mark[v] == Small && a.m.val[v] > 0 }

func (a *audit) refresh() {
	if a.zeroVersion != a.m.version {
		// Figures were hidden: the zeros found before may no longer be
		// zeros to a reader. Solutions found with them fixed still hold.
		clear(a.zero)
		a.zeroVersion = a.m.version
		a.version = -1
	}
	if a.version == a.m.version {
		return
	}
	a.sys = a.m.system()
	for v, z := range a.zero {
		if z {
			a.sys.lo[v], a.sys.hi[v] = 0, 0
		}
	}
	a.comps, a.compOf = a.sys.components()
	a.base = map[int]*lp{}
	a.version = a.m.version
}

// firstExposed returns a target and a side on which its interval is
// narrower than [0, k−1], or -1.
func (a *audit) firstExposed() (int, int) {
	for {
		for v := range a.m.val {
			if !a.target(v) {
				continue
			}
			for _, side := range []int{low, high} {
				if !a.settled[v][side] && !a.check(v, side) {
					return v, side
				}
			}
		}
		// Every target is safe; can a reader tell a zero?
		if !deduceZeros {
			return -1, 0
		}
		a.refresh()
		var found []int
		for v := range a.m.val {
			if a.m.mark[v] == Small && a.m.val[v] == 0 && !a.zero[v] && !a.zeroOK[v] && !a.check(v, high) {
				found = append(found, v)
			}
		}
		if len(found) == 0 {
			return -1, 0
		}
		for _, v := range found {
			a.zero[v] = true
		}
		// The reader's system has more in it: what was settled without
		// these zeros must be settled again.
		clear(a.settled)
		clear(a.zeroOK)
		a.version = -1
	}
}

// want is the value side asks of v.
func (a *audit) want(v, side int) int {
	if side == low {
		return 0
	}
	return a.m.k[v] - 1
}

// check asks the solver whether v can take side's value, and settles every
// target the solution found puts at a side's value.
func (a *audit) check(v, side int) bool {
	a.refresh()
	if a.compOf[v] < 0 {
		return false
	}
	c := a.compOf[v]
	if a.base[c] == nil {
		a.base[c] = newLP(a.sys, a.comps[c], a.m.val)
	}
	sol, out := a.sys.solveFrom(a.base[c], &a.scratch, a.comps[c], a.m.val, v, a.want(v, side))
	if out == unknown {
		auditUnknowns.Add(1)
	}
	if out != feasible {
		return false
	}
	for _, u := range a.comps[a.compOf[v]].vars {
		if a.m.mark[u] != Small {
			continue
		}
		for _, s := range []int{low, high} {
			if sol[u] == a.want(u, s) {
				a.settled[u][s] = true
				if s == high && a.m.val[u] == 0 {
					a.zeroOK[u] = true
				}
			}
		}
	}
	return true
}

// interval is the narrowest interval a reader can prove for v, found by
// asking for each value in turn; for tests and diagnostics.
func (m *model) interval(v int) (lo, hi int) {
	sys := m.system()
	comps, compOf := sys.components()
	if compOf[v] < 0 {
		return m.val[v], m.val[v]
	}
	blo, bhi := m.bounds(v)
	bhi = min(bhi, m.val[v]+64)
	lo, hi = m.val[v], m.val[v]
	for x := m.val[v] - 1; x >= blo; x-- {
		if _, out := sys.solveWith(comps[compOf[v]], m.val, v, x); out == feasible {
			lo = x
		}
	}
	for x := m.val[v] + 1; x <= bhi; x++ {
		if _, out := sys.solveWith(comps[compOf[v]], m.val, v, x); out == feasible {
			hi = x
		}
	}
	return lo, hi
}
