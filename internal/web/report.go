package web

import (
	"errors"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/reporting"
)

// opt is one choice of a radio, checkbox or select list, already translated.
type opt = reporting.Option

// choices is a radio or checkbox group.
type choices = reporting.Group

type selectList struct {
	Name  string
	Items []opt
}

type idRow struct {
	Type, Platform selectList
	Value          string
}

// formView is the report and tip form, filled with what was typed.
type formView struct {
	P         *locale.Printer
	Lang      locale.Lang
	In        reporting.Input
	Token     string
	Problems  map[string]string
	Notice    string
	FilesLost string
	// Held is the page's reference to the screenshots kept for it
	// (heldFiles), HeldN how many.
	Held  string
	HeldN int
	MaxMB int64
	// Summary lists every problem in page order, each linking to its
	// field (the GOV.UK error summary); the same words stand beside the
	// field.
	Summary []problemLink
	// MoreIDs are the identifiers beyond the rows the form draws, one a
	// line, shown in a box of their own (reporting.Input.IdentifierRows).
	MoreIDs string

	reporting.Groups
	TipChild choices
	County   selectList
	IDRows   []idRow
}

func (s *Server) buildForm(p *locale.Printer, in reporting.Input, problems reporting.Problems) *formView {
	f := &formView{P: p, Lang: p.Lang, In: in, Token: s.rep.NewToken(), Problems: map[string]string{}, MaxMB: s.cfg.MaxUpload >> 20,
		MoreIDs: in.MoreIdentifiers()}
	for field, key := range problems {
		f.Problems[field] = problemText(p, in, field, key)
	}
	for _, field := range formOrder[in.Kind] {
		if text, ok := f.Problems[field]; ok {
			f.Summary = append(f.Summary, problemLink{ID: field, Text: text})
		}
	}
	if len(f.Summary) < len(f.Problems) {
		// A field missing from formOrder still gets its line.
		for _, field := range slices.Sorted(maps.Keys(f.Problems)) {
			if !slices.Contains(formOrder[in.Kind], field) {
				f.Summary = append(f.Summary, problemLink{ID: field, Text: f.Problems[field]})
			}
		}
	}
	f.Groups = reporting.QuestionGroups(p.T, f.Problems, in)
	f.TipChild = reporting.QuestionTipChild.Group(p.T, f.Problems[reporting.QuestionTipChild.Name], in.TipChild)

	f.County = selectList{Name: "county", Items: []opt{{Value: "", Label: p.T("report.county_choose")}}}
	for _, c := range directory.Counties() {
		f.County.Items = append(f.County.Items, opt{Value: c.Slug, Label: p.T(c.Key()), Checked: in.County == c.Slug})
	}
	f.County.Items = append(f.County.Items,
		opt{Value: "outside", Label: p.T("report.county_outside"), Checked: in.County == "outside"},
		opt{Value: "notsay", Label: p.T("report.notsay"), Checked: in.County == "notsay"})

	for _, id := range in.IdentifierRows() {
		row := idRow{Value: id.Value,
			Type:     selectList{Name: "id_type", Items: []opt{{Value: "", Label: p.T("form.id_type")}}},
			Platform: selectList{Name: "id_platform", Items: []opt{{Value: "", Label: p.T("form.id_platform")}}}}
		for _, t := range reporting.IDTypeChoices {
			row.Type.Items = append(row.Type.Items, opt{Value: t, Label: p.T("form.id_type." + t), Checked: id.Type == t})
		}
		for _, pl := range reporting.PlatformChoices {
			row.Platform.Items = append(row.Platform.Items, opt{Value: pl, Label: p.T("platform." + pl), Checked: id.Platform == pl})
		}
		f.IDRows = append(f.IDRows, row)
	}
	return f
}

// problemLink is one line of the error summary: the id of the field and
// its message.
type problemLink struct{ ID, Text string }

// formOrder is each form's fields in the order the page shows them; the
// id of each field's element is its name.
var formOrder = map[string][]string{
	reporting.KindReport: {"about", "what", "age", "county", "country", "when", "danger", "help", "narrative",
		"identifiers", "contact", "phone", "safe_times", "say_who", "share", "files"},
	reporting.KindTip: {"identifiers", "county", "child", "note", "files"},
}

// problemText is the message shown beside a field: for text over its
// limit, how long it is and how long it may be.
func problemText(p *locale.Printer, in reporting.Input, field, key string) string {
	max := reporting.MaxLength(in.Kind, field)
	switch key {
	case "problem.too_long":
		value := map[string]string{"narrative": in.Narrative, "note": in.Narrative, "country": in.Country,
			"phone": in.Phone, "safe_times": in.SafeTimes}[field]
		return p.T("problem.too_long_n", number(max), number(utf8.RuneCountInString(value)))
	case "problem.id_too_long":
		return p.T(key, number(max))
	case "problem.too_many_ids":
		return p.T(key, number(reporting.MaxIdentifiers), number(len(in.FilledIdentifiers())))
	}
	return p.T(key)
}

// number writes n with a comma between thousands (locale.Number).
func number(n int) string { return locale.Number(n) }

// showForm is the handler of the empty report (or tip) form.
func (s *Server) showForm(kind string) langHandler {
	return func(w http.ResponseWriter, r *http.Request, l locale.Lang) {
		s.showFormIn(w, r, l, kind)
	}
}

func (s *Server) showFormIn(w http.ResponseWriter, r *http.Request, l locale.Lang, kind string) {
	// Every fresh form is the same but for its token.
	s.renderShared(w, r, sharedKey("form", kind, string(l)), nil, []string{s.rep.NewToken()}, func(marks []string) (int, string, *view) {
		f := s.buildForm(s.cat.Printer(l), reporting.NewInput(kind), nil)
		f.Token = marks[0]
		return http.StatusOK, kind, s.formPage(r, l, kind, f)
	})
}

// formPage is the report or tip form's page, with the script that may
// make screenshots smaller.
func (s *Server) formPage(r *http.Request, l locale.Lang, kind string, f *formView) *view {
	v := s.newView(r, l, kind+".page_title", f)
	v.FormScript = template.JS(shrinkJS)
	v.SwitchForm = kind
	return v
}

// submit is the handler of a report (or tip) form sent.
func (s *Server) submit(kind string) langHandler {
	return func(w http.ResponseWriter, r *http.Request, l locale.Lang) {
		s.submitIn(w, r, l, kind)
	}
}

// submitIn handles a report or tip. On any problem the form comes back
// with everything typed and a message; nothing is stored unless all of it
// is.
func (s *Server) submitIn(w http.ResponseWriter, r *http.Request, l locale.Lang, kind string) {
	p := s.cat.Printer(l)
	form, ok := s.readForm(w, r, kind)
	if !ok {
		return
	}
	defer form.release()
	in, problems := form.in, form.problems
	again := func(status int, notice string) {
		f := s.buildForm(p, in, problems)
		if notice != "" {
			f.Notice = p.T(notice)
		}
		if len(in.Files) > 0 {
			f.Held = s.held.hold(f.Token, in.Files)
			f.HeldN = len(in.Files)
		}
		if form.filesSent && f.Held == "" {
			f.FilesLost = p.T("form.files_again")
		}
		s.render(w, status, kind, s.formPage(r, l, kind, f))
	}
	if form.status != 0 {
		again(form.status, form.notice)
		return
	}
	if refused(r) {
		// Sent after the shutdown began: nothing new is stored, and
		// nothing typed is lost.
		w.Header().Set("Retry-After", "60")
		again(http.StatusServiceUnavailable, "problem.restarting")
		return
	}
	if ok, _ := s.reports.Allow(s.clientAddr(r)); !ok {
		again(http.StatusTooManyRequests, "problem.slow_down")
		return
	}
	sub, err := s.rep.Submit(r.Context(), in)
	switch {
	case errors.Is(err, reporting.ErrTokenExpired):
		again(http.StatusUnprocessableEntity, "problem.token_expired")
		return
	case errors.Is(err, reporting.ErrRetry):
		again(http.StatusServiceUnavailable, "problem.send_again")
		return
	case err != nil && s.restarting(r):
		// The shutdown grace period ended before this report's turn.
		w.Header().Set("Retry-After", "60")
		again(http.StatusServiceUnavailable, "problem.restarting")
		return
	case errors.Is(err, reporting.ErrDiskLow):
		w.Header().Set("Retry-After", "3600")
		again(http.StatusServiceUnavailable, "problem.disk_low")
		return
	case errors.Is(err, reporting.ErrBusy):
		again(http.StatusServiceUnavailable, "problem.busy")
		return
	case err != nil:
		s.log.Error("report not stored", "kind", kind, "err", err)
		again(http.StatusServiceUnavailable, "problem.not_saved")
		return
	}
	if sub.Again {
		// A spent form token (Send pressed twice, Back and Reload on the
		// confirmation, a form sent again from the browser's history):
		// nothing new was stored, and the code is never shown again
		// (SPEC §6 "Shown once"). Nor is help matched to the report,
		// which would tell whoever holds the phone what it said.
		s.render(w, http.StatusOK, "received", s.newView(r, l, "received.again_page_title",
			&receivedView{CaseKind: kind, Again: true, Deleted: sub.Report.Destroyed(), Help: s.nationalHelp(p)}))
		return
	}
	s.log.Info("report received", "kind", kind, "channel", sub.Report.Channel)
	svcs, _, err := s.rep.Directory(r.Context())
	if err != nil {
		svcs = nil // help-now still shows the national lines
	}
	data := &receivedView{Receipt: sub.Receipt.String(), CaseKind: kind,
		Help: s.helpNow(p, reporting.Situation(sub.Report), svcs)}
	s.render(w, http.StatusOK, "received", s.newView(r, l, "received.page_title", data))
}

// receivedView is the page that answers a report or tip: the receipt and
// help now the first time, "already sent" and the national lines after.
type receivedView struct {
	Receipt  string // "" when Again
	CaseKind string
	Again    bool
	Deleted  bool // Again, and the report was withdrawn or purged since
	Help     *helpView
}
