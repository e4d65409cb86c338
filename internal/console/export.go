package console

import (
	"errors"
	"net/http"
	"slices"

	"github.com/salama-ke/salama/internal/caseexport"
	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/staff"
)

// The case export (issue 15): organisation admins, with their password and
// a fresh code; the file is the response.

type exportView struct {
	Layout, Format, From, To string
	Fields                   []caseexport.Field
	Chosen                   []string
}

func (c *Console) exportForm(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.renderExport(w, p, http.StatusOK, exportView{Layout: caseexport.LayoutGBVIMS, Format: caseexport.FormatCSV, Chosen: caseexport.DefaultFields()}, "")
}

func (c *Console) renderExport(w http.ResponseWriter, p *staff.Principal, status int, v exportView, problem string) {
	v.Fields = caseexport.Fields
	c.render(w, status, "export", &view{Title: "Export cases", P: p, Problem: problem, Data: v})
}

func (c *Console) export(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	f := r.PostForm
	v := exportView{Layout: f.Get("layout"), Format: f.Get("format"), From: f.Get("from"), To: f.Get("to"), Chosen: f["field"]}
	again := func(status int, problem string) { c.renderExport(w, p, status, v, problem) }
	from, ok1 := casework.ExportPeriod(v.From)
	to, ok2 := casework.ExportPeriod(v.To)
	if !ok1 || !ok2 {
		again(http.StatusUnprocessableEntity, "Write the dates as year-month-day, for example 2026-03-31.")
		return
	}
	o := caseexport.Options{Format: v.Format, Layout: v.Layout, Fields: v.Chosen, From: from, To: to}
	if _, err := o.Check(); err != nil {
		problem := "Choose a layout and a format."
		if v.Layout == caseexport.LayoutSalama && slices.Contains(caseexport.Formats, v.Format) {
			problem = "Tick at least one field, or choose the GBVIMS layout."
		}
		if !from.IsZero() && !to.IsZero() && to.Before(from) {
			problem = "The period ends before it starts."
		}
		again(http.StatusUnprocessableEntity, problem)
		return
	}
	exp, err := c.cw.ExportCases(r.Context(), p, f.Get("password"), f.Get("code"), o)
	var wait *staff.WaitError
	switch {
	case err == nil:
	case errors.As(err, &wait):
		again(http.StatusTooManyRequests, "Too many wrong tries: wait until "+wait.Until.In(eat).Format("15:04:05")+", then try again with a new code.")
		return
	case errors.Is(err, staff.ErrBadLogin):
		again(http.StatusForbidden, "Wrong password or code. Use a new code from your app: each works once, and not the one you logged in with.")
		return
	case errors.Is(err, casework.ErrTooLarge):
		again(http.StatusRequestEntityTooLarge, "That would be too large a file. Choose a shorter period, or fewer fields.")
		return
	case errors.Is(err, casework.ErrForbidden):
		c.fail(w, r, p, http.StatusNotFound, "This page does not exist.")
		return
	default:
		c.log.Error("case export failed", "err", err)
		again(http.StatusServiceUnavailable, "The export could not be made. Please try again in a minute.")
		return
	}
	w.Header().Set("Content-Type", exp.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+exp.FileName+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(exp.Data)
}
