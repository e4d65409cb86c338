package web_test

import (
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/app"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/stats"
	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
	"github.com/salama-ke/salama/internal/testkit"
)

// statsClockSite is a site with the public statistics page on, its clock
// ck, and the demo network's example reports taken out of the figures, so
// that a scenario counts only what it stores.
func statsClockSite(t *testing.T, db storetest.DB, ck *testkit.Clock, tweak ...func(*app.Options)) *site {
	t.Helper()
	s := newSite(t, db, append([]func(*app.Options){func(o *app.Options) {
		o.Now = ck.Now
		o.Web.PublicStats = true
	}}, tweak...)...)
	s.exec(`UPDATE reports SET consent_stats = false WHERE case_ref NOT LIKE 'ST-%'`)
	return s
}

// exec runs a statement on the site's database, outside the store.
func (s *site) exec(query string, args ...any) {
	s.t.Helper()
	driver, dsn := "pgx", s.db.DSN
	if s.db.Engine == store.SQLite {
		driver, dsn = "sqlite", "file:"+s.app.Store.Files()[0]+"?_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		s.t.Fatal(err)
	}
}

// answer records a caseworker's first message to report id at.
func (s *site) answer(id string, at time.Time) {
	s.t.Helper()
	err := s.app.Store.AddCaseworkerMessage(s.t.Context(), &store.Message{ID: id + "-m" + fmt.Sprint(at.Unix()), ReportID: id, UserID: "u",
		CreatedAt: at, Sealed: seal.Sealed("x")})
	if err != nil {
		s.t.Fatal(err)
	}
}

// row is a month's row of a statistics page, as the page shows it.
func monthRow(body, label string) string {
	m := regexp.MustCompile(`<tr><th scope="row">` + regexp.QuoteMeta(label) + `</th>(.*?)</tr>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// csvLines are the lines of a CSV download that are about row.
func csvLines(body, row string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, ","+row+",") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A month's figures, once on the page, never change: not when a late first
// answer comes in (that once revealed the report's wait), not when a
// report is withdrawn, not when a report of that month appears later (a
// restore, an import). The year's tables, published when it is over, add
// up to the months as they were shown.
func TestStatsMonthFrozen(t *testing.T) {
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		ck := testkit.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, stats.EAT))
		s := statsClockSite(t, db, ck)
		jan := time.Date(2026, 1, 5, 9, 0, 0, 0, stats.EAT)
		for i := range 7 {
			id := fmt.Sprint("jan", i)
			s.statsReport(id, store.KindReport, jan, true, "nairobi", "18-24", "sextortion")
			if i < 3 {
				s.answer(id, jan.Add(90*time.Minute)) // three of seven answered: fewer than half
			}
		}

		ck.Set(time.Date(2026, 2, 3, 10, 0, 0, 0, stats.EAT))
		before := map[string]string{}
		for _, lang := range []string{"en", "sw"} {
			page := s.get("/"+lang+"/stats", "")
			label := map[string]string{"en": "January 2026", "sw": "Januari 2026"}[lang]
			before[lang] = monthRow(page.body, label)
			before[lang+"csv"] = csvLines(s.get("/"+lang+"/stats?year=2026&format=csv", "").body, "2026-01")
		}
		if before["en"] != "<td>7</td><td>&lt;5</td><td>7</td><td>&lt;5</td><td>&lt;5</td><td>&lt;5</td><td>&lt;5</td><td>&lt;5</td><td>–</td>" {
			t.Fatalf("January 2026 as first published: %s", before["en"])
		}

		// After it was published: a late first answer (four of seven
		// would make half answered within a week), a withdrawal, and a
		// counted report of January that appears only now.
		s.answer("jan3", time.Date(2026, 2, 8, 9, 0, 0, 0, stats.EAT))
		if err := s.app.Store.Withdraw(t.Context(), "jan4", time.Date(2026, 2, 9, 9, 0, 0, 0, stats.EAT)); err != nil {
			t.Fatal(err)
		}
		s.statsReport("late", store.KindReport, jan, true, "lamu", "13-15", "trafficking")

		for _, at := range []time.Time{time.Date(2026, 2, 20, 10, 0, 0, 0, stats.EAT), time.Date(2026, 3, 2, 10, 0, 0, 0, stats.EAT)} {
			ck.Set(at)
			for _, lang := range []string{"en", "sw"} {
				page := s.get("/"+lang+"/stats?year=2026", "")
				label := map[string]string{"en": "January 2026", "sw": "Januari 2026"}[lang]
				if got := monthRow(page.body, label); got != before[lang] {
					t.Errorf("%s, /%s/stats: January changed\nwas %s\nnow %s", at.Format("2 Jan"), lang, before[lang], got)
				}
				if got := csvLines(s.get("/"+lang+"/stats?year=2026&format=csv", "").body, "2026-01"); got != before[lang+"csv"] {
					t.Errorf("%s, /%s CSV: January changed\nwas %s\nnow %s", at.Format("2 Jan"), lang, before[lang+"csv"], got)
				}
			}
		}

		// The year over: January as shown in February, and the year's
		// tables add up to it (the late report is in none of them).
		ck.Set(time.Date(2027, 1, 4, 10, 0, 0, 0, stats.EAT))
		page := s.get("/en/stats?year=2026", "")
		if got := monthRow(page.body, "January 2026"); got != before["en"] {
			t.Errorf("the closed year changed January\nwas %s\nnow %s", before["en"], got)
		}
		csv := s.get("/en/stats?year=2026&format=csv", "").body
		for _, want := range []string{"month,2026,total,Total,reports,Reports,7", "county,2026,nairobi,Nairobi,reports,Reports,7", "county,2026,total,Total,reports,Reports,7"} {
			if !strings.Contains(csv, want) {
				t.Errorf("the closed year's CSV lacks %q:\n%s", want, csv)
			}
		}
	})
}

// The figures were published with k=5. Started with k=3, Salama says so
// at start and publishes nothing new (a page with "<3" beside one with
// "<5" would tell 3 and 4 apart); confirmed with --stats-k-replaces 5, it
// publishes the next months with k=3 and keeps the old ones as they were.
func TestStatsKChangeRefused(t *testing.T) {
	db := newSQLite(t)
	ck := testkit.NewClock(time.Date(2026, 1, 5, 9, 0, 0, 0, stats.EAT))
	s := statsClockSite(t, db, ck)
	for i := range 4 {
		s.statsReport(fmt.Sprint("jan", i), store.KindReport, time.Date(2026, 1, 5, 9, 0, 0, 0, stats.EAT), true, "nairobi", "", "other")
		s.statsReport(fmt.Sprint("feb", i), store.KindReport, time.Date(2026, 2, 5, 9, 0, 0, 0, stats.EAT), true, "nairobi", "", "other")
	}
	ck.Set(time.Date(2026, 2, 10, 9, 0, 0, 0, stats.EAT))
	if got := monthRow(s.get("/en/stats", "").body, "January 2026"); !strings.HasPrefix(got, "<td>&lt;5</td>") {
		t.Fatalf("January with k=5: %s", got)
	}
	if s.app.StatsK.Held || s.app.StatsK.Message != "" {
		t.Errorf("first start: %+v", s.app.StatsK)
	}

	ck.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, stats.EAT))
	k3 := func(o *app.Options) { o.Web.StatsK = 3 }
	held := statsClockSite(t, db, ck, k3)
	if !held.app.StatsK.Held || !strings.Contains(held.app.StatsK.Message, "--stats-k-replaces 5") || !strings.Contains(held.app.StatsK.Message, "--stats-k 5") {
		t.Errorf("k=3 after k=5 without confirmation: %+v", held.app.StatsK)
	}
	if !strings.Contains(held.logs.String(), "--stats-k-replaces 5") {
		t.Errorf("the refusal is not logged")
	}
	for _, lang := range []string{"en", "sw"} {
		page := held.get("/"+lang+"/stats", "")
		feb := map[string]string{"en": "February 2026", "sw": "Februari 2026"}[lang]
		if page.StatusCode != 200 || monthRow(page.body, feb) != "" || strings.Contains(page.body, "&lt;3") {
			t.Errorf("/%s/stats held: %d, February shown %v", lang, page.StatusCode, monthRow(page.body, feb) != "")
		}
		heldText := map[string]string{"en": "Newer figures are waiting", "sw": "Takwimu mpya zaidi zinasubiri"}[lang]
		if !strings.Contains(page.body, heldText) {
			t.Errorf("/%s/stats does not say newer figures are held", lang)
		}
	}
	if n := held.count(`SELECT count(*) FROM stats_published`); n != 1 {
		t.Errorf("%d records: something was published while held", n)
	}

	confirmed := statsClockSite(t, db, ck, k3, func(o *app.Options) { o.StatsKReplaces = 5 })
	if confirmed.app.StatsK.Held || !strings.Contains(confirmed.app.StatsK.Message, "from 5 to 3") {
		t.Errorf("confirmed change: %+v", confirmed.app.StatsK)
	}
	page := confirmed.get("/en/stats", "")
	if got := monthRow(page.body, "February 2026"); !strings.HasPrefix(got, "<td>4</td>") {
		t.Errorf("February with k=3: %s", got)
	}
	if got := monthRow(page.body, "January 2026"); !strings.HasPrefix(got, "<td>&lt;5</td>") {
		t.Errorf("January must keep k=5: %s", got)
	}
	for _, want := range []string{"“&lt;3” means fewer than 3", "“&lt;5” means fewer than 5"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the legend lacks %q", want)
		}
	}

	// A wrong confirmation confirms nothing; going back needs its own.
	ck.Set(time.Date(2026, 4, 10, 9, 0, 0, 0, stats.EAT))
	back := statsClockSite(t, db, ck, func(o *app.Options) { o.StatsKReplaces = 4 })
	if !back.app.StatsK.Held {
		t.Errorf("k=5 after k=3 confirmed with the wrong value: %+v", back.app.StatsK)
	}
}

// "No month of 2026 is over yet" was false in December. On every date, the
// page says what is true: the month the figures will start with, until it
// is over; then the months that are over.
func TestStatsAcrossTheYearsEdge(t *testing.T) {
	db := newSQLite(t)
	ck := testkit.NewClock(time.Date(2026, 12, 3, 12, 0, 0, 0, stats.EAT))
	s := statsClockSite(t, db, ck)
	s.statsReport("dec", store.KindReport, time.Date(2026, 12, 3, 12, 0, 0, 0, stats.EAT), true, "nairobi", "", "other")
	s.statsReport("jan", store.KindReport, time.Date(2027, 1, 2, 12, 0, 0, 0, stats.EAT), true, "nairobi", "", "other")
	pending := map[string]string{
		"en": "Figures start with December 2026. They will appear here when that month is over.",
		"sw": "Takwimu zinaanza na Desemba 2026. Zitaonekana hapa mwezi huo ukiisha.",
	}
	for _, tc := range []struct {
		at       time.Time
		pending  bool
		year     int
		months   map[string][]string // shown
		notShown map[string][]string
	}{
		{at: time.Date(2026, 12, 3, 12, 0, 0, 0, stats.EAT), pending: true},
		{at: time.Date(2026, 12, 31, 23, 59, 59, 0, stats.EAT), pending: true},
		{at: time.Date(2027, 1, 1, 0, 0, 1, 0, stats.EAT), year: 2026,
			months: map[string][]string{"en": {"December 2026"}, "sw": {"Desemba 2026"}}, notShown: map[string][]string{"en": {"January 2027"}, "sw": {"Januari 2027"}}},
		{at: time.Date(2027, 1, 31, 23, 59, 59, 0, stats.EAT), year: 2026,
			months: map[string][]string{"en": {"December 2026"}, "sw": {"Desemba 2026"}}, notShown: map[string][]string{"en": {"January 2027"}, "sw": {"Januari 2027"}}},
		{at: time.Date(2027, 2, 1, 0, 0, 1, 0, stats.EAT), year: 2027,
			months: map[string][]string{"en": {"January 2027"}, "sw": {"Januari 2027"}}, notShown: map[string][]string{"en": {"December 2026", "February 2027"}, "sw": {"Desemba 2026", "Februari 2027"}}},
		{at: time.Date(2027, 12, 15, 9, 0, 0, 0, stats.EAT), year: 2027,
			months: map[string][]string{"en": {"January 2027", "November 2027"}, "sw": {"Januari 2027", "Novemba 2027"}}, notShown: map[string][]string{"en": {"December 2027"}, "sw": {"Desemba 2027"}}},
	} {
		ck.Set(tc.at)
		for _, lang := range []string{"en", "sw"} {
			page := s.get("/"+lang+"/stats", "")
			body := visible(page.body)
			if page.StatusCode != 200 {
				t.Fatalf("%s /%s/stats: %d", tc.at, lang, page.StatusCode)
			}
			for _, wrong := range []string{"No month", "Hakuna mwezi", "No reports have been counted", "Bado hakuna ripoti"} {
				if strings.Contains(body, wrong) {
					t.Errorf("%s /%s/stats says %q", tc.at, lang, wrong)
				}
			}
			if tc.pending != strings.Contains(body, pending[lang]) {
				t.Errorf("%s /%s/stats: pending message shown %v, want %v\n%s", tc.at, lang, !tc.pending, tc.pending, body)
			}
			if tc.pending {
				if strings.Contains(page.body, "<table") {
					t.Errorf("%s /%s/stats shows a table before any month is over", tc.at, lang)
				}
				continue
			}
			if !strings.Contains(page.body, fmt.Sprintf("<strong>%d</strong>", tc.year)) {
				t.Errorf("%s /%s/stats does not show %d", tc.at, lang, tc.year)
			}
			for _, m := range tc.months[lang] {
				if monthRow(page.body, m) == "" {
					t.Errorf("%s /%s/stats lacks the row of %s", tc.at, lang, m)
				}
			}
			for _, m := range tc.notShown[lang] {
				if monthRow(page.body, m) != "" {
					t.Errorf("%s /%s/stats shows %s", tc.at, lang, m)
				}
			}
		}
	}
}
