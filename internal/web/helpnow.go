package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
)

// serviceCard is a directory service in the reader's language.
type serviceCard struct {
	Name, Desc, Hours, Cost, Type string
	Phone, SMS, WhatsApp, WalkIn  string
	Website                       string
	Free                          bool
}

func card(p *locale.Printer, s directory.Service) serviceCard {
	lang := string(p.Lang)
	c := serviceCard{Name: s.Name, Desc: s.Description.In(lang), Hours: s.Hours.In(lang), Cost: s.Cost.In(lang),
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

// section is one block of help-now, already in words.
type section struct {
	ID, Title string
	Body      []string // paragraphs
	Services  []serviceCard
}

type helpView struct {
	Sections []section
}

// helpNow turns the directory's plan into sections, in the order SPEC §3.4
// fixes: danger first, then post-rape care, the child line, image removal,
// local services, and the national lines always.
func (s *Server) helpNow(p *locale.Printer, sit directory.Situation, svcs []directory.Service) *helpView {
	plan := directory.Plan(sit, svcs)
	v := &helpView{}
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
		x := section{ID: string(sec), Title: p.T(sec.TitleKey()), Body: strings.Split(p.T(bodyKey), "\n\n")}
		for _, c := range cards {
			x.Services = append(x.Services, card(p, c))
		}
		v.Sections = append(v.Sections, x)
	}
	return v
}

// helpPage is the public directory: filter by county and need, no login.
type helpPage struct {
	County  selectList
	Need    selectList
	Results []serviceCard
	Images  []serviceCard // Take It Down, StopNCII, the IWF: always shown
	Lines   []serviceCard
}

func (s *Server) help(w http.ResponseWriter, r *http.Request) {
	l, ok := s.lang(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p := s.cat.Printer(l)
	county, need := r.URL.Query().Get("county"), r.URL.Query().Get("need")
	if _, ok := directory.CountyBySlug(county); !ok && county != directory.CountyOutside {
		county = ""
	}
	n, ok := report.ParseNeed(need)
	if !ok {
		n = ""
	}
	svcs, _, err := s.rep.Directory(r.Context())
	if err != nil {
		s.log.Error("directory unavailable", "err", err)
		svcs = nil // the national lines are built in and still shown
		s.render(w, http.StatusOK, "help", s.newView(r, l, "help.page_title", s.helpPage(p, svcs, county, n)))
		return
	}
	// The page is the same for everyone who asks for this county and
	// need, until the directory is reloaded (a new slice).
	var from *directory.Service
	if len(svcs) > 0 {
		from = &svcs[0]
	}
	s.renderShared(w, r, sharedKey("help", string(l), county, string(n), strconv.Itoa(len(svcs))), from, nil,
		func([]string) (int, string, *view) {
			return http.StatusOK, "help", s.newView(r, l, "help.page_title", s.helpPage(p, svcs, county, n))
		})
}

func (s *Server) helpPage(p *locale.Printer, svcs []directory.Service, county string, n report.Need) *helpPage {
	q := directory.Query{County: county}
	if n != "" {
		q.Needs = []report.Need{n}
	}
	page := &helpPage{
		County: selectList{Name: "county", Items: []opt{{Value: "", Label: p.T("help.any_county")}}},
		Need:   selectList{Name: "need", Items: []opt{{Value: "", Label: p.T("help.any_need")}}},
	}
	for _, c := range directory.Counties() {
		page.County.Items = append(page.County.Items, opt{Value: c.Slug, Label: p.T(c.Key()), Checked: c.Slug == county})
	}
	for _, x := range report.Needs() {
		if x == report.NeedRecordOnly {
			continue
		}
		page.Need.Items = append(page.Need.Items, opt{Value: string(x), Label: p.T(x.Key()), Checked: x == n})
	}
	for _, svc := range directory.Match(svcs, q) {
		if slices.ContainsFunc(directory.NationalLines(), func(x directory.Service) bool { return x.ID == svc.ID }) {
			continue // shown once, below
		}
		page.Results = append(page.Results, card(p, svc))
	}
	for _, svc := range directory.OnlineImageTools() {
		page.Images = append(page.Images, card(p, svc))
	}
	for _, svc := range directory.NationalLines() {
		page.Lines = append(page.Lines, card(p, svc))
	}
	return page
}

// nationalHelp is help now without anything about a report: the national
// lines alone.
func (s *Server) nationalHelp(p *locale.Printer) *helpView {
	all := s.helpNow(p, directory.Situation{}, nil)
	v := &helpView{}
	for _, sec := range all.Sections {
		if sec.ID == string(directory.SectionNational) {
			v.Sections = append(v.Sections, sec)
		}
	}
	return v
}
