package directory

import (
	"slices"

	"github.com/salama-ke/salama/internal/report"
)

// Situation is the structured part of a report, all of it optional: what
// help-now matches on. It holds nothing the survivor wrote in their own words.
type Situation struct {
	About      string   // report.AboutMe, report.AboutChild, report.AboutAdult or ""
	Categories []string // Category* values
	AgeBand    string   // an age band or ""
	County     string   // a county slug, CountyOutside or ""
	WhenLast   string   // When* value or ""
	DangerNow  bool
	Help       []report.Need
}

// ImageRemoval says which image-removal tool to show.
type ImageRemoval string

const (
	ImageRemovalNone       ImageRemoval = ""
	ImageRemovalTakeItDown ImageRemoval = "takeitdown" // a child: images taken under 18
	ImageRemovalStopNCII   ImageRemoval = "stopncii"   // a known adult
	ImageRemovalBoth       ImageRemoval = "both"       // age not known: each with who it is for
)

// Section is one block of the help-now page. Its words are under
// "helpnow.<section>.title" and "helpnow.<section>.body"; the body is
// complete on its own, in paragraphs separated by "\n\n".
type Section string

const (
	SectionEmergency    Section = "emergency"
	SectionPostRapeCare Section = "post_rape_care"
	SectionChildLine    Section = "child_line"
	SectionImageRemoval Section = "image_removal"
	SectionChildImages  Section = "child_images"
	SectionServices     Section = "services"
	SectionNational     Section = "national"
)

// Sections lists every section in page order.
func Sections() []Section {
	return []Section{SectionEmergency, SectionPostRapeCare, SectionChildLine,
		SectionImageRemoval, SectionChildImages, SectionServices, SectionNational}
}

// TitleKey and BodyKey are the section's catalog keys.
func (s Section) TitleKey() string { return "helpnow." + string(s) + ".title" }
func (s Section) BodyKey() string  { return "helpnow." + string(s) + ".body" }

// PlanServiceLimit caps the services a help plan lists: the help-now page
// must stay within one TCP window (SPEC §8), and a short list is read.
const PlanServiceLimit = 5

// HelpPlan is what the help-now page shows, in the order of Sections. It
// carries no words: the page takes them from the catalogs.
type HelpPlan struct {
	Emergency    bool         // in danger now: 999 and 112 first
	PostRapeCare bool         // recent sexual violence: PEP within 72 h, emergency contraception within 120 h, 1195
	ChildLine    bool         // a child is involved: Childline 116
	ImageRemoval ImageRemoval // Take It Down, StopNCII, both or none
	// ChildImages: a child is involved and images are part of it (asked
	// for, threatened, taken down, or an advert): where to report sexual
	// images of a child seen online (the IWF), and Take It Down.
	ChildImages bool
	// Services are the directory's best matches in the survivor's county or
	// national, for the help they asked for; at most PlanServiceLimit.
	Services []Service
	// NoLocalMatch is true when the directory had nothing to offer and
	// Services holds the national fallback lines instead.
	NoLocalMatch bool
	National     []Service // always: NationalLines()
}

// Plan turns a report's answers into the help-now page (SPEC §3 rule 4).
//
// When sexual violence was reported without saying when, the 72-hour
// message is shown too: PEP works only if started within 72 hours, and
// showing it to someone past that time costs a paragraph.
func Plan(s Situation, services []Service) HelpPlan {
	child := s.About == report.AboutChild || report.IsChild(s.AgeBand)
	adult := !child && (report.IsAdult(s.AgeBand) || s.About == report.AboutAdult)
	p := HelpPlan{
		Emergency:    s.DangerNow,
		PostRapeCare: report.MayBeWithinPEPWindow(s.Categories, s.WhenLast),
		ChildLine:    child,
		National:     NationalLines(),
	}
	if slices.Contains(s.Help, report.NeedTakedown) ||
		slices.Contains(s.Categories, report.CategorySextortion) ||
		slices.Contains(s.Categories, report.CategoryImagesRequested) {
		switch {
		case child:
			p.ImageRemoval = ImageRemovalTakeItDown
		case adult:
			p.ImageRemoval = ImageRemovalStopNCII
		default:
			p.ImageRemoval = ImageRemovalBoth
		}
	}
	// An advert of a child for sex nearly always carries pictures of them;
	// whoever saw one can have it taken down.
	p.ChildImages = child && (p.ImageRemoval != ImageRemovalNone || slices.Contains(s.Categories, report.CategoryAdvertised))
	asked := false
	for _, n := range s.Help {
		if n != report.NeedRecordOnly {
			asked = true
		}
	}
	// Help-now lists only what is near or national, and, when the survivor
	// asked for something, only what meets it; the /help page shows the rest.
	for _, r := range rank(services, s.County, s.Help, child, adult) {
		if len(p.Services) == PlanServiceLimit {
			break
		}
		if r.place == placeElsewhere || (asked && r.serves == 0) {
			continue
		}
		p.Services = append(p.Services, cloneService(r.svc))
	}
	if len(p.Services) == 0 {
		p.Services = fallback(child)
		p.NoLocalMatch = true
	}
	return p
}

// Sections returns the sections the plan shows, in page order. Services and
// National are always shown.
func (p HelpPlan) Sections() []Section {
	var out []Section
	if p.Emergency {
		out = append(out, SectionEmergency)
	}
	if p.PostRapeCare {
		out = append(out, SectionPostRapeCare)
	}
	if p.ChildLine {
		out = append(out, SectionChildLine)
	}
	if p.ImageRemoval != ImageRemovalNone {
		out = append(out, SectionImageRemoval)
	}
	if p.ChildImages {
		out = append(out, SectionChildImages)
	}
	return append(out, SectionServices, SectionNational)
}

// EmergencyLines returns 999 and 112 when the survivor is in danger now.
func (p HelpPlan) EmergencyLines() []Service {
	if !p.Emergency {
		return nil
	}
	return mustBuiltin(LinePolice999, LineEmergency112)
}

// PostRapeCareLines returns 1195, which knows the nearest place for
// post-rape care, when the 72-hour message is shown.
func (p HelpPlan) PostRapeCareLines() []Service {
	if !p.PostRapeCare {
		return nil
	}
	return mustBuiltin(LineGBV1195)
}

// ChildLines returns Childline Kenya 116 when a child is involved.
func (p HelpPlan) ChildLines() []Service {
	if !p.ChildLine {
		return nil
	}
	return mustBuiltin(LineChildline116)
}

// ImageTools returns the image-removal tools to show, in order.
func (p HelpPlan) ImageTools() []Service {
	switch p.ImageRemoval {
	case ImageRemovalTakeItDown:
		return mustBuiltin(ToolTakeItDown)
	case ImageRemovalStopNCII:
		return mustBuiltin(ToolStopNCII)
	case ImageRemovalBoth:
		return mustBuiltin(ToolTakeItDown, ToolStopNCII)
	}
	return nil
}

// ChildImageTools returns, when images of a child are involved, the IWF
// reporting portal, then Take It Down unless the image-removal section above
// already shows it.
func (p HelpPlan) ChildImageTools() []Service {
	if !p.ChildImages {
		return nil
	}
	if p.ImageRemoval == ImageRemovalTakeItDown || p.ImageRemoval == ImageRemovalBoth {
		return mustBuiltin(ToolIWF)
	}
	return mustBuiltin(ToolIWF, ToolTakeItDown)
}
