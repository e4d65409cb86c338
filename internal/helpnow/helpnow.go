// Package helpnow turns the directory's plan for a report (directory.Plan)
// into words in a reader's language: the "help now" a survivor sees after
// reporting, and that a caseworker reads out after taking a report on her
// behalf in the console. It matches nothing itself and keeps nothing.
package helpnow

import (
	"strings"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
)

// ServiceCard is a directory service in the reader's language.
type ServiceCard struct {
	Name, Desc, Hours, Cost, Type string
	Phone, SMS, WhatsApp, WalkIn  string
	Website                       string
	Free                          bool
}

// Card is s in p's language; the built-in services' names, descriptions
// and hours come from the catalog.
func Card(p *locale.Printer, s directory.Service) ServiceCard {
	lang := string(p.Lang)
	c := ServiceCard{Name: s.Name, Desc: s.Description.In(lang), Hours: s.Hours.In(lang), Cost: s.Cost.In(lang),
		Type: p.T(s.Type.Key()), Phone: s.Channels.Phone, SMS: s.Channels.SMS, WhatsApp: s.Channels.WhatsApp,
		WalkIn: s.Channels.WalkIn.In(lang), Website: s.Channels.Website, Free: s.Free}
	if key, ok := s.CatalogKey(); ok {
		for _, f := range []struct {
			dst    *string
			suffix string
		}{{&c.Name, ".name"}, {&c.Desc, ".desc"}, {&c.Hours, ".hours"}} {
			if p.Has(key + f.suffix) {
				*f.dst = p.T(key + f.suffix)
			}
		}
	}
	return c
}

// Section is one block of help now, already in words.
type Section struct {
	ID, Title string
	Body      []string // paragraphs
	Services  []ServiceCard
}

// View is help now, in words.
type View struct {
	Sections []Section
}

// Build turns the directory's plan for sit into sections, in the order
// SPEC §3.4 fixes: danger first, then post-rape care, the child line, image
// removal, local services, and the national lines always.
func Build(p *locale.Printer, sit directory.Situation, svcs []directory.Service) *View {
	plan := directory.Plan(sit, svcs)
	v := &View{}
	for _, sec := range plan.Sections() {
		bodyKey := sec.BodyKey()
		var cards []directory.Service
		switch sec {
		case directory.SectionEmergency:
			cards = plan.EmergencyLines()
		case directory.SectionPostRapeCare:
			cards = plan.PostRapeCareLines()
		case directory.SectionChildLine:
			cards = plan.ChildLines()
		case directory.SectionImageRemoval:
			cards = plan.ImageTools()
		case directory.SectionChildImages:
			cards = plan.ChildImageTools()
		case directory.SectionServices:
			cards = plan.Services
			if plan.NoLocalMatch {
				bodyKey = "helpnow.services.none"
			}
		case directory.SectionNational:
			cards = plan.National
		}
		x := Section{ID: string(sec), Title: p.T(sec.TitleKey()), Body: strings.Split(p.T(bodyKey), "\n\n")}
		for _, c := range cards {
			x.Services = append(x.Services, Card(p, c))
		}
		v.Sections = append(v.Sections, x)
	}
	return v
}

// National is help now without anything about a report: the national
// lines alone.
func National(p *locale.Printer) *View {
	all := Build(p, directory.Situation{}, nil)
	v := &View{}
	for _, sec := range all.Sections {
		if sec.ID == string(directory.SectionNational) {
			v.Sections = append(v.Sections, sec)
		}
	}
	return v
}
