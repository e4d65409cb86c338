package directory

import (
	"slices"
	"testing"

	"github.com/salama-ke/salama/internal/report"
)

func demoServices() []Service {
	var out []Service
	for _, o := range DemoNetwork() {
		out = append(out, o.Services...)
	}
	return out
}

// answers lists every answer to "where": the 47 counties, outside Kenya and
// not said.
func answers() []string {
	out := []string{CountyNotSaid, CountyOutside}
	for _, c := range Counties() {
		out = append(out, c.Slug)
	}
	return out
}

func ids(ss []Service) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

// needSets are the needs a query may carry: none, each alone, and all.
func needSets() [][]report.Need {
	sets := [][]report.Need{nil, report.Needs()}
	for _, n := range report.Needs() {
		sets = append(sets, []report.Need{n})
	}
	return sets
}

// The property the whole directory rests on: over every demo service, every
// age band, every county and every need, a child never gets an adult-only
// service, from Match or from Plan.
func TestChildNeverMatchesAdultOnly(t *testing.T) {
	// Add a national adults-only service of every type, so each query has
	// one to refuse.
	services := demoServices()
	for _, st := range ServiceTypes() {
		services = append(services, Service{ID: "adult-only-" + string(st), OrgID: "x", Name: "Adults",
			Type: st, National: true, Ages: AgesAdults, Channels: Channels{Phone: "0700 000 099"}, Free: true})
	}
	services = append(services, ImageRemovalTools()...)
	checked := 0
	for _, band := range append(report.AgeBands(), report.AgeNotSaid) {
		for _, childFlag := range []bool{false, true} {
			child := childFlag || report.IsChild(band)
			for _, county := range answers() {
				for _, ns := range needSets() {
					got := Match(services, Query{County: county, Needs: ns, AgeBand: band, Child: childFlag})
					if len(got) == 0 {
						t.Fatalf("Match empty for %s %v %q child=%v", county, ns, band, childFlag)
					}
					about := ""
					if childFlag {
						about = report.AboutChild
					}
					plan := Plan(Situation{About: about, AgeBand: band, County: county, Help: ns,
						Categories: []string{report.CategorySextortion}}, services)
					if !child {
						continue
					}
					for _, s := range slices.Concat(got, plan.Services, plan.ImageTools()) {
						checked++
						if !s.Ages.ServesChildren() {
							t.Fatalf("child (band %q, county %s, needs %v) matched %s (ages %q)",
								band, county, ns, s.ID, s.Ages)
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("checked nothing")
	}
}

func TestMatchNeverEmpty(t *testing.T) {
	for name, services := range map[string][]Service{
		"none":         nil,
		"demo":         demoServices(),
		"invalid only": {{ID: "x", Name: "x", Type: "bogus", National: true, Ages: AgesAll}, {ID: "y", Type: TypeShelter, National: true}},
		"one county":   {{ID: "z", OrgID: "o", Name: "z", Type: TypeShelter, Counties: []string{"lamu"}, Ages: AgesAll}},
	} {
		for _, county := range answers() {
			for _, n := range report.Needs() {
				for _, band := range append(report.AgeBands(), report.AgeNotSaid) {
					got := Match(services, Query{County: county, Needs: []report.Need{n}, AgeBand: band})
					if len(got) == 0 {
						t.Errorf("%s: Match empty for %s / %s / %q", name, county, n, band)
					}
					p := Plan(Situation{County: county, AgeBand: band, Help: []report.Need{n}}, services)
					if len(p.Services) == 0 || len(p.National) != 4 {
						t.Errorf("%s: Plan for %s / %s has %d services, %d national lines", name, county, n, len(p.Services), len(p.National))
					}
				}
			}
		}
	}
}

func TestMatchFallback(t *testing.T) {
	onlyLamu := []Service{{ID: "lamu-shelter", OrgID: "o", Name: "Shelter", Type: TypeShelter,
		Counties: []string{"lamu"}, Ages: AgesAll, Channels: Channels{Phone: "0700 000 098"}}}
	for _, tc := range []struct {
		name     string
		services []Service
		q        Query
		want     []string
	}{
		{"empty directory, adult", nil, Query{County: "nairobi", AgeBand: report.Age25Plus}, []string{LineGBV1195}},
		{"empty directory, age not said", nil, Query{County: "nairobi"}, []string{LineGBV1195}},
		{"empty directory, child band", nil, Query{County: "nairobi", AgeBand: report.Age13to15}, []string{LineChildline116, LineGBV1195}},
		{"empty directory, child flag", nil, Query{Child: true}, []string{LineChildline116, LineGBV1195}},
		{"other county only", onlyLamu, Query{County: "turkana", Needs: []report.Need{report.NeedShelter}}, []string{LineGBV1195}},
		{"outside Kenya, local only", onlyLamu, Query{County: CountyOutside}, []string{LineGBV1195}},
		{"unknown county is not said", onlyLamu, Query{County: "gotham"}, []string{"lamu-shelter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(Match(tc.services, tc.q)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMatchRanking(t *testing.T) {
	demo := demoServices()
	for _, tc := range []struct {
		name      string
		q         Query
		wantFirst []string // the result starts with these, in order
		notIn     []string
	}{
		{
			"adult in Nairobi wanting legal help: local legal aid, then national",
			Query{County: "nairobi", Needs: []report.Need{report.NeedLegal}, AgeBand: report.Age18to24},
			[]string{"demo-trust-legal-aid"},
			[]string{"demo-child-protection-nairobi", "demo-child-medical", "demo-child-protection-kisumu"},
		},
		{
			"help with police: the desk and the lawyer, both local, before anything else",
			Query{County: "nairobi", Needs: []report.Need{report.NeedPolice}, AgeBand: report.Age25Plus},
			[]string{"demo-trust-legal-aid", "demo-trust-police-desk"},
			nil,
		},
		{
			"child in Nairobi wanting medical care: children's clinic, then the hospital's recovery centre (all ages), then child protection",
			Query{County: "nairobi", Needs: []report.Need{report.NeedMedical}, AgeBand: report.AgeUnder13},
			[]string{"demo-child-medical", "demo-hospital-gbvrc", "demo-child-protection-nairobi"},
			[]string{"demo-intake-medical", "demo-trust-shelter-women"},
		},
		{
			"adult in Kisumu wanting shelter",
			Query{County: "kisumu", Needs: []report.Need{report.NeedShelter}, AgeBand: report.Age25Plus},
			[]string{"demo-trust-shelter-kisumu"},
			[]string{"demo-child-shelter", "demo-trust-shelter-women"},
		},
		{
			"abroad, wanting to come home: national repatriation",
			Query{County: CountyOutside, Needs: []report.Need{report.NeedTravelHome}},
			[]string{"demo-intake-repatriation"},
			[]string{"demo-trust-legal-aid"},
		},
		{
			"Turkana, takedown: national takedown desk",
			Query{County: "turkana", Needs: []report.Need{report.NeedTakedown}},
			[]string{"demo-intake-takedown"},
			[]string{"demo-intake-counselling"},
		},
		{
			"counselling in Mombasa: local counselling before the national helpline",
			Query{County: "mombasa", Needs: []report.Need{report.NeedCounselling}, AgeBand: report.Age18to24},
			[]string{"demo-intake-counselling", "demo-intake-helpline"},
			[]string{"demo-child-counselling"},
		},
		{
			"a service meeting two wanted needs beats one meeting one",
			Query{County: "nakuru", Needs: []report.Need{report.NeedLegal, report.NeedPolice}, AgeBand: report.Age25Plus},
			[]string{"demo-trust-legal-aid", "demo-trust-police-desk"},
			nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(Match(demo, tc.q))
			if len(got) < len(tc.wantFirst) || !slices.Equal(got[:len(tc.wantFirst)], tc.wantFirst) {
				t.Errorf("got %v, want it to start with %v", got, tc.wantFirst)
			}
			for _, id := range tc.notIn {
				if slices.Contains(got, id) {
					t.Errorf("got %v, which includes %s", got, id)
				}
			}
		})
	}
}

func TestMatchFreeFirstAndStable(t *testing.T) {
	mk := func(id string, free bool) Service {
		return Service{ID: id, OrgID: "o", Name: id, Type: TypeCounselling, Counties: []string{"nyeri"},
			Ages: AgesAll, Channels: Channels{Phone: "0700 000 097"}, Free: free}
	}
	in := []Service{mk("paid-1", false), mk("free-1", true), mk("paid-2", false), mk("free-2", true), mk("free-1", true)}
	got := ids(Match(in, Query{County: "nyeri", Needs: []report.Need{report.NeedCounselling}}))
	if want := []string{"free-1", "free-2", "paid-1", "paid-2"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (free first, input order kept, duplicates dropped)", got, want)
	}
	for range 20 {
		if again := ids(Match(in, Query{County: "nyeri", Needs: []report.Need{report.NeedCounselling}})); !slices.Equal(again, got) {
			t.Fatalf("order changed: %v then %v", got, again)
		}
	}
}

func TestMatchAdultDoesNotGetChildrenOnly(t *testing.T) {
	for _, county := range answers() {
		for _, band := range []string{report.Age18to24, report.Age25Plus} {
			for _, s := range Match(demoServices(), Query{County: county, AgeBand: band}) {
				if !s.Ages.ServesAdults() {
					t.Errorf("adult %s in %s matched %s", band, county, s.ID)
				}
			}
		}
	}
}

// Match must hand out copies: a caller that edits a result must not edit the
// directory it was given.
func TestMatchCopies(t *testing.T) {
	in := demoServices()
	got := Match(in, Query{County: "nairobi"})
	got[0].Counties[0] = "changed"
	for _, s := range in {
		if slices.Contains(s.Counties, "changed") {
			t.Fatal("Match returned shared slices")
		}
	}
}
