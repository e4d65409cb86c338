package stats

import (
	"math"
	"slices"
)

// The audit's solver: does a system of linear constraints over integer
// variables, each within its bounds, have a solution in which one
// variable takes a given value? That is the question a reader who solves
// every published figure together as an integer system asks of each
// suppressed one, at 0 and at k−1.
//
// It is the textbook method, written for these small systems rather than
// borrowed: the linear-programming relaxation is solved by a bounded
// primal simplex (phase 1: minimise the total infeasibility), started from
// the true figures, which are a solution before the one variable is
// fixed; a fractional answer is split by branch and bound. The systems are
// a few hundred variables with coefficients of ±1, most of whose vertices
// are integral, so the search rarely branches.
//
// What it answers is exact in the direction that matters: a solution it
// returns has been checked in integer arithmetic against every constraint
// and bound (a floating-point slip can only make it return nothing), and
// "none" comes from the relaxation having no solution or from a finished
// branch and bound. The one inexact answer is "unknown", when the node or
// pivot budget runs out; the caller treats it as "none" and hides more.

const (
	// unbounded is an upper bound that is not there (an "x" figure or an
	// unpublished total), or a row bound that is not there.
	unbounded = math.MaxInt32
	// lpEps is the tolerance of the floating-point comparisons. The data
	// are small integers, so it can be tight.
	lpEps = 1e-7
	// nodeBudget bounds the branch-and-bound nodes of one question.
	nodeBudget = 4000
)

// linSystem is what a reader knows: integer variables within bounds, and
// rows lo ≤ Σ coef·x ≤ hi.
type linSystem struct {
	lo, hi []int // hi may be unbounded
	rows   []linRow
}

type linRow struct {
	vars   []int
	coef   []int
	lo, hi int // -unbounded, unbounded when absent
}

// outcome is the answer to one question.
type outcome uint8

const (
	infeasible outcome = iota
	feasible
	unknown // a budget ran out: treated as infeasible, counted by the caller
)

// component is the part of a system a question touches: the free
// variables (lo < hi) connected to the one fixed, and the rows among them.
// Everything outside it can keep its true value.
type component struct {
	vars []int
	rows []int
}

// components splits the free variables of sys into connected components
// through the rows. compOf[v] is v's component, or -1 for a fixed variable.
func (sys *linSystem) components() (comps []component, compOf []int) {
	n := len(sys.lo)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	free := func(v int) bool { return sys.lo[v] < sys.hi[v] }
	for _, r := range sys.rows {
		first := -1
		for _, v := range r.vars {
			if !free(v) {
				continue
			}
			if first < 0 {
				first = v
			} else if a, b := find(first), find(v); a != b {
				parent[a] = b
			}
		}
	}
	compOf = make([]int, n)
	index := map[int]int{}
	for v := range n {
		compOf[v] = -1
		if !free(v) {
			continue
		}
		root := find(v)
		ci, ok := index[root]
		if !ok {
			ci = len(comps)
			index[root] = ci
			comps = append(comps, component{})
		}
		compOf[v] = ci
		comps[ci].vars = append(comps[ci].vars, v)
	}
	for ri, r := range sys.rows {
		for _, v := range r.vars {
			if compOf[v] >= 0 {
				comps[compOf[v]].rows = append(comps[compOf[v]].rows, ri)
				break
			}
		}
	}
	return comps, compOf
}

// solveWith looks for an integer solution of sys with x[fix] = val, given
// start, a solution of sys (the true figures). Only the component of fix
// moves; the solution returned is a full assignment, checked.
func (sys *linSystem) solveWith(comp component, start []int, fix, val int) ([]int, outcome) {
	return sys.solveFrom(newLP(sys, comp, start), nil, comp, start, fix, val)
}

// solveFrom is solveWith from base, the component's relaxation at start,
// which it leaves as it was: work is done in scratch (reused when not nil).
func (sys *linSystem) solveFrom(base, scratch *lp, comp component, start []int, fix, val int) ([]int, outcome) {
	if val < sys.lo[fix] || val > sys.hi[fix] {
		return nil, infeasible
	}
	if val == start[fix] {
		return slices.Clone(start), feasible
	}
	if scratch == nil {
		scratch = &lp{}
	}
	p := scratch
	p.copyFrom(base)
	j := slices.Index(comp.vars, fix)
	p.setBounds(j, float64(val), float64(val))
	budget := nodeBudget
	out := p.branchAndBound(&budget)
	if out != feasible {
		return nil, out
	}
	sol := slices.Clone(start)
	for i, v := range comp.vars {
		sol[v] = int(math.Round(p.x[i]))
	}
	if sol[fix] != val || !sys.holds(sol) {
		return nil, unknown // a numerical slip: never claim what is not so
	}
	return sol, feasible
}

// holds checks an assignment in integer arithmetic.
func (sys *linSystem) holds(x []int) bool {
	for v := range x {
		if x[v] < sys.lo[v] || x[v] > sys.hi[v] {
			return false
		}
	}
	for _, r := range sys.rows {
		s := 0
		for i, v := range r.vars {
			s += r.coef[i] * x[v]
		}
		if s < r.lo || s > r.hi {
			return false
		}
	}
	return true
}

// lp is the relaxation of one component in tableau form. Columns 0..n-1
// are the component's variables, column n+i is row i's slack (the row's
// sum, bounded by the row's bounds). Each tableau row says Σ t[i][j]·x[j]
// = 0, with coefficient 1 on the row's basic column and 0 on every other
// basic column.
type lp struct {
	m, n   int
	cols   int
	t      []float64 // m × cols, row-major
	basis  []int     // basic column of each row
	rowOf  []int     // row of each basic column, -1 if nonbasic
	x      []float64
	lo, hi []float64
}

func newLP(sys *linSystem, comp component, start []int) *lp {
	m, n := len(comp.rows), len(comp.vars)
	p := &lp{m: m, n: n, cols: n + m, t: make([]float64, m*(n+m)), basis: make([]int, m), rowOf: make([]int, n+m),
		x: make([]float64, n+m), lo: make([]float64, n+m), hi: make([]float64, n+m)}
	local := make(map[int]int, n)
	for j, v := range comp.vars {
		local[v] = j
		p.x[j] = float64(start[v])
		p.lo[j], p.hi[j] = bound(sys.lo[v]), bound(sys.hi[v])
		p.rowOf[j] = -1
	}
	for i, ri := range comp.rows {
		r := sys.rows[ri]
		fixed, sum := 0, 0
		for k, v := range r.vars {
			if j, ok := local[v]; ok {
				p.t[i*p.cols+j] -= float64(r.coef[k])
				sum += r.coef[k] * start[v]
			} else {
				fixed += r.coef[k] * start[v]
			}
		}
		s := n + i
		p.t[i*p.cols+s] = 1
		p.basis[i], p.rowOf[s] = s, i
		p.x[s] = float64(sum)
		p.lo[s], p.hi[s] = rowBound(r.lo, fixed), rowBound(r.hi, fixed)
	}
	return p
}

func bound(b int) float64 {
	switch b {
	case unbounded:
		return math.Inf(1)
	case -unbounded:
		return math.Inf(-1)
	}
	return float64(b)
}

// rowBound is a row's bound on the component's part of the sum.
func rowBound(b, fixed int) float64 {
	if b == unbounded || b == -unbounded {
		return bound(b)
	}
	return float64(b - fixed)
}

func (p *lp) clone() *lp {
	q := &lp{}
	q.copyFrom(p)
	return q
}

// copyFrom makes p a copy of q, reusing p's arrays.
func (p *lp) copyFrom(q *lp) {
	p.m, p.n, p.cols = q.m, q.n, q.cols
	p.t = append(p.t[:0], q.t...)
	p.basis = append(p.basis[:0], q.basis...)
	p.rowOf = append(p.rowOf[:0], q.rowOf...)
	p.x = append(p.x[:0], q.x...)
	p.lo = append(p.lo[:0], q.lo...)
	p.hi = append(p.hi[:0], q.hi...)
}

// setBounds narrows column j's bounds; a nonbasic column outside them
// moves to the nearest one, and the basic columns follow.
func (p *lp) setBounds(j int, lo, hi float64) {
	p.lo[j], p.hi[j] = lo, hi
	if p.rowOf[j] >= 0 {
		return // a basic column may be infeasible: phase 1 mends it
	}
	to := min(max(p.x[j], lo), hi)
	if d := to - p.x[j]; d != 0 {
		for i := range p.m {
			if a := p.t[i*p.cols+j]; a != 0 {
				p.x[p.basis[i]] -= a * d
			}
		}
		p.x[j] = to
	}
}

// branchAndBound finds an integral solution of the relaxation.
func (p *lp) branchAndBound(budget *int) outcome {
	switch out := p.phase1(); out {
	case infeasible, unknown:
		return out
	}
	j := -1
	for i := range p.n {
		if f := p.x[i]; math.Abs(f-math.Round(f)) > 1e-6 {
			j = i
			break
		}
	}
	if j < 0 {
		return feasible
	}
	if *budget--; *budget < 0 {
		return unknown
	}
	v := p.x[j]
	down, up := math.Floor(v), math.Floor(v)+1
	first := [2]bool{true, false} // down first when nearer
	if up-v < v-down {
		first = [2]bool{false, true}
	}
	sawUnknown := false
	for _, goDown := range first {
		q := p.clone()
		if goDown {
			q.setBounds(j, q.lo[j], down)
		} else {
			q.setBounds(j, up, q.hi[j])
		}
		if q.lo[j] > q.hi[j] {
			continue
		}
		switch q.branchAndBound(budget) {
		case feasible:
			*p = *q
			return feasible
		case unknown:
			sawUnknown = true
		}
	}
	if sawUnknown {
		return unknown
	}
	return infeasible
}

// phase1 moves the basic columns into their bounds, minimising the sum of
// their infeasibilities, or shows it cannot be done.
func (p *lp) phase1() outcome {
	d := make([]float64, p.m) // +1: basic below its lower bound, -1: above its upper
	g := make([]float64, p.cols)
	maxIter := 50*(p.m+p.n) + 1000
	degenerate := 0
	for range maxIter {
		any := false
		for i := range p.m {
			b := p.basis[i]
			switch {
			case p.x[b] < p.lo[b]-lpEps:
				d[i], any = 1, true
			case p.x[b] > p.hi[b]+lpEps:
				d[i], any = -1, true
			default:
				d[i] = 0
			}
		}
		if !any {
			return feasible
		}
		// g[j]: how fast the infeasibility falls as column j rises.
		clear(g)
		for i := range p.m {
			if d[i] == 0 {
				continue
			}
			row := p.t[i*p.cols : (i+1)*p.cols]
			for j, a := range row {
				if a != 0 {
					g[j] -= d[i] * a
				}
			}
		}
		bland := degenerate > 40
		enter, dir, best := -1, 0.0, 0.0
		for j := range p.cols {
			if p.rowOf[j] >= 0 {
				continue
			}
			var s float64
			switch {
			case g[j] > lpEps && p.x[j] < p.hi[j]-lpEps:
				s = 1
			case g[j] < -lpEps && p.x[j] > p.lo[j]+lpEps:
				s = -1
			default:
				continue
			}
			if bland {
				enter, dir = j, s
				break
			}
			if math.Abs(g[j]) > best {
				enter, dir, best = j, s, math.Abs(g[j])
			}
		}
		if enter < 0 {
			return infeasible // no direction lowers the infeasibility
		}

		// Ratio test: the longest step before a feasible basic column
		// leaves its bounds or an infeasible one reaches the bound it
		// is short of (conservative: it then leaves the basis there).
		step := math.Inf(1)
		if dir > 0 {
			step = p.hi[enter] - p.x[enter]
		} else {
			step = p.x[enter] - p.lo[enter]
		}
		leave := -1
		var leaveAt float64
		for i := range p.m {
			a := p.t[i*p.cols+enter]
			if math.Abs(a) < 1e-9 {
				continue
			}
			b := p.basis[i]
			rate := -a * dir
			var lim, at float64
			switch {
			case d[i] == 0 && rate > 0:
				lim, at = (p.hi[b]-p.x[b])/rate, p.hi[b]
			case d[i] == 0 && rate < 0:
				lim, at = (p.x[b]-p.lo[b])/-rate, p.lo[b]
			case d[i] > 0 && rate > 0:
				lim, at = (p.lo[b]-p.x[b])/rate, p.lo[b]
			case d[i] < 0 && rate < 0:
				lim, at = (p.x[b]-p.hi[b])/-rate, p.hi[b]
			default:
				continue
			}
			if math.IsInf(lim, 1) {
				continue
			}
			lim = max(lim, 0)
			if lim < step-1e-12 || (bland && lim <= step+1e-12 && leave >= 0 && b < p.basis[leave]) {
				step, leave, leaveAt = lim, i, at
			}
		}
		if math.IsInf(step, 1) {
			return unknown // cannot happen: some infeasible column limits the step
		}
		if step < 1e-12 {
			degenerate++
		} else {
			degenerate = 0
		}
		for i := range p.m {
			if a := p.t[i*p.cols+enter]; a != 0 {
				p.x[p.basis[i]] -= a * dir * step
			}
		}
		p.x[enter] += dir * step
		if leave < 0 {
			// The entering column reached its own other bound.
			if dir > 0 {
				p.x[enter] = p.hi[enter]
			} else {
				p.x[enter] = p.lo[enter]
			}
			continue
		}
		p.x[p.basis[leave]] = leaveAt
		p.pivot(leave, enter)
	}
	return unknown
}

// pivot makes column j basic in row r.
func (p *lp) pivot(r, j int) {
	c := p.cols
	pr := p.t[r*c : (r+1)*c]
	a := pr[j]
	for k := range pr {
		if pr[k] != 0 {
			pr[k] /= a
			if math.Abs(pr[k]) < 1e-12 {
				pr[k] = 0
			}
		}
	}
	pr[j] = 1
	nz := make([]int, 0, 16)
	for k, v := range pr {
		if v != 0 {
			nz = append(nz, k)
		}
	}
	for i := range p.m {
		if i == r {
			continue
		}
		row := p.t[i*c : (i+1)*c]
		f := row[j]
		if f == 0 {
			continue
		}
		for _, k := range nz {
			row[k] -= f * pr[k]
			if math.Abs(row[k]) < 1e-12 {
				row[k] = 0
			}
		}
		row[j] = 0
	}
	old := p.basis[r]
	p.rowOf[old] = -1
	p.basis[r], p.rowOf[j] = j, r
}
