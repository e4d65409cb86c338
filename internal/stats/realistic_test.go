package stats

import (
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

// A year of a small, a middling and a large network: everything published
// is checked (witness by witness: the tables are too big for the
// exhaustive search), and none of them needs to fall back to publishing
// less.
func TestBuildRealistic(t *testing.T) {
	for _, size := range []int{60, 300, 3000} {
		rng := rand.New(rand.NewPCG(uint64(size), 2))
		f, err := Build(2025, time.Date(2026, 2, 3, 0, 0, 0, 0, EAT), time.Date(2025, 1, 1, 0, 0, 0, 0, EAT), 5, network(rng, 2025, size), nil)
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

// BenchmarkBuild is a year of a network of 3,000 reports: the work the
// public page does once per cache period.
func BenchmarkBuild(b *testing.B) {
	counts := network(rand.New(rand.NewPCG(1, 2)), 2025, 3000)
	now, first := time.Date(2026, 2, 3, 0, 0, 0, 0, EAT), time.Date(2025, 1, 1, 0, 0, 0, 0, EAT)
	for b.Loop() {
		if _, err := Build(2025, now, first, 5, counts, nil); err != nil {
			b.Fatal(err)
		}
	}
}
