package directory

import (
	"slices"
	"testing"

	"github.com/salama-ke/salama/internal/report"
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
		{"sexual violence, ongoing", Situation{Categories: []string{report.CategorySexualViolence}, WhenLast: report.WhenOngoing},
			want{prc: true, sections: S(SectionPostRapeCare, SectionServices, SectionNational)}},
		{"sexual violence, 72h", Situation{Categories: []string{report.CategorySexualViolence, report.CategoryOther}, WhenLast: report.When72h},
			want{prc: true, sections: S(SectionPostRapeCare, SectionServices, SectionNational)}},
		{"sexual violence, when not said: shown, PEP is time-critical", Situation{Categories: []string{report.CategorySexualViolence}},
			want{prc: true, sections: S(SectionPostRapeCare, SectionServices, SectionNational)}},
		{"sexual violence, last month", Situation{Categories: []string{report.CategorySexualViolence}, WhenLast: report.WhenMonth},
			want{sections: S(SectionServices, SectionNational)}},
		{"sexual violence, longer ago", Situation{Categories: []string{report.CategorySexualViolence}, WhenLast: report.WhenLonger},
			want{sections: S(SectionServices, SectionNational)}},
		{"72h but no sexual violence", Situation{Categories: []string{report.CategoryAdvertised}, WhenLast: report.When72h},
			want{sections: S(SectionServices, SectionNational)}},
		{"about a child", Situation{About: report.AboutChild},
			want{child: true, sections: S(SectionChildLine, SectionServices, SectionNational)}},
		{"child age band, about me", Situation{About: report.AboutMe, AgeBand: report.Age16to17},
			want{child: true, sections: S(SectionChildLine, SectionServices, SectionNational)}},
		{"adult age band", Situation{About: report.AboutMe, AgeBand: report.Age18to24},
			want{sections: S(SectionServices, SectionNational)}},
		{"takedown, child", Situation{AgeBand: report.AgeUnder13, Help: []report.Need{report.NeedTakedown}},
			want{child: true, images: ImageRemovalTakeItDown, childImages: true, sections: S(SectionChildLine, SectionImageRemoval, SectionChildImages, SectionServices, SectionNational)}},
		{"takedown, adult", Situation{AgeBand: report.Age25Plus, Help: []report.Need{report.NeedTakedown}},
			want{images: ImageRemovalStopNCII, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"takedown, another adult with no band", Situation{About: report.AboutAdult, Help: []report.Need{report.NeedTakedown}},
			want{images: ImageRemovalStopNCII, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"takedown, age not said", Situation{About: report.AboutMe, Help: []report.Need{report.NeedTakedown}},
			want{images: ImageRemovalBoth, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"sextortion without asking for takedown", Situation{AgeBand: report.Age18to24, Categories: []string{report.CategorySextortion}},
			want{images: ImageRemovalStopNCII, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"images requested from a child", Situation{About: report.AboutChild, AgeBand: report.Age13to15, Categories: []string{report.CategoryImagesRequested}},
			want{child: true, images: ImageRemovalTakeItDown, childImages: true, sections: S(SectionChildLine, SectionImageRemoval, SectionChildImages, SectionServices, SectionNational)}},
		{"a child's band wins over 'another adult'", Situation{About: report.AboutAdult, AgeBand: report.Age16to17, Help: []report.Need{report.NeedTakedown}},
			want{child: true, images: ImageRemovalTakeItDown, childImages: true, sections: S(SectionChildLine, SectionImageRemoval, SectionChildImages, SectionServices, SectionNational)}},
		{"a child advertised: where to report the pictures", Situation{About: report.AboutChild, Categories: []string{report.CategoryAdvertised}},
			want{child: true, childImages: true, sections: S(SectionChildLine, SectionChildImages, SectionServices, SectionNational)}},
		{"an adult advertised: no child's pictures", Situation{AgeBand: report.Age18to24, Categories: []string{report.CategoryAdvertised}},
			want{sections: S(SectionServices, SectionNational)}},
		{"age not said, images: no IWF section", Situation{About: report.AboutMe, Categories: []string{report.CategorySextortion}},
			want{images: ImageRemovalBoth, sections: S(SectionImageRemoval, SectionServices, SectionNational)}},
		{"a child, no images", Situation{About: report.AboutChild, Categories: []string{report.CategorySexualViolence}, WhenLast: report.WhenLonger},
			want{child: true, sections: S(SectionChildLine, SectionServices, SectionNational)}},
		{"everything at once, in SPEC order", Situation{About: report.AboutChild, DangerNow: true, WhenLast: report.When72h,
			Categories: []string{report.CategorySexualViolence, report.CategorySextortion}},
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
	p := Plan(Situation{DangerNow: true, About: report.AboutChild, Categories: []string{report.CategorySexualViolence}, Help: []report.Need{report.NeedTakedown}}, nil)
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
	if got := ids(Plan(Situation{Help: []report.Need{report.NeedTakedown}}, nil).ImageTools()); !slices.Equal(got, []string{ToolTakeItDown, ToolStopNCII}) {
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
	if got := ids(Plan(Situation{About: report.AboutChild, Categories: []string{report.CategoryAdvertised}}, nil).ChildImageTools()); !slices.Equal(got, []string{ToolIWF, ToolTakeItDown}) {
		t.Errorf("child image tools for an advert %v", got)
	}
	if got := Plan(Situation{AgeBand: report.Age25Plus, Help: []report.Need{report.NeedTakedown}}, nil).ChildImageTools(); got != nil {
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
			Situation{AgeBand: report.Age25Plus, County: "kisumu", Help: []report.Need{report.NeedShelter}},
			[]string{"demo-trust-shelter-kisumu"}, false},
		{"child in Kisumu wanting shelter: child protection meets every need of a child",
			Situation{About: report.AboutChild, County: "kisumu", Help: []report.Need{report.NeedShelter}},
			[]string{"demo-child-protection-kisumu", "demo-county-childrens-office"}, false},
		{"adult in Turkana wanting medical care: nothing near, fallback",
			Situation{AgeBand: report.Age18to24, County: "turkana", Help: []report.Need{report.NeedMedical}},
			[]string{LineGBV1195}, true},
		{"child in Turkana wanting medical care: 116 first",
			Situation{AgeBand: report.Age13to15, County: "turkana", Help: []report.Need{report.NeedMedical}},
			[]string{LineChildline116, LineGBV1195}, true},
		{"no county, nothing asked: national services only, not every county's",
			Situation{AgeBand: report.Age18to24},
			[]string{"demo-intake-helpline", "demo-intake-takedown", "demo-intake-repatriation"}, false},
		{"record only counts as asking nothing",
			Situation{AgeBand: report.Age18to24, Help: []report.Need{report.NeedRecordOnly}},
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
	if n := len(Plan(Situation{County: "nyeri", Help: []report.Need{report.NeedCounselling}}, many).Services); n != PlanServiceLimit {
		t.Errorf("%d services, want the cap %d", n, PlanServiceLimit)
	}
}
