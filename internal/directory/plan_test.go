package directory

import (
	"slices"
	"testing"
)

func TestPlanRules(t *testing.T) {
	type want struct {
		emergency, prc, child bool
		images                ImageRemoval
		childImages           bool
		sections              []Section
	}
	S := func(ss ...Section) []Section { return ss }
	for _, tc := range []struct {
		name string
		s    Situation
		want want
	}{
		{"blank report still gets help", Situation{},
			want{sections: S(SectionServices, SectionNational)}},
		{"danger now", Situation{DangerNow: true},
			want{emergency: true, sections: S(SectionEmergency, SectionServices, SectionNational)}},
		{"sexual violence, ongoing", Situation{Categories: []string{CategorySexualViolence}, WhenLast: WhenOngoing},
			want{prc: true, sections: S(SectionPostRapeCare, SectionServices, SectionNational)}},
		{"sexual violence, 72h", Situation{Categories: []string{CategorySexualViolence, CategoryOther}, WhenLast: When72h},
			want{prc: true, sections: S(SectionPostRapeCare, SectionServices, SectionNational)}},
		{"sexual violence, when not said: shown, PEP is time-critical", Situation{Categories: []string{CategorySexualViolence}},
			want{prc: true, sections: S(SectionPostRapeCare, SectionServices, SectionNational)}},
		{"sexual violence, last month", Situation{Categories: []string{CategorySexualViolence}, WhenLast: WhenMonth},
			want{sections: S(SectionServices, SectionNational)}},
		{"sexual violence, longer ago", Situation{Categories: []string{CategorySexualViolence}, WhenLast: WhenLonger},
			want{sections: S(SectionServices, SectionNational)}},
		{"72h but no sexual violence", Situation{Categories: []string{CategoryAdvertised}, WhenLast: When72h},
			want{sections: S(SectionServices, SectionNational)}},
		{"about a child", Situation{About: AboutChild},
			want{child: true, sections: S(SectionChildLine, SectionServices, SectionNational)}},
		{"child age band, about me", Situation{About: AboutMe, AgeBand: Age16to17},
			want{child: true, sections: S(SectionChildLine, SectionServices, SectionNational)}},
		{"adult age band", Situation{About: AboutMe, AgeBand: Age18to24},
			want{sections: S(SectionServices, SectionNational)}},
		{"takedown, child", Situation{AgeBand: AgeUnder13, Help: []Need{NeedTakedown}},
			want{child: true, images: ImageRemovalTakeItDown, childImages: true, sections: S(SectionChildLine, SectionImageRemoval, SectionChildImages, SectionServices, SectionNational)}},
		{"takedown, adult", Situation{AgeBand: Age25Plus, Help: []Need{NeedTakedown}},
			want{images: ImageRemovalStopNCII, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"takedown, another adult with no band", Situation{About: AboutAdult, Help: []Need{NeedTakedown}},
			want{images: ImageRemovalStopNCII, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"takedown, age not said", Situation{About: AboutMe, Help: []Need{NeedTakedown}},
			want{images: ImageRemovalBoth, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"sextortion without asking for takedown", Situation{AgeBand: Age18to24, Categories: []string{CategorySextortion}},
			want{images: ImageRemovalStopNCII, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"images requested from a child", Situation{About: AboutChild, AgeBand: Age13to15, Categories: []string{CategoryImagesRequested}},
			want{child: true, images: ImageRemovalTakeItDown, childImages: true, sections: S(SectionChildLine, SectionImageRemoval, SectionChildImages, SectionServices, SectionNational)}},
		{"a child's band wins over 'another adult'", Situation{About: AboutAdult, AgeBand: Age16to17, Help: []Need{NeedTakedown}},
			want{child: true, images: ImageRemovalTakeItDown, childImages: true, sections: S(SectionChildLine, SectionImageRemoval, SectionChildImages, SectionServices, SectionNational)}},
		{"a child advertised: where to report the pictures", Situation{About: AboutChild, Categories: []string{CategoryAdvertised}},
			want{child: true, childImages: true, sections: S(SectionChildLine, SectionChildImages, SectionServices, SectionNational)}},
		{"an adult advertised: no child's pictures", Situation{AgeBand: Age18to24, Categories: []string{CategoryAdvertised}},
			want{sections: S(SectionServices, SectionNational)}},
		{"age not said, images: no IWF section", Situation{About: AboutMe, Categories: []string{CategorySextortion}},
			want{images: ImageRemovalBoth, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"a child, no images", Situation{About: AboutChild, Categories: []string{CategorySexualViolence}, WhenLast: WhenLonger},
			want{child: true, sections: S(SectionChildLine, SectionServices, SectionNational)}},
		{"everything at once, in SPEC order", Situation{About: AboutChild, DangerNow: true, WhenLast: When72h,
			Categories: []string{CategorySexualViolence, CategorySextortion}},
			want{emergency: true, prc: true, child: true, images: ImageRemovalTakeItDown, childImages: true,
				sections: S(SectionEmergency, SectionPostRapeCare, SectionChildLine, SectionImageRemoval, SectionChildImages, SectionServices, SectionNational)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Plan(tc.s, demoServices())
			if p.Emergency != tc.want.emergency || p.PostRapeCare != tc.want.prc || p.ChildLine != tc.want.child || p.ImageRemoval != tc.want.images || p.ChildImages != tc.want.childImages {
				t.Errorf("got emergency=%v prc=%v child=%v images=%q childImages=%v, want %+v",
					p.Emergency, p.PostRapeCare, p.ChildLine, p.ImageRemoval, p.ChildImages, tc.want)
			}
			if got := p.Sections(); !slices.Equal(got, tc.want.sections) {
				t.Errorf("sections %v, want %v", got, tc.want.sections)
			}
			if got := ids(p.National); !slices.Equal(got, []string{LinePolice999, LineEmergency112, LineGBV1195, LineChildline116}) {
				t.Errorf("national lines %v", got)
			}
			if (len(p.EmergencyLines()) == 2) != p.Emergency || (len(p.PostRapeCareLines()) == 1) != p.PostRapeCare ||
				(len(p.ChildLines()) == 1) != p.ChildLine {
				t.Errorf("line helpers disagree with the flags")
			}
			if len(p.Services) == 0 || len(p.Services) > PlanServiceLimit {
				t.Errorf("%d services", len(p.Services))
			}
		})
	}
}

func TestPlanLines(t *testing.T) {
	p := Plan(Situation{DangerNow: true, About: AboutChild, Categories: []string{CategorySexualViolence}, Help: []Need{NeedTakedown}}, nil)
	if got := ids(p.EmergencyLines()); !slices.Equal(got, []string{LinePolice999, LineEmergency112}) {
		t.Errorf("emergency lines %v", got)
	}
	if got := ids(p.PostRapeCareLines()); !slices.Equal(got, []string{LineGBV1195}) {
		t.Errorf("post-rape care lines %v", got)
	}
	if got := ids(p.ChildLines()); !slices.Equal(got, []string{LineChildline116}) {
		t.Errorf("child lines %v", got)
	}
	if got := ids(p.ImageTools()); !slices.Equal(got, []string{ToolTakeItDown}) {
		t.Errorf("image tools %v", got)
	}
	if got := ids(Plan(Situation{Help: []Need{NeedTakedown}}, nil).ImageTools()); !slices.Equal(got, []string{ToolTakeItDown, ToolStopNCII}) {
		t.Errorf("image tools for unknown age %v", got)
	}
	if got := Plan(Situation{}, nil).ImageTools(); got != nil {
		t.Errorf("image tools without a reason: %v", ids(got))
	}
	// Images of a child: the IWF portal, and Take It Down where the
	// image-removal section does not show it already.
	if got := ids(p.ChildImageTools()); !slices.Equal(got, []string{ToolIWF}) {
		t.Errorf("child image tools beside Take It Down %v", got)
	}
	if got := ids(Plan(Situation{About: AboutChild, Categories: []string{CategoryAdvertised}}, nil).ChildImageTools()); !slices.Equal(got, []string{ToolIWF, ToolTakeItDown}) {
		t.Errorf("child image tools for an advert %v", got)
	}
	if got := Plan(Situation{AgeBand: Age25Plus, Help: []Need{NeedTakedown}}, nil).ChildImageTools(); got != nil {
		t.Errorf("child image tools for an adult: %v", ids(got))
	}
}

func TestPlanServices(t *testing.T) {
	demo := demoServices()
	for _, tc := range []struct {
		name     string
		s        Situation
		want     []string // exactly
		fallback bool
	}{
		{"adult in Kisumu wanting shelter: only what meets it",
			Situation{AgeBand: Age25Plus, County: "kisumu", Help: []Need{NeedShelter}},
			[]string{"demo-trust-shelter-kisumu"}, false},
		{"child in Kisumu wanting shelter: child protection meets every need of a child",
			Situation{About: AboutChild, County: "kisumu", Help: []Need{NeedShelter}},
			[]string{"demo-child-protection-kisumu", "demo-county-childrens-office"}, false},
		{"adult in Turkana wanting medical care: nothing near, fallback",
			Situation{AgeBand: Age18to24, County: "turkana", Help: []Need{NeedMedical}},
			[]string{LineGBV1195}, true},
		{"child in Turkana wanting medical care: 116 first",
			Situation{AgeBand: Age13to15, County: "turkana", Help: []Need{NeedMedical}},
			[]string{LineChildline116, LineGBV1195}, true},
		{"no county, nothing asked: national services only, not every county's",
			Situation{AgeBand: Age18to24},
			[]string{"demo-intake-helpline", "demo-intake-takedown", "demo-intake-repatriation"}, false},
		{"record only counts as asking nothing",
			Situation{AgeBand: Age18to24, Help: []Need{NeedRecordOnly}},
			[]string{"demo-intake-helpline", "demo-intake-takedown", "demo-intake-repatriation"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Plan(tc.s, demo)
			if got := ids(p.Services); !slices.Equal(got, tc.want) {
				t.Errorf("services %v, want %v", got, tc.want)
			}
			if p.NoLocalMatch != tc.fallback {
				t.Errorf("NoLocalMatch = %v", p.NoLocalMatch)
			}
		})
	}
	// The cap.
	var many []Service
	for i := range 3 * PlanServiceLimit {
		many = append(many, Service{ID: "s" + string(rune('a'+i)), OrgID: "o", Name: "s", Type: TypeCounselling,
			Counties: []string{"nyeri"}, Ages: AgesAll, Channels: Channels{Phone: "0700 000 096"}})
	}
	if n := len(Plan(Situation{County: "nyeri", Help: []Need{NeedCounselling}}, many).Services); n != PlanServiceLimit {
		t.Errorf("%d services, want the cap %d", n, PlanServiceLimit)
	}
}
