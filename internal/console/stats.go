package console

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"

	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/stats"
)

// The network's statistics, for coordinators, whether or not the public
// page is switched on. They are the public page's figures with the same
// suppression: a coordinator sees the whole network, and the counts of
// other organisations' reports are no more theirs than anyone's: a year's
// referrals too, by type of service. A visit here publishes what is due
// (docs/statistics.md), exactly as a visit to the public page would.

// statsPage is parsed here rather than in New, so that this page is one
// file and one route.
var statsPage = template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/stats.html"))

// english labels the figures: the console is in English.
var english = locale.EnglishPrinter()

func (c *Console) networkStats(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	k := c.cfg.StatsK
	if k == 0 {
		k = 5
	}
	// Built per request: coordinators are few, and the figures must be
	// current for them.
	svc, err := stats.NewService(stats.FromStore(c.cw.Store), k, c.cw.Now)
	if err != nil {
		c.log.Error("console statistics", "err", err)
		c.fail(w, r, p, http.StatusInternalServerError, "Something went wrong.")
		return
	}
	page, err := svc.Page(r.Context(), r.URL.Query().Get("year"), english.T, "/console/network/stats")
	if errors.Is(err, stats.ErrNoSuchYear) {
		c.fail(w, r, p, http.StatusNotFound, "There are no figures for that year.")
		return
	}
	if err != nil {
		c.log.Error("console statistics", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "Something went wrong. Please try again in a minute.")
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		var buf bytes.Buffer
		if page.Figures != nil {
			page.Figures.WriteCSV(&buf, english.T)
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+page.CSVName()+`"`)
		w.Write(buf.Bytes())
		return
	}
	v := &view{Title: "Network statistics", P: p, Data: page, ExitURL: c.cfg.ExitURL, CSS: template.CSS(CSS), CSRF: c.staff.CSRF(p)}
	var buf bytes.Buffer
	if err := statsPage.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console template failed", "page", "stats", "err", err)
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}
