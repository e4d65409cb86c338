package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/helpnow"
	"github.com/salama-ke/salama/internal/locale"
)

// The help-now words are built by internal/helpnow, shared with the
// console's intake page.
type (
	serviceCard = helpnow.ServiceCard
	helpView    = helpnow.View
)

func card(p *locale.Printer, s directory.Service) serviceCard { return helpnow.Card(p, s) }

// helpNow is help now for a report's situation (helpnow.Build).
func (s *Server) helpNow(p *locale.Printer, sit directory.Situation, svcs []directory.Service) *helpView {
	return helpnow.Build(p, sit, svcs)
}

// helpPage is the public directory: filter by county and need, no login.
type helpPage struct {
	County  selectList
	Need    selectList
	Results []serviceCard
	Images  []serviceCard // Take It Down, StopNCII, the IWF: always shown
	Lines   []serviceCard
}

func (s *Server) help(w http.ResponseWriter, r *http.Request, l locale.Lang) {
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
			continue // shown once, first
		}
		// Match ranks services that meet the need first but keeps the
		// rest; a survivor who asked for a shelter wants a list of
		// shelters, not every service with shelters on top.
		if n != "" && !svc.Serves(n, false) && !svc.Serves(n, true) {
			continue
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
func (s *Server) nationalHelp(p *locale.Printer) *helpView { return helpnow.National(p) }
