package stats

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// network simulates a year of counted reports for a network of the given
// size: most from a few big counties, a long tail of small ones, children
// over-represented in some kinds of harm, a fifth of the traffic tips.
func network(rng *rand.Rand, year, reports int) []Count {
	weights := map[string]int{"nairobi": 30, "mombasa": 10, "kisumu": 6, "nakuru": 6, "kiambu": 5, "kilifi": 4, "machakos": 3, "kakamega": 3, "uasin-gishu": 3, Outside: 2, "": 6}
	var slugs []string
	total := 0
	for _, c := range countyRows() {
		w, ok := weights[c]
		if c == NotSaid {
			c, w, ok = "", weights[""], true
		}
		if !ok {
			w = 1
		}
		for range w {
			slugs = append(slugs, c)
		}
		total += w
	}
	ages := []string{"under13", "13-15", "16-17", "16-17", "18-24", "18-24", "18-24", "25plus", "25plus", ""}
	catP := []int{25, 35, 20, 15, 20, 10} // percent naming each
	var out []Count
	for i := range reports + reports/4 {
		day := time.Date(year, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 12, 0, 0, 0, EAT)
		c := Count{Day: day, County: slugs[rng.IntN(len(slugs))], N: 1}
		if i >= reports {
			c.Tip = true
		} else {
			c.AgeBand = ages[rng.IntN(len(ages))]
			for j, p := range catP {
				if rng.IntN(100) < p {
					c.Categories = append(c.Categories, Categories[j])
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// firstOf is when the first of counts was sent.
func firstOf(counts []Count) time.Time {
	var first time.Time
	for _, c := range counts {
		if first.IsZero() || c.Day.Before(first) {
			first = c.Day
		}
	}
	return first
}

// Years of a tiny, a small, a middling and a large network, each published
// as it would be (month by month, then whole when it is over): everything
// published is checked (solution by solution, each checked on its own:
// the tables are too big for the exhaustive search), none of them needs
// to fall back to publishing less, and the solver never ran out of
// budget, so the audit was exact.
func TestBuildRealistic(t *testing.T) {
	before := auditUnknowns.Load()
	for _, size := range []int{20, 60, 300, 3000} {
		for seed := range uint64(2) {
			rng := rand.New(rand.NewPCG(uint64(size), 2+seed))
			counts, now := network(rng, 2025, size), time.Date(2026, 2, 3, 0, 0, 0, 0, EAT)
			first := firstOf(counts)
			f, err := Build(Input{Year: 2025, Now: now, First: first, K: 5, Counts: counts, Published: publishMonths(t, 2025, first, 5, counts, nil, now)})
			if err != nil {
				t.Fatal(err)
			}
			if f.Reduced || f.County == nil {
				t.Errorf("%d reports: published less", size)
			}
			checkPublished(t, f.Pub, false)
			marks := map[Mark]int{}
			for _, tb := range f.Pub.Tables {
				for _, row := range tb.Marks {
					for _, m := range row {
						marks[m]++
					}
				}
			}
			t.Logf("%d reports: %d figures shown, %d under k, %d hidden beside them", size, marks[Shown], marks[Small], marks[Hidden])
		}
	}
	if n := auditUnknowns.Load() - before; n > 0 {
		t.Errorf("the solver gave up %d times", n)
	}
}

// BenchmarkBuild is the publication of a whole year once it is over, for
// networks of 60, 300 and 3,000 reports a year, its months published
// before: the work of the first request of the new year.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []int{60, 300, 3000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			counts := network(rand.New(rand.NewPCG(uint64(size), 2)), 2025, size)
			now, first := time.Date(2026, 2, 3, 0, 0, 0, 0, EAT), firstOf(counts)
			published := publishMonths(b, 2025, first, 5, counts, nil, now)
			for b.Loop() {
				if _, err := Build(Input{Year: 2025, Now: now, First: first, K: 5, Counts: counts, Published: published}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
