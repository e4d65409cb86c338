package web

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/stats"
)

// The public statistics page, /{lang}/stats, is off unless the network
// switches it on (Config.PublicStats); when off it is a 404 like any page
// that does not exist. ?year=2025 picks a year, &format=csv downloads the
// same figures as CSV. What is published, and what is suppressed, is the
// stats package's business; this file only shows it.

// DefaultStatsK is the suppression threshold when Config.StatsK is 0.
const DefaultStatsK = 5

// statsHandler serves the page, or 404s when the page is off. The figures
// service is built here, once per Handler, so that its cache is shared by
// every request.
func (s *Server) statsHandler() http.HandlerFunc {
	if !s.cfg.PublicStats {
		return s.notFound
	}
	k := s.cfg.StatsK
	if k == 0 {
		k = DefaultStatsK
	}
	svc, err := stats.NewService(stats.FromStore(s.rep.Store), k, s.rep.Now)
	if err != nil {
		// The command line refuses a k under 2; a Config built in code
		// that does so gets no page rather than a wrong one.
		s.log.Error("statistics page off", "err", err)
		return s.notFound
	}
	return s.inLang(func(w http.ResponseWriter, r *http.Request, l locale.Lang) {
		t := s.cat.Printer(l).T
		page, err := svc.Page(r.Context(), r.URL.Query().Get("year"), t, "/"+string(l)+"/stats")
		if errors.Is(err, stats.ErrNoSuchYear) {
			s.notFound(w, r)
			return
		}
		if err != nil {
			s.log.Error("statistics failed", "err", err)
			s.fail(w, r, http.StatusServiceUnavailable, "error.internal")
			return
		}
		if r.URL.Query().Get("format") == "csv" {
			WriteStatsCSV(w, page, t)
			return
		}
		s.render(w, http.StatusOK, "stats", s.newView(r, l, "stats.page_title", page))
	})
}

// WriteStatsCSV sends a statistics page's figures as a CSV download.
func WriteStatsCSV(w http.ResponseWriter, p *stats.Page, t stats.T) {
	var buf bytes.Buffer
	if p.Figures != nil {
		p.Figures.WriteCSV(&buf, t)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+p.CSVName()+`"`)
	w.Write(buf.Bytes())
}
