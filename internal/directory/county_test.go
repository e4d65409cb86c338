package directory

import (
	"regexp"
	"testing"
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
	if n := len(Needs()); n != 8 {
		t.Errorf("%d needs, want 8", n)
	}
	for _, n := range Needs() {
		if got, ok := ParseNeed(string(n)); !ok || got != n {
			t.Errorf("ParseNeed(%q) = %q, %v", n, got, ok)
		}
		if n != NeedRecordOnly && len(n.ServiceTypes()) == 0 {
			t.Errorf("need %q is met by no service type", n)
		}
	}
	if _, ok := ParseNeed("Medical"); ok {
		t.Error("ParseNeed accepted a wrong case")
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
	for n, want := range map[Need][]ServiceType{
		NeedMedical:     {TypeMedicalPEP},
		NeedPolice:      {TypePoliceDesk, TypeLegalAid},
		NeedTakedown:    {TypeOnlineTakedown},
		NeedTravelHome:  {TypeRepatriation},
		NeedShelter:     {TypeShelter},
		NeedCounselling: {TypeCounselling, TypeHelpline},
		NeedLegal:       {TypeLegalAid},
	} {
		got := n.ServiceTypes()
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
	if got := TypeLegalAid.Needs(); len(got) != 2 || got[0] != NeedLegal || got[1] != NeedPolice {
		t.Errorf("legal_aid meets %v, want [legal police]", got)
	}

	for band, child := range map[string]bool{
		AgeUnder13: true, Age13to15: true, Age16to17: true,
		Age18to24: false, Age25Plus: false, AgeNotSaid: false, "bogus": false,
	} {
		if IsChild(band) != child {
			t.Errorf("IsChild(%q) = %v", band, !child)
		}
		if _, ok := ParseAgeBand(band); ok != (band != "bogus") {
			t.Errorf("ParseAgeBand(%q) ok = %v", band, ok)
		}
	}
	if IsAdult(AgeNotSaid) || !IsAdult(Age18to24) || IsAdult(Age16to17) {
		t.Error("IsAdult wrong")
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
