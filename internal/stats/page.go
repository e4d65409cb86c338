package stats

import (
	"context"
	"html/template"
	"strconv"
)

// Page is what a statistics page shows: the public page and the
// coordinators' console page show the same, so a coordinator sees no more
// than anyone may.
type Page struct {
	Year     int
	Years    []YearLink
	Figures  *Figures // nil when no month is over yet
	Sections []Section
	CSV      string // the CSV link
	// Thresholds are how small figures are shown this year: "<5" for
	// k=5 (two when k changed during the year).
	Thresholds []Threshold
	// Pending, when nothing is shown yet but reports are counted, says
	// which month comes first and when.
	Pending string
}

// Threshold is one k in use and how its small figures read.
type Threshold struct {
	K     int
	Small string // "<5"
}

// YearLink is one year of the year switcher.
type YearLink struct {
	Year    int
	Href    string
	Current bool
}

// Section is one heading with its chart, its table, or both.
type Section struct {
	Title string
	Chart template.HTML
	Grid  *Grid
}

// Page assembles the page for year ("" for the last year with a month
// that is over), in t's language, with links under base. An unknown year
// is ErrNoSuchYear.
func (s *Service) Page(ctx context.Context, year string, t T, base string) (*Page, error) {
	years, first, err := s.Years(ctx)
	if err != nil {
		return nil, err
	}
	p := &Page{}
	if len(years) == 0 {
		if year != "" {
			return nil, ErrNoSuchYear
		}
		if !first.IsZero() {
			// The month of the first report is still running: it is the
			// first to appear, when it ends. True on any day of it.
			p.Pending = t("stats.pending", MonthLabel(t, monthStart(first)))
		}
		return p, nil
	}
	p.Year = years[len(years)-1]
	if year != "" {
		if p.Year, err = strconv.Atoi(year); err != nil {
			return nil, ErrNoSuchYear
		}
	}
	f, err := s.Figures(ctx, p.Year)
	if err != nil {
		return nil, err
	}
	p.Figures = f
	for _, k := range f.Thresholds() {
		p.Thresholds = append(p.Thresholds, Threshold{K: k, Small: "<" + strconv.Itoa(k)})
	}
	for _, y := range years {
		p.Years = append(p.Years, YearLink{Year: y, Href: base + "?year=" + strconv.Itoa(y), Current: y == p.Year})
	}
	p.CSV = base + "?year=" + strconv.Itoa(p.Year) + "&format=csv"
	grids := f.Grids(t)
	for i := range grids {
		g := &grids[i]
		sec := Section{Grid: g}
		switch g.Name {
		case TableMonth:
			sec.Title, sec.Chart = t("stats.months_title", f.Year), f.MonthChart(t)
		case TableCounty:
			if c := f.CategoryChart(t); c != "" {
				p.Sections = append(p.Sections, Section{Title: t("stats.categories_title", f.Year), Chart: c})
			}
			sec.Title = t("stats.county_title", f.Year)
		case TableAge:
			sec.Title = t("stats.age_title", f.Year)
		case TableReferrals:
			sec.Title = t("stats.referrals_title", f.Year)
		}
		p.Sections = append(p.Sections, sec)
	}
	return p, nil
}

// CSVName is the file name a CSV download is offered under.
func (p *Page) CSVName() string { return "salama-figures-" + strconv.Itoa(p.Year) + ".csv" }
