package web_test

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/stats"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/testkit"
)

// The attacker of issue 12 item 10: download every table of a year, in both
// languages, as HTML and as CSV; check they all say the same; write down
// everything they say as one integer system — each figure a variable
// bounded by what it shows ("7", "<5" is 0 to 4, "x" is 5 or more), each
// column of the month, county and age tables summing to the same total, a
// kind of harm named by at most every report of its row, a referral
// accepted or declined at most once, and the first month ever shown
// holding a report or a tip — and try to narrow each "<5" down. The test
// plays the attacker with the truth in hand (it stored the reports): for
// every "<5" that holds a report it proves, by an exact search written
// here and sharing no code with the stats package, that the system has a
// solution with that figure at 0 and one with it at 4. A solution found is
// the proof; the search checks each in integer arithmetic.

// figureKey names one published figure: table, row key, column key.
type figureKey struct{ table, row, col string }

// download fetches year's figures in both languages and both formats,
// checks that they agree figure for figure, and returns them with the
// years the page lists.
func (s *site) download(year int) (map[figureKey]string, []figureKey, []int) {
	s.t.Helper()
	var figures map[figureKey]string
	var order []figureKey
	var years []int
	for _, lang := range []string{"en", "sw"} {
		path := fmt.Sprintf("/%s/stats?year=%d", lang, year)
		page := s.get(path, "")
		file := s.get(path+"&format=csv", "")
		if page.StatusCode != 200 || file.StatusCode != 200 {
			s.t.Fatalf("%s: %d, CSV %d", path, page.StatusCode, file.StatusCode)
		}
		recs, err := csv.NewReader(strings.NewReader(file.body)).ReadAll()
		if err != nil {
			s.t.Fatal(err)
		}
		got := map[figureKey]string{}
		var ord []figureKey
		byTable := map[string][]string{}
		var tables []string
		for _, r := range recs[1:] {
			if r[1] != strconv.Itoa(year) {
				s.t.Fatalf("%s CSV: a line of %s", path, r[1])
			}
			k := figureKey{r[0], r[2], r[4]}
			got[k] = r[6]
			ord = append(ord, k)
			if _, ok := byTable[r[0]]; !ok {
				tables = append(tables, r[0])
			}
			byTable[r[0]] = append(byTable[r[0]], r[3]+"|"+r[6])
		}
		// The page's tables say what the CSV says, cell for cell.
		html := tableCells(page.body)
		if len(html) != len(tables) {
			s.t.Fatalf("%s: %d tables on the page, %d in the CSV", path, len(html), len(tables))
		}
		for i, name := range tables {
			if !slices.Equal(html[i], byTable[name]) {
				s.t.Errorf("%s: table %s differs between page and CSV", path, name)
			}
		}
		if figures == nil {
			figures, order = got, ord
		} else if !mapsEqual(figures, got) {
			s.t.Errorf("%s: the figures differ from English", path)
		}
		var ys []int
		for _, m := range regexp.MustCompile(`(?:\?year=|<strong>)(\d{4})`).FindAllStringSubmatch(page.body, -1) {
			y, _ := strconv.Atoi(m[1])
			if !slices.Contains(ys, y) {
				ys = append(ys, y)
			}
		}
		slices.Sort(ys)
		years = ys
	}
	return figures, order, years
}

// mapsEqual compares the counts of two downloads (a wait is a time, said
// in each language's words).
func mapsEqual(a, b map[figureKey]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || (w != v && k.col != stats.ColWait) {
			return false
		}
	}
	return true
}

// system is the attacker's integer system.
type system struct {
	lo, hi []int
	truth  []int
	name   []string
	rows   []sysRow
	varOf  map[figureKey]int
	small  []int // the "<k" figures
	k      []int
	rowsOf [][]int // the rows each figure is in
}

type sysRow struct {
	vars, coef []int
	lo, hi     int
}

const bigCap = 100000

// buildSystem writes down what the figures say. truth gives each
// figure's true value (the test's own tabulation of what it stored).
func buildSystem(t *testing.T, figures map[figureKey]string, order []figureKey, firstYear bool, truth func(figureKey) int) *system {
	t.Helper()
	sys := &system{varOf: map[figureKey]int{}}
	newVar := func(k figureKey, text string) int {
		lo, hi, kk := 0, bigCap, 0
		switch {
		case text == "x":
			lo = -1 // set below, once k is known
		case strings.HasPrefix(text, "<"):
			n, err := strconv.Atoi(text[1:])
			if err != nil {
				t.Fatalf("%v: %q", k, text)
			}
			lo, hi, kk = 0, n-1, n
		case text == "":
			// an unpublished total
		default:
			n, err := strconv.Atoi(text)
			if err != nil {
				t.Fatalf("%v: %q", k, text)
			}
			lo, hi = n, n
		}
		sys.lo, sys.hi, sys.k = append(sys.lo, lo), append(sys.hi, hi), append(sys.k, kk)
		sys.truth, sys.name = append(sys.truth, truth(k)), append(sys.name, fmt.Sprint(k))
		v := len(sys.lo) - 1
		sys.varOf[k] = v
		if kk > 0 {
			sys.small = append(sys.small, v)
		}
		return v
	}
	// Tables, their rows and columns in the order published; "wait" is a
	// time, not a count.
	rowsOf, colsOf := map[string][]string{}, map[string][]string{}
	for _, k := range order {
		if k.col == stats.ColWait {
			continue
		}
		if k.row != "total" && !slices.Contains(rowsOf[k.table], k.row) {
			rowsOf[k.table] = append(rowsOf[k.table], k.row)
		}
		if !slices.Contains(colsOf[k.table], k.col) {
			colsOf[k.table] = append(colsOf[k.table], k.col)
		}
	}
	maxK := 2
	for _, text := range figures {
		if n, err := strconv.Atoi(strings.TrimPrefix(text, "<")); err == nil && strings.HasPrefix(text, "<") {
			maxK = max(maxK, n)
		}
	}
	// One total per column key and family: the report tables share
	// theirs; the referrals table has its own.
	family := func(table string) string {
		if table == stats.TableReferrals {
			return table
		}
		return "reports"
	}
	totals := map[[2]string]int{}
	for _, table := range []string{stats.TableMonth, stats.TableCounty, stats.TableAge, stats.TableReferrals} {
		for _, col := range colsOf[table] {
			fk := [2]string{family(table), col}
			shown, ok := figures[figureKey{table, "total", col}]
			if _, seen := totals[fk]; !seen {
				totals[fk] = newVar(figureKey{family(table), "total", col}, shown)
			} else if ok && sys.lo[totals[fk]] != sys.hi[totals[fk]] && !strings.HasPrefix(shown, "<") && shown != "x" {
				t.Fatalf("the total of %s is shown in %s but not before", col, table)
			}
			row := sysRow{vars: []int{totals[fk]}, coef: []int{-1}}
			for _, r := range rowsOf[table] {
				k := figureKey{table, r, col}
				v, ok := sys.varOf[k]
				if !ok {
					v = newVar(k, figures[k])
				}
				row.vars, row.coef = append(row.vars, v), append(row.coef, 1)
			}
			sys.rows = append(sys.rows, row)
		}
	}
	for v := range sys.lo {
		if sys.lo[v] == -1 {
			sys.lo[v] = maxK
		}
	}
	le := func(terms map[int]int) {
		var r sysRow
		for v, c := range terms {
			r.vars, r.coef = append(r.vars, v), append(r.coef, c)
		}
		r.lo, r.hi = -bigCap*10, 0
		sys.rows = append(sys.rows, r)
	}
	for _, table := range []string{stats.TableMonth, stats.TableCounty, stats.TableAge} {
		for _, r := range append(slices.Clone(rowsOf[table]), "total") {
			rep, ok := sys.varOf[figureKey{table, r, stats.ColReports}]
			if r == "total" {
				rep, ok = totals[[2]string{"reports", stats.ColReports}], len(rowsOf[table]) > 0
			}
			if !ok {
				continue
			}
			for _, cat := range stats.Categories {
				v, ok := sys.varOf[figureKey{table, r, cat}]
				if r == "total" {
					v, ok = totals[[2]string{"reports", cat}]
				}
				if ok {
					le(map[int]int{v: 1, rep: -1})
				}
			}
		}
	}
	for _, r := range append(slices.Clone(rowsOf[stats.TableReferrals]), "total") {
		get := func(col string) int {
			if r == "total" {
				return totals[[2]string{stats.TableReferrals, col}]
			}
			return sys.varOf[figureKey{stats.TableReferrals, r, col}]
		}
		if len(rowsOf[stats.TableReferrals]) == 0 {
			break
		}
		le(map[int]int{get(stats.ColAccepted): 1, get(stats.ColDeclined): 1, get(stats.ColMade): -1})
		le(map[int]int{get(stats.ColCompleted): 1, get(stats.ColAccepted): -1})
	}
	if firstYear {
		first := rowsOf[stats.TableMonth][0]
		sys.rows = append(sys.rows, sysRow{vars: []int{sys.varOf[figureKey{stats.TableMonth, first, stats.ColReports}],
			sys.varOf[figureKey{stats.TableMonth, first, stats.ColTips}]}, coef: []int{1, 1}, lo: 1, hi: bigCap * 10})
	}
	// The truth is a solution: the attacker's system is right.
	if bad := sys.violated(sys.truth); bad != "" {
		t.Fatalf("the true figures break the system: %s", bad)
	}
	return sys
}

func (sys *system) violated(x []int) string {
	for v := range x {
		if x[v] < sys.lo[v] || x[v] > sys.hi[v] {
			return fmt.Sprintf("%s = %d outside [%d, %d]", sys.name[v], x[v], sys.lo[v], sys.hi[v])
		}
	}
	for _, r := range sys.rows {
		s := 0
		for i, v := range r.vars {
			s += r.coef[i] * x[v]
		}
		if s < r.lo || s > r.hi {
			return fmt.Sprintf("a row with %s sums to %d, not in [%d, %d]", sys.name[r.vars[0]], s, r.lo, r.hi)
		}
	}
	return ""
}

// solve looks for a solution with x[fix] = val: depth first, the true
// value of each figure tried first, bounds propagated through the rows
// after each choice. Only the figures connected to fix through rows of
// figures not shown exactly can move; the others keep their true values.
// It returns the solution, checked, or nil; budget bounds the nodes
// (running out fails the test: nothing proven).
func (sys *system) solve(fix, val int, budget *int) []int {
	if val < sys.lo[fix] || val > sys.hi[fix] {
		return nil
	}
	vars, rows := sys.component(fix)
	lo, hi := make([]int, len(sys.lo)), make([]int, len(sys.hi))
	for v := range lo {
		lo[v], hi[v] = sys.truth[v], sys.truth[v] // outside the component
	}
	for _, v := range vars {
		lo[v], hi[v] = sys.lo[v], sys.hi[v]
	}
	lo[fix], hi[fix] = val, val
	x := sys.search(vars, rows, lo, hi, budget)
	if x != nil && sys.violated(x) != "" {
		return nil
	}
	return x
}

// component lists the figures connected to v through rows of figures a
// reader does not know exactly, and those rows.
func (sys *system) component(v int) (vars, rows []int) {
	if sys.rowsOf == nil {
		sys.rowsOf = make([][]int, len(sys.lo))
		for ri, r := range sys.rows {
			for _, u := range r.vars {
				sys.rowsOf[u] = append(sys.rowsOf[u], ri)
			}
		}
	}
	seenV, seenR := map[int]bool{v: true}, map[int]bool{}
	queue := []int{v}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		vars = append(vars, u)
		for _, ri := range sys.rowsOf[u] {
			if seenR[ri] {
				continue
			}
			seenR[ri] = true
			rows = append(rows, ri)
			for _, w := range sys.rows[ri].vars {
				if !seenV[w] && sys.lo[w] < sys.hi[w] {
					seenV[w] = true
					queue = append(queue, w)
				}
			}
		}
	}
	return vars, rows
}

func (sys *system) search(vars, rows []int, lo, hi []int, budget *int) []int {
	if *budget--; *budget < 0 || !sys.propagate(rows, lo, hi) {
		return nil
	}
	u := -1
	for _, v := range vars {
		if lo[v] < hi[v] && (u < 0 || hi[v]-lo[v] < hi[u]-lo[u]) {
			u = v
		}
	}
	if u < 0 {
		return lo
	}
	// The true value, then outwards from it.
	tv := min(max(sys.truth[u], lo[u]), hi[u])
	for d := 0; tv-d >= lo[u] || tv+d <= hi[u]; d++ {
		for _, n := range []int{tv - d, tv + d} {
			if n < lo[u] || n > hi[u] || (d == 0 && n != tv) || (d > 0 && n == tv) {
				continue
			}
			l, h := slices.Clone(lo), slices.Clone(hi)
			l[u], h[u] = n, n
			if x := sys.search(vars, sys.rowsOf[u], l, h, budget); x != nil {
				return x
			}
			if *budget < 0 {
				return nil
			}
		}
	}
	return nil
}

// propagate narrows the bounds through the rows, starting from rows and
// following every row of a figure whose bounds moved, until nothing moves;
// false when some figure has no value left.
func (sys *system) propagate(rows []int, lo, hi []int) bool {
	queue := slices.Clone(rows)
	queued := map[int]bool{}
	for _, ri := range queue {
		queued[ri] = true
	}
	for len(queue) > 0 {
		ri := queue[0]
		queue = queue[1:]
		queued[ri] = false
		r := sys.rows[ri]
		mn, mx := 0, 0
		for i, v := range r.vars {
			if c := r.coef[i]; c > 0 {
				mn, mx = mn+c*lo[v], mx+c*hi[v]
			} else {
				mn, mx = mn+c*hi[v], mx+c*lo[v]
			}
		}
		if mn > r.hi || mx < r.lo {
			return false
		}
		for i, v := range r.vars {
			c := r.coef[i]
			l, h := lo[v], hi[v]
			// The coefficients are ±1; the others' sums are taken from
			// this row's sums as they were, which is looser, so sound.
			if c > 0 {
				h = min(h, r.hi-(mn-lo[v]))
				l = max(l, r.lo-(mx-hi[v]))
			} else {
				l = max(l, -(r.hi - (mn + hi[v])))
				h = min(h, -(r.lo - (mx + lo[v])))
			}
			if l > h {
				return false
			}
			if l != lo[v] || h != hi[v] {
				lo[v], hi[v] = l, h
				for _, rj := range sys.rowsOf[v] {
					if rj != ri && !queued[rj] {
						queued[rj] = true
						queue = append(queue, rj)
					}
				}
			}
		}
	}
	return true
}

// attack plays the attacker on year and fails for every "<k" figure
// holding a report whose interval is narrower than [0, k−1].
func (s *site) attack(year int, truth func(figureKey) int) {
	s.t.Helper()
	figures, order, years := s.download(year)
	if len(years) == 0 {
		s.t.Fatal("no years listed")
	}
	sys := buildSystem(s.t, figures, order, years[0] == year, truth)
	// A solution settles every "<k" it puts at 0 or at k−1, not only the
	// one it was looked for.
	proved := map[[2]int]bool{}
	record := func(x []int) {
		for _, u := range sys.small {
			for side, end := range []int{0, sys.k[u] - 1} {
				if x[u] == end {
					proved[[2]int{u, side}] = true
				}
			}
		}
	}
	// can reports whether v can be side's end (0, or k−1); undecided when
	// the search ran out of budget.
	can := func(v, side int) (yes, decided bool) {
		if proved[[2]int{v, side}] {
			return true, true
		}
		budget := 200000
		x := sys.solve(v, []int{0, sys.k[v] - 1}[side], &budget)
		if x != nil {
			record(x)
		}
		return x != nil, x != nil || budget >= 0
	}
	// The attacker knows the rule too: a "<k" that cannot be k−1 holds no
	// report. Such figures are fixed at 0, until no more are found.
	zeros := 0
	for found := true; found; {
		found = false
		for _, v := range sys.small {
			if sys.hi[v] == 0 {
				continue
			}
			yes, decided := can(v, 1)
			if !decided {
				s.t.Fatalf("%s: could not decide whether it can be %d", sys.name[v], sys.k[v]-1)
			}
			if !yes {
				if sys.truth[v] != 0 {
					s.t.Errorf("%s = %d: a reader proves it cannot be %d", sys.name[v], sys.truth[v], sys.k[v]-1)
				}
				sys.hi[v], found = 0, true
				zeros++
			}
		}
		if found {
			clear(proved) // solutions found before may break the new zeros
		}
	}
	targets, proven := 0, 0
	for _, v := range sys.small {
		if sys.truth[v] == 0 {
			continue // nobody to pick out
		}
		targets++
		ok := true
		for side := range 2 {
			yes, decided := can(v, side)
			switch {
			case !decided:
				s.t.Errorf("%s = %d: could not decide whether it can be %d", sys.name[v], sys.truth[v], []int{0, sys.k[v] - 1}[side])
			case !yes:
				s.t.Errorf("%s = %d: a reader proves it cannot be %d", sys.name[v], sys.truth[v], []int{0, sys.k[v] - 1}[side])
			}
			ok = ok && yes
		}
		if ok {
			proven++
		}
	}
	s.t.Logf("%d: %d figures, %d under k holding a report, each shown to be anything from 0 to k−1 (%d zeros told apart)", year, len(sys.lo), proven, zeros)
	if targets == 0 {
		s.t.Error("no small figure holding a report: the attack proves nothing")
	}
}

// yearData is a year of counted reports, tips, first answers and
// referrals, stored month by month while the clock runs, with the page
// read at the start of each month (so each month is published as it
// ends), and its own tabulation of the truth.
type yearData struct {
	reports []seedReport
	refs    []seedRef
}

type seedReport struct {
	id     string
	tip    bool
	at     time.Time
	county string
	age    string
	cats   []string
	answer time.Duration // 0: never answered
}

type seedRef struct {
	report  string
	service string
	state   string
	consent string
}

func (d *yearData) play(s *site, ck *testkit.Clock, year int) {
	s.t.Helper()
	for m := 1; m <= 12; m++ {
		start := time.Date(year, time.Month(m), 1, 0, 0, 0, 0, stats.EAT)
		end := start.AddDate(0, 1, 0)
		ck.Set(start)
		for _, r := range d.reports {
			if !r.at.Before(start) && r.at.Before(end) {
				kind := store.KindReport
				if r.tip {
					kind = store.KindTip
				}
				s.statsReport(r.id, kind, r.at, true, r.county, r.age, r.cats...)
			}
		}
		for i, f := range d.refs {
			r := d.report(f.report)
			if !r.at.Before(start) && r.at.Before(end) {
				ref := &store.Referral{ID: fmt.Sprint("ref", i), ReportID: f.report, FromOrg: s.orgID(), ServiceID: f.service, State: f.state,
					Consent: f.consent, CreatedBy: "u", CreatedAt: r.at.Add(time.Hour), UpdatedAt: r.at.Add(time.Hour)}
				if err := s.app.Store.CreateReferral(s.t.Context(), ref, nil); err != nil {
					s.t.Fatal(err)
				}
			}
		}
		ck.Set(end.Add(time.Minute))
		// Answers given by the end of the month, then the page is read:
		// the month is published. Later answers come after.
		for _, r := range d.reports {
			if r.answer > 0 && !r.at.Before(start) && r.at.Before(end) && r.at.Add(r.answer).Before(end) {
				s.answer(r.id, r.at.Add(r.answer))
			}
		}
		if p := s.get("/en/stats", ""); p.StatusCode != 200 {
			s.t.Fatalf("%s: /en/stats %d", end, p.StatusCode)
		}
		for _, r := range d.reports {
			if r.answer > 0 && !r.at.Before(start) && r.at.Before(end) && !r.at.Add(r.answer).Before(end) {
				s.answer(r.id, r.at.Add(r.answer))
			}
		}
	}
	ck.Set(time.Date(year+1, 1, 3, 10, 0, 0, 0, stats.EAT))
}

func (d *yearData) report(id string) seedReport {
	for _, r := range d.reports {
		if r.id == id {
			return r
		}
	}
	panic("no report " + id)
}

func (s *site) orgID() string {
	orgs, err := s.app.Store.Organisations(s.t.Context())
	if err != nil || len(orgs) == 0 {
		s.t.Fatalf("organisations: %v", err)
	}
	return orgs[0].ID
}

// truth tabulates the year the way the page is meant to, from what was
// stored, independently of the stats package.
func (d *yearData) truth(s *site) func(figureKey) int {
	svcs, err := directory.Stored(s.t.Context(), s.app.Store)
	if err != nil {
		s.t.Fatal(err)
	}
	typeOf := map[string]string{}
	for _, list := range [][]directory.Service{svcs, directory.NationalLines()} {
		for _, svc := range list {
			typeOf[svc.ID] = string(svc.Type)
		}
	}
	n := map[figureKey]int{}
	add := func(table, row string, cols []string) {
		for _, c := range cols {
			n[figureKey{table, row, c}]++
			fam := "reports"
			if table == stats.TableReferrals {
				fam = table
			}
			if table == stats.TableMonth || table == stats.TableReferrals {
				n[figureKey{fam, "total", c}]++
			}
		}
	}
	for _, r := range d.reports {
		month := r.at.In(stats.EAT).Format("2006-01")
		county := r.county
		if county == "" {
			county = stats.NotSaid
		}
		if r.tip {
			add(stats.TableMonth, month, []string{stats.ColTips})
			add(stats.TableCounty, county, []string{stats.ColTips})
			continue
		}
		cols := append([]string{stats.ColReports}, r.cats...)
		age := r.age
		if age == "" {
			age = stats.NotSaid
		}
		add(stats.TableMonth, month, cols)
		add(stats.TableCounty, county, cols)
		add(stats.TableAge, age, cols)
	}
	for _, f := range d.refs {
		if f.consent == "" {
			continue
		}
		cols := []string{stats.ColMade}
		switch f.state {
		case store.ReferralAccepted:
			cols = append(cols, stats.ColAccepted)
		case store.ReferralCompleted:
			cols = append(cols, stats.ColAccepted, stats.ColCompleted)
		case store.ReferralDeclined:
			cols = append(cols, stats.ColDeclined)
		}
		add(stats.TableReferrals, typeOf[f.service], cols)
	}
	return func(k figureKey) int {
		if k.table == stats.TableCounty || k.table == stats.TableAge || k.table == stats.TableMonth {
			if k.row == "total" {
				return n[figureKey{"reports", "total", k.col}]
			}
		}
		return n[k]
	}
}

// realisticYear draws a year of a network of about 300 reports: most
// from a few counties, a long tail of small ones, children in some kinds
// of harm, a fifth of the traffic tips, most answered within hours and
// some late, and referrals to the demo network's services.
func realisticYear(rng *rand.Rand, year int, services []string) *yearData {
	weights := map[string]int{"nairobi": 30, "mombasa": 10, "kisumu": 6, "nakuru": 6, "kiambu": 5, "kilifi": 4, "machakos": 3, "kakamega": 3, "uasin-gishu": 3, stats.Outside: 2, "": 6}
	var slugs []string
	for _, c := range directory.Counties() {
		w, ok := weights[c.Slug]
		if !ok {
			w = 1
		}
		for range w {
			slugs = append(slugs, c.Slug)
		}
	}
	for _, c := range []string{stats.Outside, ""} {
		for range weights[c] {
			slugs = append(slugs, c)
		}
	}
	ages := []string{"under13", "13-15", "16-17", "16-17", "18-24", "18-24", "18-24", "25plus", "25plus", ""}
	catP := []int{25, 35, 20, 15, 20, 10}
	d := &yearData{}
	for i := range 300 + 75 {
		at := time.Date(year, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 8+rng.IntN(12), rng.IntN(60), 0, 0, stats.EAT)
		r := seedReport{id: fmt.Sprintf("r%03d", i), at: at, county: slugs[rng.IntN(len(slugs))]}
		if i >= 300 {
			r.tip = true
		} else {
			r.age = ages[rng.IntN(len(ages))]
			for j, p := range catP {
				if rng.IntN(100) < p {
					r.cats = append(r.cats, stats.Categories[j])
				}
			}
			switch rng.IntN(10) {
			case 0, 1:
			case 2:
				r.answer = time.Duration(5+rng.IntN(30)) * 24 * time.Hour
			default:
				r.answer = time.Duration(10+rng.IntN(600)) * time.Minute
			}
		}
		d.reports = append(d.reports, r)
	}
	states := []string{store.ReferralAccepted, store.ReferralAccepted, store.ReferralCompleted, store.ReferralDeclined, store.ReferralSent, store.ReferralAwaitingConsent}
	for range 90 {
		f := seedRef{report: d.reports[rng.IntN(300)].id, service: services[rng.IntN(len(services))], state: states[rng.IntN(len(states))], consent: "survivor"}
		if f.state == store.ReferralAwaitingConsent {
			f.consent = ""
		}
		d.refs = append(d.refs, f)
	}
	return d
}

func TestStatsAttackRealisticYear(t *testing.T) {
	db := newSQLite(t)
	ck := testkit.NewClock(time.Date(2026, 6, 1, 0, 0, 0, 0, stats.EAT))
	s := statsClockSite(t, db, ck)
	svcs, err := directory.Stored(t.Context(), s.app.Store)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, svc := range svcs {
		ids = append(ids, svc.ID)
	}
	d := realisticYear(rand.New(rand.NewPCG(12, 10)), 2025, ids)
	d.play(s, ck, 2025)
	s.attack(2025, d.truth(s))
	for lang, title := range map[string]string{"en": "Reports passed to other services, 2025", "sw": "Ripoti zilizopelekwa kwa huduma nyingine, 2025"} {
		if body := s.get("/"+lang+"/stats?year=2025", "").body; !strings.Contains(body, title) {
			t.Errorf("/%s/stats: the referrals table is not on the page", lang)
		}
		// All five tables and both charts of a realistic year still fit
		// the first 14 KB round trip.
		if total := s.weight("/" + lang + "/stats?year=2025"); total >= 14000 {
			t.Errorf("/%s/stats weighs %d bytes, over the 14 KB initial window", lang, total)
		}
	}
}

// The launch month holds one report and no tip; July none; the tips of
// every other month are shown. Without the fact that the first month
// holds something, June's "<5" could be 0 (July 1); with it, a reader
// knows June is exactly 1.
func TestStatsAttackLaunchMonth(t *testing.T) {
	db := newSQLite(t)
	ck := testkit.NewClock(time.Date(2026, 6, 1, 0, 0, 0, 0, stats.EAT))
	s := statsClockSite(t, db, ck)
	d := &yearData{}
	add := func(id string, tip bool, at time.Time) {
		r := seedReport{id: id, tip: tip, at: at, county: "nairobi"}
		if !tip {
			r.age, r.cats = "18-24", []string{"sextortion"}
		}
		d.reports = append(d.reports, r)
	}
	add("launch", false, time.Date(2025, 6, 10, 10, 0, 0, 0, stats.EAT))
	for m := time.July; m <= time.December; m++ {
		for i := range 6 {
			add(fmt.Sprintf("tip%d-%d", m, i), true, time.Date(2025, m, 3+i, 10, 0, 0, 0, stats.EAT))
		}
		if m == time.July {
			continue
		}
		for i := range 7 {
			add(fmt.Sprintf("rep%d-%d", m, i), false, time.Date(2025, m, 3+i, 11, 0, 0, 0, stats.EAT))
		}
	}
	d.play(s, ck, 2025)
	s.attack(2025, d.truth(s))
}
