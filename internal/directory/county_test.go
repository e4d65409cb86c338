package directory

import (
	"regexp"
	"testing"

	"github.com/salama-ke/salama/internal/report"
)

func TestCounties(t *testing.T) {
	cs := Counties()
	if len(cs) != 47 {
		t.Fatalf("%d counties, want 47", len(cs))
	}
	slugRE := regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
	seenCode, seenSlug := map[int]bool{}, map[string]bool{}
	for i, c := range cs {
		if c.Code != i+1 {
			t.Errorf("county %d (%s) has code %d: not in code order", i, c.Slug, c.Code)
		}
		if seenCode[c.Code] || seenSlug[c.Slug] {
			t.Errorf("duplicate county %d %s", c.Code, c.Slug)
		}
		seenCode[c.Code], seenSlug[c.Slug] = true, true
		if !slugRE.MatchString(c.Slug) {
			t.Errorf("slug %q is not lower-case words joined by '-'", c.Slug)
		}
		if c.Slug == CountyOutside || c.Slug == CountyNotSaid {
			t.Errorf("slug %q collides with a special answer", c.Slug)
		}
		got, ok := CountyBySlug(c.Slug)
		if !ok || got != c {
			t.Errorf("CountyBySlug(%q) = %v, %v", c.Slug, got, ok)
		}
	}
	// The official codes are fixed by the Constitution: pin some.
	for code, slug := range map[int]string{
		1: "mombasa", 4: "tana-river", 6: "taita-taveta", 13: "tharaka-nithi", 21: "murang-a",
		22: "kiambu", 24: "west-pokot", 26: "trans-nzoia", 27: "uasin-gishu", 28: "elgeyo-marakwet",
		32: "nakuru", 42: "kisumu", 43: "homa-bay", 45: "kisii", 47: "nairobi",
	} {
		if cs[code-1].Slug != slug {
			t.Errorf("code %d is %q, want %q", code, cs[code-1].Slug, slug)
		}
	}
	for _, s := range []string{"", CountyOutside, "Nairobi", "nairobi ", "murang'a", "unknown"} {
		if _, ok := CountyBySlug(s); ok {
			t.Errorf("CountyBySlug(%q) found a county", s)
		}
	}
	cs[0].Slug = "changed"
	if Counties()[0].Slug != "mombasa" {
		t.Error("Counties returned a shared slice")
	}
}

func TestVocabulary(t *testing.T) {
	if n := len(report.Needs()); n != 8 {
		t.Errorf("%d needs, want 8", n)
	}
	for _, n := range report.Needs() {
		if got, ok := report.ParseNeed(string(n)); !ok || got != n {
			t.Errorf("report.ParseNeed(%q) = %q, %v", n, got, ok)
		}
		if n != report.NeedRecordOnly && len(NeedTypes(n)) == 0 {
			t.Errorf("need %q is met by no service type", n)
		}
	}
	if _, ok := report.ParseNeed("Medical"); ok {
		t.Error("report.ParseNeed accepted a wrong case")
	}
	if n := len(ServiceTypes()); n != 10 {
		t.Errorf("%d service types, want 10", n)
	}
	for _, st := range ServiceTypes() {
		if got, ok := ParseServiceType(string(st)); !ok || got != st {
			t.Errorf("ParseServiceType(%q) = %q, %v", st, got, ok)
		}
	}
	if _, ok := ParseServiceType(""); ok {
		t.Error(`ParseServiceType("") succeeded`)
	}
	// The mapping the brief fixes.
	for n, want := range map[report.Need][]ServiceType{
		report.NeedMedical:     {TypeMedicalPEP},
		report.NeedPolice:      {TypePoliceDesk, TypeLegalAid},
		report.NeedTakedown:    {TypeOnlineTakedown},
		report.NeedTravelHome:  {TypeRepatriation},
		report.NeedShelter:     {TypeShelter},
		report.NeedCounselling: {TypeCounselling, TypeHelpline},
		report.NeedLegal:       {TypeLegalAid},
	} {
		got := NeedTypes(n)
		if len(got) != len(want) {
			t.Errorf("%s served by %v, want %v", n, got, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s served by %v, want %v", n, got, want)
			}
		}
	}
	if got := TypeLegalAid.Needs(); len(got) != 2 || got[0] != report.NeedLegal || got[1] != report.NeedPolice {
		t.Errorf("legal_aid meets %v, want [legal police]", got)
	}

	for band, child := range map[string]bool{
		report.AgeUnder13: true, report.Age13to15: true, report.Age16to17: true,
		report.Age18to24: false, report.Age25Plus: false, report.AgeNotSaid: false, "bogus": false,
	} {
		if report.IsChild(band) != child {
			t.Errorf("report.IsChild(%q) = %v", band, !child)
		}
		if _, ok := report.ParseAgeBand(band); ok != (band != "bogus") {
			t.Errorf("report.ParseAgeBand(%q) ok = %v", band, ok)
		}
	}
	if report.IsAdult(report.AgeNotSaid) || !report.IsAdult(report.Age18to24) || report.IsAdult(report.Age16to17) {
		t.Error("report.IsAdult wrong")
	}
	for _, g := range []AgeGroup{"", "adult", "ALL", "both"} {
		if g.ServesChildren() || g.ServesAdults() {
			t.Errorf("age group %q serves someone", g)
		}
	}
	if AgesAdults.ServesChildren() || !AgesChildren.ServesChildren() || AgesChildren.ServesAdults() {
		t.Error("age group allow-list wrong")
	}
}
