package stats

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// exhaustive is an independent check of a protected publication: it sets up
// everything a reader knows as a small integer constraint problem and
// searches all of it (no bound on depth, no heuristics, no linear
// programming) for the narrowest interval of each suppressed figure. It
// shares no code with the audit or its solver.
type exhaustive struct {
	lo, hi []int // domain of each variable
	val    []int // the true values
	k      []int // the k of each variable
	name   []string
	target []bool
	small  []bool
	rows   []exRow
	cap    int
}

// exRow is lo ≤ Σ coef·var ≤ hi.
type exRow struct {
	terms  []term
	lo, hi int
}

type term struct{ v, coef int }

func newExhaustive(p *Publication) *exhaustive {
	x := &exhaustive{}
	cap := 0
	for _, t := range p.Tables {
		for _, row := range t.Cells {
			for _, n := range row {
				cap += n
			}
		}
	}
	cap += 2*p.K + 1
	x.cap = cap
	add := func(v, k int, m Mark, name string) int {
		lo, hi := v, v
		switch m {
		case Small:
			lo, hi = 0, k-1
		case Hidden:
			lo, hi = k, cap
		case Unpublished:
			lo, hi = 0, cap
		}
		x.lo, x.hi, x.val, x.k = append(x.lo, lo), append(x.hi, hi), append(x.val, v), append(x.k, k)
		x.name = append(x.name, name)
		x.target = append(x.target, m == Small && v > 0)
		x.small = append(x.small, m == Small)
		return len(x.val) - 1
	}
	total := map[string]int{}
	for _, t := range p.Tables {
		for c, key := range t.Cols {
			if _, ok := total[key]; !ok {
				sum := 0
				for r := range t.Rows {
					sum += t.Cells[r][c]
				}
				total[key] = add(sum, p.K, p.TotalMarks[key], "total "+key)
			}
		}
	}
	cells := make([][][]int, len(p.Tables))
	for ti, t := range p.Tables {
		cell := make([][]int, len(t.Rows))
		for r := range t.Rows {
			k := p.K
			if t.RowK != nil && t.RowK[r] > 0 {
				k = t.RowK[r]
			}
			for c := range t.Cols {
				cell[r] = append(cell[r], add(t.Cells[r][c], k, t.Marks[r][c], fmt.Sprintf("%s %s %s", t.Name, t.Rows[r], t.Cols[c])))
			}
		}
		cells[ti] = cell
		for c, key := range t.Cols {
			eq := exRow{terms: []term{{total[key], -1}}}
			for r := range t.Rows {
				eq.terms = append(eq.terms, term{cell[r][c], 1})
			}
			x.rows = append(x.rows, eq)
		}
		for r := range t.Rows {
			for _, rel := range t.Relations {
				le := exRow{lo: -10 * cap, hi: 0}
				for i, c := range rel.Cols {
					le.terms = append(le.terms, term{cell[r][c], rel.Coef[i]})
				}
				x.rows = append(x.rows, le)
			}
		}
	}
	for _, f := range p.Facts {
		ge := exRow{lo: f.Min, hi: 10 * cap}
		for _, c := range f.Cells {
			ge.terms = append(ge.terms, term{cells[c.Table][c.Row][c.Col], 1})
		}
		x.rows = append(x.rows, ge)
	}
	return x
}

// possible reports whether some assignment keeping every constraint gives
// v the value n: a complete search, branching on values, with interval
// propagation pruning only what cannot hold.
func (x *exhaustive) possible(v, n int, nodes *int) bool {
	lo, hi := slices.Clone(x.lo), slices.Clone(x.hi)
	if n < lo[v] || n > hi[v] {
		return false
	}
	lo[v], hi[v] = n, n
	return x.search(lo, hi, nodes)
}

func (x *exhaustive) search(lo, hi []int, nodes *int) bool {
	*nodes++
	if !x.propagate(lo, hi) {
		return false
	}
	u := -1
	for i := range lo {
		if lo[i] < hi[i] && (u < 0 || hi[i]-lo[i] < hi[u]-lo[u]) {
			u = i
		}
	}
	if u < 0 {
		return true // every variable fixed, every constraint holds
	}
	vals := []int{}
	if x.val[u] >= lo[u] && x.val[u] <= hi[u] {
		vals = append(vals, x.val[u])
	}
	for n := lo[u]; n <= hi[u]; n++ {
		if n != x.val[u] {
			vals = append(vals, n)
		}
	}
	for _, n := range vals {
		l, h := slices.Clone(lo), slices.Clone(hi)
		l[u], h[u] = n, n
		if x.search(l, h, nodes) {
			return true
		}
	}
	return false
}

// propagate narrows every domain by what the constraints allow, until
// nothing changes; false when some domain empties.
func (x *exhaustive) propagate(lo, hi []int) bool {
	for changed := true; changed; {
		changed = false
		for _, row := range x.rows {
			mn, mx := 0, 0
			for _, t := range row.terms {
				if t.coef > 0 {
					mn, mx = mn+t.coef*lo[t.v], mx+t.coef*hi[t.v]
				} else {
					mn, mx = mn+t.coef*hi[t.v], mx+t.coef*lo[t.v]
				}
			}
			if mn > row.hi || mx < row.lo {
				return false
			}
			for _, t := range row.terms {
				// coef·t lies within [row.lo − (mx − its max), row.hi − (mn − its min)].
				tmn, tmx := t.coef*lo[t.v], t.coef*hi[t.v]
				if t.coef < 0 {
					tmn, tmx = tmx, tmn
				}
				a, b := row.lo-(mx-tmx), row.hi-(mn-tmn)
				var l, h int
				if t.coef > 0 {
					l, h = ceilDiv(a, t.coef), floorDiv(b, t.coef)
				} else {
					l, h = ceilDiv(b, t.coef), floorDiv(a, t.coef)
				}
				if l > lo[t.v] {
					lo[t.v], changed = l, true
				}
				if h < hi[t.v] {
					hi[t.v], changed = h, true
				}
				if lo[t.v] > hi[t.v] {
					return false
				}
			}
		}
	}
	return true
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func ceilDiv(a, b int) int { return -floorDiv(-a, b) }

// exposed lists the targets whose interval is narrower than [0, k−1], for
// a reader who also knows the rule: a "<k" that cannot be k−1 must be 0,
// so such figures are fixed at 0 first, until no more are found.
func (x *exhaustive) exposed(t *testing.T) []string {
	t.Helper()
	saved := slices.Clone(x.hi)
	defer func() { x.hi = saved }()
	for found := true; found; {
		found = false
		for v := range x.val {
			nodes := 0
			if x.val[v] == 0 && x.lo[v] == 0 && x.hi[v] == x.k[v]-1 && x.k[v] > 1 && x.isSmall(v) && !x.possible(v, x.k[v]-1, &nodes) {
				x.hi[v], found = 0, true
			}
		}
	}
	var out []string
	for v := range x.val {
		if !x.target[v] {
			continue
		}
		nodes := 0
		if !x.possible(v, 0, &nodes) || !x.possible(v, x.k[v]-1, &nodes) {
			lo, hi := x.interval(v)
			out = append(out, fmt.Sprintf("%s = %d, in [%d, %d]", x.name[v], x.val[v], lo, hi))
		}
	}
	return out
}

func (x *exhaustive) isSmall(v int) bool { return x.small[v] }

// interval is the narrowest interval of v.
func (x *exhaustive) interval(v int) (int, int) {
	lo, hi := x.val[v], x.val[v]
	nodes := 0
	for n := x.lo[v]; n < x.val[v]; n++ {
		if x.possible(v, n, &nodes) {
			lo = n
			break
		}
	}
	for n := min(x.hi[v], x.val[v]+x.cap); n > x.val[v]; n-- {
		if x.possible(v, n, &nodes) {
			hi = n
			break
		}
	}
	return lo, hi
}

// checkPublished asserts what every protected publication must satisfy.
func checkPublished(t *testing.T, p *Publication, exhaustiveToo bool) {
	t.Helper()
	for _, tb := range p.Tables {
		for r := range tb.Rows {
			for c := range tb.Cols {
				n, m := tb.Cells[r][c], tb.Marks[r][c]
				if m == Shown && n < tb.kOf(r, p.K) {
					t.Errorf("%s %s %s: %d shown, under k=%d", tb.Name, tb.Rows[r], tb.Cols[c], n, tb.kOf(r, p.K))
				}
				if m != Shown && n >= tb.kOf(r, p.K) && m != Hidden {
					t.Errorf("%s %s %s: %d marked %d", tb.Name, tb.Rows[r], tb.Cols[c], n, m)
				}
				if m == Hidden && tb.Frozen[r] {
					t.Errorf("%s %s %s: a frozen cell was hidden", tb.Name, tb.Rows[r], tb.Cols[c])
				}
			}
		}
	}
	for key, m := range p.TotalMarks {
		if m == Shown && p.Totals[key] < p.K {
			t.Errorf("total %s: %d shown, under k=%d", key, p.Totals[key], p.K)
		}
		if p.ShowTotals == (m == Unpublished) {
			t.Errorf("total %s marked %d with ShowTotals %v", key, m, p.ShowTotals)
		}
	}
	checkSolutions(t, p)
	if exhaustiveToo {
		if exp := newExhaustive(p).exposed(t); len(exp) > 0 {
			t.Errorf("a reader can work out: %v\n%s", exp, dump(p))
		}
	}
}

// violated says which constraint an assignment breaks, or "".
func (x *exhaustive) violated(val []int) string {
	for v := range val {
		if val[v] < x.lo[v] || val[v] > x.hi[v] {
			return fmt.Sprintf("%s = %d outside [%d, %d]", x.name[v], val[v], x.lo[v], x.hi[v])
		}
	}
	for _, row := range x.rows {
		s := 0
		for _, tm := range row.terms {
			s += tm.coef * val[tm.v]
		}
		if s < row.lo || s > row.hi {
			return fmt.Sprintf("a relation of %s does not hold", x.name[row.terms[0].v])
		}
	}
	return ""
}

// checkSolutions asks the audit's solver, for every suppressed figure
// holding a report, for a solution at 0 and at k−1, and checks each
// solution against the exhaustive model's constraints on its own.
func checkSolutions(t *testing.T, p *Publication) {
	t.Helper()
	m, err := newModel(p)
	if err != nil {
		t.Fatal(err)
	}
	for v := range m.val {
		if ref, ok := m.cellOf[v]; ok {
			m.mark[v] = p.Tables[ref.Table].Marks[ref.Row][ref.Col]
		} else {
			m.mark[v] = p.TotalMarks[m.totalOf[v]]
		}
	}
	x := newExhaustive(p)
	// The exhaustive model numbers its variables as newModel does.
	if len(x.val) != len(m.val) {
		t.Fatalf("models differ: %d and %d variables", len(x.val), len(m.val))
	}
	sys := m.system()
	comps, compOf := sys.components()
	base := map[int]*lp{}
	var scratch lp
	for v := range m.val {
		if m.mark[v] != Small || m.val[v] == 0 {
			continue
		}
		c := compOf[v]
		if base[c] == nil {
			base[c] = newLP(sys, comps[c], m.val)
		}
		for _, want := range []int{0, m.k[v] - 1} {
			sol, out := sys.solveFrom(base[c], &scratch, comps[c], m.val, v, want)
			if out != feasible {
				t.Errorf("%s: no solution at %d (%v)\n%s", x.name[v], want, out, dump(p))
				continue
			}
			if problem := x.violated(sol); problem != "" || sol[v] != want {
				t.Errorf("%s: solution at %d does not hold: %s", x.name[v], want, problem)
			}
		}
	}
}

func dump(p *Publication) string {
	s := ""
	for _, tb := range p.Tables {
		s += tb.Name + "\n"
		for r := range tb.Rows {
			s += fmt.Sprintf("  %-8s", tb.Rows[r])
			for c := range tb.Cols {
				s += fmt.Sprintf(" %3d%s", tb.Cells[r][c], markSym(markAt(tb, r, c)))
			}
			if tb.Frozen[r] {
				s += " (frozen)"
			}
			s += "\n"
		}
		s += "  total   "
		for _, c := range tb.Cols {
			s += fmt.Sprintf(" %3d%s", p.Totals[c], markSym(p.TotalMarks[c]))
		}
		s += "\n"
	}
	return s
}

func markSym(m Mark) string { return [...]string{" ", "<", "x", "?"}[m] }

func markAt(t *Table, r, c int) Mark {
	if t.Marks == nil {
		return Shown
	}
	return t.Marks[r][c]
}

// single is a one-column table with a total.
func single(k int, frozen []bool, cells ...int) *Publication {
	t := &Table{Name: "t", Cols: []string{"a"}, Frozen: frozen}
	for i, n := range cells {
		t.Rows = append(t.Rows, fmt.Sprint("r", i))
		t.Cells = append(t.Cells, []int{n})
	}
	if t.Frozen == nil {
		t.Frozen = make([]bool, len(cells))
	}
	return &Publication{K: k, Tables: []*Table{t}, ShowTotals: true}
}

// hideAll suppresses every figure that may be suppressed: the most a
// publication can hide while still showing its totals' relations.
func hideAll(p *Publication) {
	m, err := newModel(p)
	if err != nil {
		panic(err)
	}
	for v := range m.val {
		switch {
		case m.mark[v] == Shown && m.val[v] < m.k[v]:
			m.mark[v] = Small
		case m.mark[v] == Shown && !m.frozen[v]:
			m.mark[v] = Hidden
		}
	}
	m.write(p)
}

// naive is the textbook rule alone: a line with a shown total and exactly
// one suppressed cell gets its smallest shown cell suppressed too.
func naive(p *Publication) {
	m, err := newModel(p)
	if err != nil {
		panic(err)
	}
	for v := range m.val {
		if !m.frozen[v] && m.mark[v] == Shown && m.val[v] < m.k[v] {
			m.mark[v] = Small
		}
	}
	for changed := true; changed; {
		changed = false
		for _, e := range m.rows {
			if e.lo != 0 || e.hi != 0 || m.mark[e.vars[0]] != Shown {
				continue // not a column with a shown total
			}
			n, best := 0, -1
			for _, c := range e.vars[1:] {
				if m.mark[c] != Shown {
					n++
				} else if !m.frozen[c] && (best < 0 || m.val[c] < m.val[best]) {
					best = c
				}
			}
			if n == 1 && best >= 0 {
				m.mark[best] = Hidden
				changed = true
			}
		}
	}
	m.write(p)
}

// The cases the textbook rule gets wrong, and the ones it gets right, each
// checked against the exhaustive search.
func TestProtectCases(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pub        func() *Publication
		naiveLeaks bool // the textbook rule alone lets a reader work one out
		hidden     int  // how many figures Protect hides (cells and totals)
		refused    bool // Protect finds no safe way (Build then shows less)
	}{
		{
			name:   "nothing small",
			pub:    func() *Publication { return single(5, nil, 7, 9, 12) },
			hidden: 0,
		},
		{
			name:       "one small cell: total minus the rest",
			pub:        func() *Publication { return single(5, nil, 3, 9, 12) },
			naiveLeaks: false, // the rule hides the 9
			hidden:     1,
		},
		{
			name: "two small cells at their upper bound: 4+4 = 17-9",
			pub:  func() *Publication { return single(5, nil, 4, 4, 9) },
			// Both "<5", their sum 8 is known: both are 4.
			naiveLeaks: true,
			hidden:     1,
		},
		{
			name: "two small cells, sum 5: each between 1 and 4",
			pub:  func() *Publication { return single(5, nil, 1, 4, 9) },
			// Neither can be worked out exactly, but each is at least 1
			// (the other is at most 4): each holds a report, which "<5"
			// alone does not say. The ±1 check of old let this through.
			naiveLeaks: true,
			hidden:     1,
		},
		{
			name: "three small months that must sum to 9",
			// The case: 9 = 3+3+3, each at most 4, so each at
			// least 1.
			pub:        func() *Publication { return single(5, nil, 3, 3, 3, 12, 20) },
			naiveLeaks: true,
			hidden:     1,
		},
		{
			name: "three small cells summing to 3: none can be 4",
			// 2+1+0 = 3 is known; any cell can be 0 (another takes its
			// share), but none can be 4: each is in [0, 3].
			pub:        func() *Publication { return single(5, nil, 2, 1, 0, 12) },
			naiveLeaks: true,
			hidden:     1,
		},
		{
			name: "frozen months: only the total can go",
			pub: func() *Publication {
				return single(5, []bool{true, true, true}, 3, 9, 12)
			},
			naiveLeaks: true, // nothing it may hide
			hidden:     1,
		},
		{
			name:   "small total: all small, nothing more needed",
			pub:    func() *Publication { return single(5, nil, 1, 2, 0) },
			hidden: 0,
		},
		{
			name: "a hidden cell pinned by its row's reports",
			pub: func() *Publication {
				// Nairobi: 9 reports, all name trafficking; Lamu: 6
				// reports, 4 name it. Hiding Nairobi's 9 is not
				// enough: it cannot exceed Nairobi's 9 reports, so
				// Lamu's is 13-9 = 4.
				tb := &Table{Name: "county", Rows: []string{"nairobi", "lamu"}, Cols: []string{"reports", "trafficking"},
					Relations: []Relation{AtMost(1, 0)}, Frozen: []bool{false, false},
					Cells: [][]int{{9, 9}, {6, 4}}}
				return &Publication{K: 5, Tables: []*Table{tb}, ShowTotals: true}
			},
			naiveLeaks: true,
			hidden:     -1, // whatever it takes
		},
		{
			name: "two tables share the totals",
			pub: func() *Publication {
				a := &Table{Name: "month", Rows: []string{"jan", "feb", "mar"}, Cols: []string{"a"},
					Frozen: []bool{true, true, false}, Cells: [][]int{{3}, {8}, {9}}}
				b := &Table{Name: "county", Rows: []string{"x", "y", "z"}, Cols: []string{"a"},
					Frozen: []bool{false, false, false}, Cells: [][]int{{2}, {7}, {11}}}
				return &Publication{K: 5, Tables: []*Table{a, b}, ShowTotals: true}
			},
			hidden: 2, // mar and y: jan+mar = 12 and x+y = 9 leave both small cells open
		},
		{
			name: "the launch month holds a report",
			pub: func() *Publication {
				// June is the first month shown, so it holds a report or a
				// tip. Its tips are pinned at 0 by the others and the
				// total; its reports and July's sum to 1. Without the fact
				// June could be 0 (July 1); with it, June is exactly 1.
				tb := &Table{Name: "month", Rows: []string{"jun", "jul", "aug"}, Cols: []string{"reports", "tips"},
					Frozen: []bool{true, true, false}, Cells: [][]int{{1, 0}, {0, 6}, {9, 7}}}
				return &Publication{K: 5, Tables: []*Table{tb}, ShowTotals: true,
					Facts: []Fact{{Cells: []CellRef{{0, 0, 0}, {0, 0, 1}}, Min: 1}}}
			},
			naiveLeaks: true,
			hidden:     -1,
		},
		{
			name: "referrals: accepted and declined within made",
			pub: func() *Publication {
				// Counselling: 6 made, 3 accepted, 2 declined. Shelter: 7
				// made, 7 accepted. Totals 13, 10, 2: shelter's accepted
				// is at most its made, so counselling's accepted is at
				// least 3: hidden totals or cells must open it.
				tb := &Table{Name: "referrals", Rows: []string{"counselling", "shelter"}, Cols: []string{"made", "accepted", "declined"},
					Relations: []Relation{{Cols: []int{1, 2, 0}, Coef: []int{1, 1, -1}}}, Frozen: []bool{false, false},
					Cells: [][]int{{6, 3, 2}, {7, 7, 0}}}
				return &Publication{K: 5, Tables: []*Table{tb}, ShowTotals: true}
			},
			naiveLeaks: true,
			hidden:     -1,
		},
		{
			name: "small frozen months pin the total however it is shown",
			pub: func() *Publication {
				// k=2: both months are "<2", so at most 1 each, and
				// frozen. The total is 2: shown, it pins both months
				// at 1; hidden, "x" says it is at least 2, which pins
				// them just the same. Nothing Protect may hide helps;
				// Build then publishes without totals.
				a := &Table{Name: "month", Rows: []string{"jan", "feb"}, Cols: []string{"a"},
					Frozen: []bool{true, true}, Cells: [][]int{{1}, {1}}}
				b := &Table{Name: "county", Rows: []string{"x", "y"}, Cols: []string{"a"},
					Frozen: []bool{false, false}, Cells: [][]int{{2}, {0}}}
				return &Publication{K: 2, Tables: []*Table{a, b}, ShowTotals: true}
			},
			naiveLeaks: true,
			refused:    true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pub()
			naive(p)
			leaks := len(newExhaustive(p).exposed(t)) > 0
			if leaks != tc.naiveLeaks {
				t.Errorf("textbook rule leaks = %v, want %v\n%s", leaks, tc.naiveLeaks, dump(p))
			}

			p = tc.pub()
			err := Protect(p)
			if tc.refused {
				if !errors.Is(err, ErrCannotProtect) {
					t.Fatalf("Protect = %v, want ErrCannotProtect\n%s", err, dump(p))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkPublished(t, p, true)
			hidden := 0
			for _, tb := range p.Tables {
				for _, row := range tb.Marks {
					for _, m := range row {
						if m == Hidden {
							hidden++
						}
					}
				}
			}
			for _, m := range p.TotalMarks {
				if m == Hidden {
					hidden++
				}
			}
			if tc.hidden >= 0 && hidden != tc.hidden {
				t.Errorf("hid %d figures, want %d\n%s", hidden, tc.hidden, dump(p))
			}
		})
	}
}

// randomPublication draws reports (each with a month, a county, an age band
// and some kinds of harm) and tips, and tabulates them the way Build does,
// small enough for the exhaustive search.
func randomPublication(rng *rand.Rand) *Publication {
	k := 2 + rng.IntN(3)
	months, counties, ages := 2+rng.IntN(2), 2+rng.IntN(2), 2
	cols := []string{"reports", "c1", "c2", "tips"}
	mk := func(name string, rows int, cols []string) *Table {
		t := newTable(name, make([]string, rows), cols)
		for r := range rows {
			t.Rows[r] = fmt.Sprint(name, r)
		}
		t.Relations = nil
		for c, key := range cols {
			if key == "c1" || key == "c2" {
				t.Relations = append(t.Relations, AtMost(c, 0))
			}
		}
		return t
	}
	month, county, age := mk("month", months, cols), mk("county", counties, cols), mk("age", ages, cols[:3])
	for range rng.IntN(5 * k) {
		mi, ci, ai := rng.IntN(months), rng.IntN(counties), rng.IntN(ages)
		for _, t := range []struct {
			tb *Table
			r  int
		}{{month, mi}, {county, ci}, {age, ai}} {
			t.tb.Cells[t.r][0]++
		}
		for j := 1; j <= 2; j++ {
			if rng.IntN(5) < 2 {
				month.Cells[mi][j]++
				county.Cells[ci][j]++
				age.Cells[ai][j]++
			}
		}
	}
	for range rng.IntN(2 * k) {
		month.Cells[rng.IntN(months)][3]++
		county.Cells[rng.IntN(counties)][3]++
	}
	tables := []*Table{month, county, age}
	if rng.IntN(3) == 0 {
		tables = tables[:2]
	}
	freeze := rng.IntN(3)
	for r := range month.Frozen {
		switch freeze {
		case 1: // a year that is over: every month but the last was shown before
			month.Frozen[r] = r < months-1
		case 2: // a year still open: every month shown before, no totals
			month.Frozen[r] = true
		}
	}
	return &Publication{K: k, Tables: tables, ShowTotals: freeze != 2 && rng.IntN(4) != 0}
}

// The property: for random small publications, nothing shown is under k
// and no suppressed figure holding a report can be worked out, by the
// exhaustive search. When Protect refuses, Build publishes less (no
// totals, then the month table alone); the property holds for what is
// published in the end. The textbook rule alone fails the same check on
// many of them, so the check has teeth.
func TestProtectRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	runs, reduced, naiveLeaks := 600, 0, 0
	if testing.Short() {
		runs = 150
	}
	for i := range runs {
		seed := rng.Uint64()
		p := randomPublication(rand.New(rand.NewPCG(seed, 1)))
		naive(p)
		if len(newExhaustive(p).exposed(t)) > 0 {
			naiveLeaks++
		}
		p = randomPublication(rand.New(rand.NewPCG(seed, 1)))
		err := Protect(p)
		if errors.Is(err, ErrCannotProtect) {
			// Never refused too early: hiding everything that may be
			// hidden would not have helped either.
			all := randomPublication(rand.New(rand.NewPCG(seed, 1)))
			hideAll(all)
			if len(newExhaustive(all).exposed(t)) == 0 {
				t.Errorf("seed %d: refused, but hiding everything would have been safe\n%s", seed, dump(all))
			}
			reduced++
			p.ShowTotals = false
			if err = Protect(p); errors.Is(err, ErrCannotProtect) {
				p.Tables = p.Tables[:1]
				err = Protect(p)
			}
		}
		if err != nil {
			t.Fatalf("run %d (seed %d): %v\n%s", i, seed, err, dump(p))
		}
		if !t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { checkPublished(t, p, true) }) {
			break
		}
	}
	t.Logf("%d publications: %d published with less, the textbook rule alone leaked in %d", runs, reduced, naiveLeaks)
	if naiveLeaks < runs/10 {
		t.Errorf("the textbook rule leaked in only %d of %d: the exhaustive check is not biting", naiveLeaks, runs)
	}
}

// An open year: no totals, every month frozen. Nothing is hidden beyond
// the small cells, and that is always safe: nothing can be subtracted.
func TestOpenYearNeedsOnlyPrimary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for range 200 {
		p := randomPublication(rng)
		p.ShowTotals = false
		p.Tables = p.Tables[:1]
		for r := range p.Tables[0].Frozen {
			p.Tables[0].Frozen[r] = true
		}
		if err := Protect(p); err != nil {
			t.Fatalf("%v\n%s", err, dump(p))
		}
		checkPublished(t, p, true)
	}
}

func TestProtectRejectsBadInput(t *testing.T) {
	if err := Protect(single(1, nil, 3)); err == nil {
		t.Error("k=1 accepted")
	}
	a := single(5, nil, 3, 4)
	b := single(5, nil, 3, 5)
	b.Tables[0].Name = "u"
	a.Tables = append(a.Tables, b.Tables[0])
	if err := Protect(a); err == nil {
		t.Error("tables whose shared column sums differ accepted")
	}
	tb := &Table{Name: "x", Rows: []string{"r"}, Cols: []string{"reports", "c"}, Relations: []Relation{AtMost(1, 0)}, Frozen: []bool{false}, Cells: [][]int{{2, 3}}}
	if err := Protect(&Publication{K: 5, Tables: []*Table{tb}}); err == nil {
		t.Error("a kind of harm above its row's reports accepted")
	}
}

// A reader who knows the rule (every "<k" holding a report can be 0 and
// k−1) can tell that a "<k" which cannot be k−1 is 0, and use it. Here
// (k=3) March's reports are "x", so at least 3, and the month column
// leaves 4 for February and March: February's reports cannot be 2, so
// they are 0, so are February's c1, and then January's and March's c1 sum
// to 3 with each at most 2: January's 1 is at least 1. The audit finds
// the zero and hides more; without that step the exhaustive reader wins.
func TestProtectZeroDeduction(t *testing.T) {
	const seed = 13589374107854640534
	defer func() { deduceZeros = true }()
	for _, deduce := range []bool{false, true} {
		deduceZeros = deduce
		p := randomPublication(rand.New(rand.NewPCG(seed, 1)))
		if err := Protect(p); err != nil {
			t.Fatal(err)
		}
		exp := newExhaustive(p).exposed(t)
		if deduce && len(exp) > 0 {
			t.Errorf("with zeros deduced, a reader still works out %v\n%s", exp, dump(p))
		}
		if !deduce && len(exp) == 0 {
			t.Errorf("without deducing zeros nothing is exposed: the case does not bite\n%s", dump(p))
		}
	}
}
