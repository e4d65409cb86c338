package stats

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/locale"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, EAT) }

func rep(at time.Time, n int, county, age string, cats ...string) Count {
	return Count{Day: at, County: county, AgeBand: age, Categories: cats, N: n}
}

func cell(t *testing.T, tb *Table, row, col string) (int, Mark) {
	t.Helper()
	r, c := slices.Index(tb.Rows, row), slices.Index(tb.Cols, col)
	if r < 0 || c < 0 {
		t.Fatalf("table %s has no %s × %s", tb.Name, row, col)
	}
	return tb.Cells[r][c], tb.Marks[r][c]
}

func TestBuildOpenYear(t *testing.T) {
	now := time.Date(2025, 4, 1, 0, 30, 0, 0, EAT) // April has just begun in Nairobi
	first := day(2025, 2, 3)
	counts := []Count{
		rep(day(2025, 2, 3), 6, "nairobi", "16-17", "sextortion", "sextortion", "made-up"),
		rep(day(2025, 3, 31), 2, "", "", "trafficking"),
		rep(time.Date(2025, 3, 31, 21, 30, 0, 0, time.UTC), 9, "nairobi", "", "other"), // 1 April in Nairobi
		{Tip: true, Day: day(2025, 3, 2), County: "mombasa", Categories: []string{"advertised"}, N: 5},
	}
	f, err := Build(Input{Year: 2025, Now: now, First: first, K: 5, Counts: counts})
	if err != nil {
		t.Fatal(err)
	}
	if f.Complete || f.County != nil || f.Age != nil || f.Pub.ShowTotals {
		t.Errorf("an open year publishes only its months: complete=%v county=%v totals=%v", f.Complete, f.County != nil, f.Pub.ShowTotals)
	}
	if got := f.Month.Rows; !slices.Equal(got, []string{"2025-02", "2025-03"}) {
		t.Errorf("months %v: from the first report's month to the last month that is over", got)
	}
	for _, tc := range []struct {
		row, col string
		n        int
		m        Mark
	}{
		{"2025-02", ColReports, 6, Shown},
		{"2025-02", "sextortion", 6, Shown}, // named twice, counted once
		{"2025-02", "other", 0, Small},      // an unknown kind is not "other"
		{"2025-03", ColReports, 2, Small},
		{"2025-03", "trafficking", 2, Small},
		{"2025-03", "other", 0, Small}, // the 9 of 1 April are not in March
		{"2025-03", ColTips, 5, Shown},
		{"2025-03", ColReports, 2, Small},
	} {
		if n, m := cell(t, f.Month, tc.row, tc.col); n != tc.n || m != tc.m {
			t.Errorf("%s %s = %d (%d), want %d (%d)", tc.row, tc.col, n, m, tc.n, tc.m)
		}
	}
	for r := range f.Month.Rows {
		if f.Month.Frozen[r] || !f.fresh[r] {
			t.Errorf("%s: a month published for the first time is not frozen", f.Month.Rows[r])
		}
	}

	// A month later, February and March are taken from their records,
	// whatever the counts say now: here, a late count for March.
	recs, err := f.newRecords(now)
	if err != nil || len(recs) != 2 {
		t.Fatalf("records: %d, %v", len(recs), err)
	}
	published, err := monthRecords(recs)
	if err != nil {
		t.Fatal(err)
	}
	later := append(counts, rep(day(2025, 3, 15), 30, "kisumu", "", "other"))
	g, err := Build(Input{Year: 2025, Now: now.AddDate(0, 1, 0), First: first, K: 5, Counts: later, Published: published})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Month.Rows; !slices.Equal(got, []string{"2025-02", "2025-03", "2025-04"}) {
		t.Fatalf("months %v", got)
	}
	for _, tc := range []struct {
		row    string
		n      int
		frozen bool
	}{{"2025-02", 6, true}, {"2025-03", 2, true}, {"2025-04", 9, false}} {
		r := slices.Index(g.Month.Rows, tc.row)
		if n, _ := cell(t, g.Month, tc.row, ColReports); n != tc.n || g.Month.Frozen[r] != tc.frozen {
			t.Errorf("%s: %d reports, frozen %v; want %d, %v", tc.row, n, g.Month.Frozen[r], tc.n, tc.frozen)
		}
	}
}

func TestBuildClosedYear(t *testing.T) {
	now := time.Date(2026, 1, 15, 0, 0, 0, 0, EAT)
	counts := []Count{
		rep(day(2025, 1, 10), 7, "nairobi", "16-17", "sextortion"),
		rep(day(2025, 6, 10), 9, "mombasa", "18-24", "advertised"),
		rep(day(2025, 12, 10), 3, "kisumu", "under13", "trafficking"),
		rep(day(2025, 12, 11), 1, "atlantis", "99", "trafficking"), // unknown county and age band: not said
	}
	// The months were published one by one as they ended.
	published := publishMonths(t, 2025, day(2024, 5, 1), 5, counts, nil, now)
	f, err := Build(Input{Year: 2025, Now: now, First: day(2024, 5, 1), K: 5, Counts: counts, Published: published})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Complete || f.County == nil || f.Age == nil || !f.Pub.ShowTotals || f.Reduced {
		t.Fatalf("a closed year publishes totals, county and age: %+v", f)
	}
	if len(f.Months) != 12 {
		t.Errorf("%d months", len(f.Months))
	}
	for r, frozen := range f.Month.Frozen {
		if frozen != (r < 11) {
			t.Errorf("month %d frozen = %v: only December is shown for the first time with the totals", r+1, frozen)
		}
	}
	if n, _ := cell(t, f.County, NotSaid, ColReports); n != 1 {
		t.Errorf("county not said = %d", n)
	}
	if n, _ := cell(t, f.Age, NotSaid, ColReports); n != 1 {
		t.Errorf("age not said = %d", n)
	}
	if f.Pub.Totals[ColReports] != 20 || f.Pub.TotalMarks[ColReports] != Shown || f.Pub.TotalMarks["trafficking"] != Small {
		t.Errorf("totals %v %v", f.Pub.Totals, f.Pub.TotalMarks)
	}
	checkPublished(t, f.Pub, true)
}

// publishMonths publishes year's months one by one as each ends, up to
// before, as the service does when the page is visited every month, and
// returns their records.
func publishMonths(t testing.TB, year int, first time.Time, k int, counts []Count, waits []Wait, before time.Time) []MonthRecord {
	t.Helper()
	var published []MonthRecord
	start := time.Date(year, 2, 1, 0, 0, 0, 0, EAT) // January ends
	if m := monthStart(first).AddDate(0, 1, 0); m.After(start) {
		start = m
	}
	for m := start; m.Before(before) && m.Year() == year; m = m.AddDate(0, 1, 0) {
		f, err := Build(Input{Year: year, Now: m, First: first, K: k, Counts: counts, Waits: waits, Published: published})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := f.newRecords(m)
		if err != nil {
			t.Fatal(err)
		}
		more, err := monthRecords(recs)
		if err != nil {
			t.Fatal(err)
		}
		published = append(published, more...)
	}
	return published
}

func TestBuildNothingYet(t *testing.T) {
	f, err := Build(Input{Year: 2025, Now: time.Date(2025, 6, 1, 0, 0, 0, 0, EAT), K: 5})
	if err != nil || f.Pub != nil || f.Months != nil {
		t.Errorf("no reports: %+v, %v", f, err)
	}
	// The first report came this month: no month of the year is over.
	f, err = Build(Input{Year: 2025, Now: time.Date(2025, 6, 20, 0, 0, 0, 0, EAT), First: day(2025, 6, 2), K: 5, Counts: []Count{rep(day(2025, 6, 2), 1, "", "")}})
	if err != nil || f.Pub != nil || f.Months != nil {
		t.Errorf("first report this month: %+v, %v", f, err)
	}
}

func TestHalfAnswered(t *testing.T) {
	w := func(min int, answered bool, n int) Wait {
		return Wait{Day: day(2025, 1, 2), Minutes: min, Answered: answered, N: n}
	}
	for _, tc := range []struct {
		name  string
		waits []Wait
		want  WaitFigure
	}{
		{"too few to show", []Wait{w(10, true, 4)}, WaitFigure{}},
		{"odd: the middle one", []Wait{w(10, true, 2), w(30, true, 1), w(500, true, 2)}, WaitFigure{true, true, 30}},
		{"even: half within", []Wait{w(10, true, 3), w(90, true, 3)}, WaitFigure{true, true, 10}},
		{"still waiting count against", []Wait{w(10, true, 2), w(40, true, 1), w(0, false, 3)}, WaitFigure{true, true, 40}},
		{"fewer than half answered", []Wait{w(10, true, 2), w(0, false, 4)}, WaitFigure{true, false, 0}},
	} {
		if got := halfAnswered(tc.waits, 5); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	tr := locale.MustLoad().Printer(locale.English).T
	for _, tc := range []struct {
		w    WaitFigure
		want string
	}{
		{WaitFigure{}, ""},
		{WaitFigure{true, false, 0}, "–"},
		{WaitFigure{true, true, 0}, "1 h"},
		{WaitFigure{true, true, 61}, "2 h"},
		{WaitFigure{true, true, 47 * 60}, "47 h"},
		{WaitFigure{true, true, 48 * 60}, "2 days"},
		{WaitFigure{true, true, 49 * 60}, "3 days"},
	} {
		if got := tc.w.Text(tr); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.w, got, tc.want)
		}
	}
}

func TestYears(t *testing.T) {
	now := time.Date(2026, 1, 20, 0, 0, 0, 0, EAT)
	first := day(2024, 11, 1)
	if DefaultYear(first, now) != 2025 || DefaultYear(first, now.AddDate(0, 1, 0)) != 2026 {
		t.Error("DefaultYear: in January, the year before")
	}
	if got := Years(first, now); !slices.Equal(got, []int{2024, 2025}) {
		t.Errorf("Years = %v", got)
	}
	if got := Years(time.Time{}, now); got != nil {
		t.Errorf("Years with nothing counted = %v", got)
	}
	// Across the edges of a year, for a first report in December: the
	// year appears when December is over, not before.
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, EAT)
	for _, tc := range []struct {
		now  time.Time
		want []int
	}{
		{dec, nil},
		{time.Date(2026, 12, 31, 23, 59, 59, 0, EAT), nil},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, EAT), []int{2026}},
		{time.Date(2027, 1, 31, 23, 59, 59, 0, EAT), []int{2026}},
		{time.Date(2027, 2, 1, 0, 0, 0, 0, EAT), []int{2026, 2027}},
	} {
		if got := Years(dec.Add(time.Hour), tc.now); !slices.Equal(got, tc.want) {
			t.Errorf("first report in December 2026, at %s: Years = %v, want %v", tc.now, got, tc.want)
		}
	}
}

// Every word the figures use exists in both languages, and the CSV says
// what the grids say.
func TestLabelsAndCSV(t *testing.T) {
	cat := locale.MustLoad()
	counts := []Count{rep(day(2025, 1, 10), 7, "nairobi", "16-17", "sextortion"), rep(day(2025, 2, 10), 2, Outside, "", "other")}
	f, err := Build(Input{Year: 2025, Now: time.Date(2026, 3, 1, 0, 0, 0, 0, EAT), First: day(2025, 1, 10), K: 5, Counts: counts,
		Waits:     []Wait{{Day: day(2025, 1, 10), Minutes: 75, Answered: true, N: 7}},
		Referrals: []Referral{{Day: day(2025, 3, 1), Type: "counselling", State: RefAccepted, Consented: true, N: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	raw := regexp.MustCompile(`\b[a-z]+\.[a-z0-9_.-]+\b`)
	for _, l := range locale.Langs {
		p := cat.Printer(l)
		var missing []string
		tr := func(key string, args ...any) string {
			if !p.Has(key) {
				missing = append(missing, key)
			}
			return p.T(key, args...)
		}
		grids := f.Grids(tr)
		charts := string(f.MonthChart(tr) + f.CategoryChart(tr))
		var buf bytes.Buffer
		if err := f.WriteCSV(&buf, tr); err != nil {
			t.Fatal(err)
		}
		if len(missing) > 0 {
			t.Errorf("%s: missing %v", l, missing)
		}
		if m := raw.FindString(charts); m != "" {
			t.Errorf("%s: chart shows %q", l, m)
		}
		if strings.Contains(charts, "style") || strings.Contains(charts, "<script") {
			t.Errorf("%s: chart has a style or a script", l)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		i := 1
		for _, g := range grids {
			rows := g.Rows
			if g.Total != nil {
				rows = append(rows, *g.Total)
			}
			for _, r := range rows {
				for c, v := range r.Cells {
					want := []string{g.Name, "2025", r.Key, r.Label, g.ColKeys[c], g.Head[c], v}
					if !slices.Equal(recs[i], want) {
						t.Fatalf("%s: CSV line %d = %v, want %v", l, i, recs[i], want)
					}
					i++
				}
			}
		}
		if i != len(recs) {
			t.Errorf("%s: CSV has %d lines, grids %d", l, len(recs), i)
		}
	}
	en := cat.Printer(locale.English).T
	g := f.Grids(en)
	if g[0].Rows[0].Label != "January 2025" || g[0].Rows[0].Cells[len(g[0].Rows[0].Cells)-1] != "2 h" {
		t.Errorf("month row %+v", g[0].Rows[0])
	}
	if g[1].Rows[47].Label != "Outside Kenya" || g[1].Rows[48].Label != "Not said" {
		t.Errorf("county rows end %q %q", g[1].Rows[47].Label, g[1].Rows[48].Label)
	}
}
