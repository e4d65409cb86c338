package stats

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// exhaustive is an independent check of a protected publication: it sets up
// everything a reader knows as a small constraint problem and searches all
// of it (no bound on depth, no heuristics) for a second assignment that
// changes a suppressed figure. It shares no code with the audit.
type exhaustive struct {
	cell  [][][]int      // [table][row][col] → variable
	total map[string]int // column key → variable

	lo, hi []int // domain of each variable
	val    []int // the true values
	name   []string
	target []bool
	eqs    [][]term // each: sum of coef·var = 0
	les    [][2]int // var a <= var b
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
	cap += p.K + 1
	add := func(v int, m Mark, name string) int {
		lo, hi := v, v
		switch m {
		case Small:
			lo, hi = 0, p.K-1
		case Hidden:
			lo, hi = p.K, cap
		case Unpublished:
			lo, hi = 0, cap
		}
		x.lo, x.hi, x.val = append(x.lo, lo), append(x.hi, hi), append(x.val, v)
		x.name = append(x.name, name)
		x.target = append(x.target, m == Small && v > 0)
		return len(x.val) - 1
	}
	total := map[string]int{}
	x.total = total
	var keys []string
	for _, t := range p.Tables {
		for _, key := range t.Cols {
			if _, ok := total[key]; !ok {
				total[key] = add(p.Totals[key], p.TotalMarks[key], "total "+key)
				keys = append(keys, key)
			}
		}
	}
	le := func(a, b int) {
		x.les = append(x.les, [2]int{a, b})
	}
	withinKey := map[string]string{}
	for _, t := range p.Tables {
		cell := make([][]int, len(t.Rows))
		for r := range t.Rows {
			for c := range t.Cols {
				cell[r] = append(cell[r], add(t.Cells[r][c], t.Marks[r][c], fmt.Sprintf("%s %s %s", t.Name, t.Rows[r], t.Cols[c])))
			}
		}
		x.cell = append(x.cell, cell)
		for c, key := range t.Cols {
			eq := []term{{total[key], -1}}
			for r := range t.Rows {
				eq = append(eq, term{cell[r][c], 1})
			}
			x.eqs = append(x.eqs, eq)
			if w := t.Within[c]; w >= 0 {
				withinKey[key] = t.Cols[w]
				for r := range t.Rows {
					le(cell[r][c], cell[r][w])
				}
			}
		}
	}
	for _, key := range keys {
		if w, ok := withinKey[key]; ok {
			le(total[key], total[w])
		}
	}
	return x
}

// alternative reports whether some assignment keeping every constraint
// gives v a value other than its true one: a complete search, branching on
// values, with interval propagation pruning only what cannot hold.
func (x *exhaustive) alternative(v int, nodes *int) bool {
	for _, side := range []int{-1, +1} {
		lo, hi := slices.Clone(x.lo), slices.Clone(x.hi)
		if side < 0 {
			hi[v] = x.val[v] - 1
		} else {
			lo[v] = x.val[v] + 1
		}
		if lo[v] <= hi[v] && x.search(lo, hi, nodes) {
			return true
		}
	}
	return false
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
		narrow := func(v, l, h int) {
			if l > lo[v] {
				lo[v], changed = l, true
			}
			if h < hi[v] {
				hi[v], changed = h, true
			}
		}
		for _, eq := range x.eqs {
			mn, mx := 0, 0
			for _, t := range eq {
				if t.coef > 0 {
					mn, mx = mn+lo[t.v], mx+hi[t.v]
				} else {
					mn, mx = mn-hi[t.v], mx-lo[t.v]
				}
			}
			if mn > 0 || mx < 0 {
				return false
			}
			for _, t := range eq {
				// coef·t + others = 0, others within [omn, omx].
				if t.coef > 0 {
					omn, omx := mn-lo[t.v], mx-hi[t.v]
					narrow(t.v, -omx, -omn)
				} else {
					omn, omx := mn+hi[t.v], mx+lo[t.v]
					narrow(t.v, omn, omx)
				}
			}
		}
		for _, l := range x.les {
			a, b := l[0], l[1]
			narrow(b, lo[a], hi[b])
			narrow(a, lo[a], hi[b])
		}
		for v := range lo {
			if lo[v] > hi[v] {
				return false
			}
		}
	}
	return true
}

// exposed lists the targets that have no alternative.
func (x *exhaustive) exposed(t *testing.T) []string {
	t.Helper()
	var out []string
	for v := range x.val {
		if !x.target[v] {
			continue
		}
		nodes := 0
		if !x.alternative(v, &nodes) {
			out = append(out, fmt.Sprintf("%s = %d", x.name[v], x.val[v]))
		}
	}
	return out
}

// checkPublished asserts what every protected publication must satisfy.
func checkPublished(t *testing.T, p *Publication, exhaustiveToo bool) {
	t.Helper()
	for _, tb := range p.Tables {
		for r := range tb.Rows {
			for c := range tb.Cols {
				n, m := tb.Cells[r][c], tb.Marks[r][c]
				if m == Shown && n < p.K {
					t.Errorf("%s %s %s: %d shown, under k=%d", tb.Name, tb.Rows[r], tb.Cols[c], n, p.K)
				}
				if m != Shown && n >= p.K && m != Hidden {
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
	checkWitnesses(t, p)
	if exhaustiveToo {
		if exp := newExhaustive(p).exposed(t); len(exp) > 0 {
			t.Errorf("a reader can work out: %v\n%s", exp, dump(p))
		}
	}
}

// checkWitnesses asks the audit, for every suppressed figure holding a
// report, for its witness (the other assignment a reader cannot rule out)
// and checks that assignment against the constraints on its own: every
// figure within what its mark says, every column summing to its total,
// no kind of harm above its row's reports, and the figure changed.
func checkWitnesses(t *testing.T, p *Publication) {
	t.Helper()
	m, err := newModel(p)
	if err != nil {
		t.Fatal(err)
	}
	x := newExhaustive(p)
	toX := make([]int, len(m.val))
	for v := range m.val {
		if ref, ok := m.cellOf[v]; ok {
			m.mark[v] = p.Tables[ref.t].Marks[ref.r][ref.c]
			toX[v] = x.cell[ref.t][ref.r][ref.c]
		} else {
			m.mark[v] = p.TotalMarks[m.totalOf[v]]
			toX[v] = x.total[m.totalOf[v]]
		}
	}
	for v := range m.val {
		if !m.target(v) {
			continue
		}
		w := m.witness(v)
		if w == nil {
			t.Errorf("%s: no witness\n%s", x.name[toX[v]], dump(p))
			continue
		}
		val := slices.Clone(x.val)
		for _, mv := range w {
			val[toX[mv.v]] += mv.d
		}
		if problem := x.violated(val); problem != "" || val[toX[v]] == x.val[toX[v]] {
			t.Errorf("%s: witness %v does not hold: %s", x.name[toX[v]], w, problem)
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
	for _, eq := range x.eqs {
		s := 0
		for _, tm := range eq {
			s += tm.coef * val[tm.v]
		}
		if s != 0 {
			return fmt.Sprintf("%s does not add up", x.name[eq[0].v])
		}
	}
	for _, l := range x.les {
		if val[l[0]] > val[l[1]] {
			return fmt.Sprintf("%s > %s", x.name[l[0]], x.name[l[1]])
		}
	}
	return ""
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
	t := &Table{Name: "t", Cols: []string{"a"}, Within: []int{-1}, Frozen: frozen}
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
		case m.mark[v] == Shown && m.val[v] < m.k:
			m.mark[v] = Small
		case m.hideable(v):
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
		if m.mark[v] == Shown && m.val[v] < m.k {
			m.mark[v] = Small
		}
	}
	for changed := true; changed; {
		changed = false
		for _, e := range m.eqs {
			if m.mark[e.total] != Shown {
				continue
			}
			n, best := 0, -1
			for _, c := range e.cells {
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
			name:       "two small cells, sum 5: not pinned",
			pub:        func() *Publication { return single(5, nil, 1, 4, 9) },
			naiveLeaks: false,
			hidden:     0,
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
					Within: []int{-1, 0}, Frozen: []bool{false, false},
					Cells: [][]int{{9, 9}, {6, 4}}}
				return &Publication{K: 5, Tables: []*Table{tb}, ShowTotals: true}
			},
			naiveLeaks: true,
			hidden:     -1, // whatever it takes
		},
		{
			name: "two tables share the totals",
			pub: func() *Publication {
				a := &Table{Name: "month", Rows: []string{"jan", "feb", "mar"}, Cols: []string{"a"}, Within: []int{-1},
					Frozen: []bool{true, true, false}, Cells: [][]int{{3}, {8}, {9}}}
				b := &Table{Name: "county", Rows: []string{"x", "y", "z"}, Cols: []string{"a"}, Within: []int{-1},
					Frozen: []bool{false, false, false}, Cells: [][]int{{2}, {7}, {11}}}
				return &Publication{K: 5, Tables: []*Table{a, b}, ShowTotals: true}
			},
			hidden: 2, // mar and y: jan+mar = 12 and x+y = 9 leave both small cells open
		},
		{
			name: "small frozen months pin the total however it is shown",
			pub: func() *Publication {
				// k=2: both months are "<2", so at most 1 each, and
				// frozen. The total is 2: shown, it pins both months
				// at 1; hidden, "x" says it is at least 2, which pins
				// them just the same. Nothing Protect may hide helps;
				// Build then publishes without totals.
				a := &Table{Name: "month", Rows: []string{"jan", "feb"}, Cols: []string{"a"}, Within: []int{-1},
					Frozen: []bool{true, true}, Cells: [][]int{{1}, {1}}}
				b := &Table{Name: "county", Rows: []string{"x", "y"}, Cols: []string{"a"}, Within: []int{-1},
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
		for c, key := range cols {
			if key == "c1" || key == "c2" {
				t.Within[c] = 0
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
	tb := &Table{Name: "x", Rows: []string{"r"}, Cols: []string{"reports", "c"}, Within: []int{-1, 0}, Frozen: []bool{false}, Cells: [][]int{{2, 3}}}
	if err := Protect(&Publication{K: 5, Tables: []*Table{tb}}); err == nil {
		t.Error("a kind of harm above its row's reports accepted")
	}
}
