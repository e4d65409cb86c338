package stats

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// randomSystem draws a small system that a known assignment satisfies:
// variables in [0, 3] (some unbounded above, some fixed), rows of ±1 and
// ±2 coefficients that are equalities, upper or lower bounds at or around
// the assignment's sum.
func randomSystem(rng *rand.Rand) (*linSystem, []int) {
	n := 2 + rng.IntN(6)
	sys := &linSystem{}
	start := make([]int, n)
	for v := range n {
		start[v] = rng.IntN(4)
		lo, hi := 0, 3
		switch rng.IntN(6) {
		case 0:
			hi = unbounded
		case 1:
			lo, hi = start[v], start[v]
		}
		sys.lo, sys.hi = append(sys.lo, lo), append(sys.hi, hi)
	}
	for range 1 + rng.IntN(5) {
		var r linRow
		s := 0
		for v := range n {
			if rng.IntN(2) == 0 {
				continue
			}
			c := []int{1, 1, 1, -1, -1, 2, -2}[rng.IntN(7)]
			r.vars, r.coef = append(r.vars, v), append(r.coef, c)
			s += c * start[v]
		}
		if len(r.vars) == 0 {
			continue
		}
		switch rng.IntN(3) {
		case 0:
			r.lo, r.hi = s, s
		case 1:
			r.lo, r.hi = -unbounded, s+rng.IntN(2)
		default:
			r.lo, r.hi = s-rng.IntN(2), unbounded
		}
		sys.rows = append(sys.rows, r)
	}
	return sys, start
}

// bruteForce says whether some assignment with x[fix] = val holds, trying
// every value up to cap for the unbounded variables (enough for these
// systems: coefficients are small and so are the other variables).
func bruteForce(sys *linSystem, fix, val int) bool {
	n := len(sys.lo)
	x := make([]int, n)
	var try func(v int) bool
	try = func(v int) bool {
		if v == n {
			return sys.holds(x)
		}
		lo, hi := sys.lo[v], min(sys.hi[v], 12)
		if v == fix {
			lo, hi = val, val
		}
		for x[v] = lo; x[v] <= hi; x[v]++ {
			if try(v + 1) {
				return true
			}
		}
		return false
	}
	return try(0)
}

// The solver against brute force on thousands of small systems: every
// answer it gives agrees, and it never gives up on these.
func TestSolverAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	runs := 6000
	if testing.Short() {
		runs = 1500
	}
	agree := map[outcome]int{}
	for i := range runs {
		sys, start := randomSystem(rng)
		if !sys.holds(start) {
			t.Fatalf("run %d: the start does not hold", i)
		}
		comps, compOf := sys.components()
		fix := rng.IntN(len(start))
		if compOf[fix] < 0 {
			continue
		}
		val := rng.IntN(5)
		sol, out := sys.solveWith(comps[compOf[fix]], start, fix, val)
		want := bruteForce(sys, fix, val)
		if out == feasible && !want && slices.Max(sol) > 12 && sys.holds(sol) {
			want = true // beyond the brute force's reach, and checked
		}
		switch {
		case out == unknown:
			t.Errorf("run %d: unknown\n%+v start %v fix x%d=%d", i, sys, start, fix, val)
		case (out == feasible) != want:
			t.Errorf("run %d: solver %v, brute force %v\n%+v start %v fix x%d=%d", i, out == feasible, want, sys, start, fix, val)
		case out == feasible && (sol[fix] != val || !sys.holds(sol)):
			t.Errorf("run %d: solution %v does not hold", i, sol)
		}
		agree[out]++
	}
	t.Logf("%d feasible, %d infeasible", agree[feasible], agree[infeasible])
	if agree[feasible] < runs/10 || agree[infeasible] < runs/10 {
		t.Errorf("lopsided sample: %v", agree)
	}
}

// A system whose relaxation has a fractional vertex only: three rows each
// need two of three variables to sum to 1, an odd cycle. The integer
// answer needs branch and bound.
func TestSolverOddCycle(t *testing.T) {
	sys := &linSystem{lo: []int{0, 0, 0, 0}, hi: []int{1, 1, 1, 3}}
	pair := func(a, b int) linRow { return linRow{vars: []int{a, b}, coef: []int{1, 1}, lo: 1, hi: 1} }
	// x0+x1 = 1, x1+x2 = 1, x0+x2 = 1 has only x = ½ each; with x3
	// loosening one row, integral solutions exist for some x3.
	sys.rows = []linRow{pair(0, 1), pair(1, 2), {vars: []int{0, 2, 3}, coef: []int{1, 1, -1}, lo: 1, hi: 1}}
	start := []int{1, 0, 1, 1}
	if !sys.holds(start) {
		t.Fatal("start")
	}
	comps, compOf := sys.components()
	if _, out := sys.solveWith(comps[compOf[3]], start, 3, 0); out != infeasible {
		t.Errorf("x3=0 (the odd cycle): %v, want infeasible", out)
	}
	// The only integer solution is the start; x1 = ½ is the relaxation's.
	if _, out := sys.solveWith(comps[compOf[1]], start, 1, 1); out != infeasible {
		t.Errorf("x1=1: %v, want infeasible", out)
	}
}
