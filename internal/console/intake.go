package console

import (
	"errors"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/formbody"
	"github.com/salama-ke/salama/internal/helpnow"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
)

// Intake: a caseworker takes a report on a survivor's behalf (a phone
// call, a walk-in, a chat). The form asks the public report form's
// questions in the public form's words (the catalog), in English or
// Kiswahili, whichever the caseworker reads them out in; the answers are
// decoded and checked by reporting.Decode, and the report is made by
// reporting.Service.Take: sealed, given a receipt, put in the caseworker's
// own organisation's inbox, audited as report.taken naming them.
//
// The receipt is on the answer to the POST and nowhere else: not stored,
// not logged, not in the audit, not behind a link. The form's token is
// spent by the report it made, so the same form sent again (Reload, Back
// and Send, a double click) stores nothing and never shows the receipt
// again; the page answering it says so and links to the case.

// intakeCaps are the caps on the intake form's body: the public report
// form's text (reporting.FormLimits, every answer at its longest), without
// screenshots, and the console's tokens.
func intakeCaps() formbody.Limits {
	l := reporting.FormLimits(reporting.KindReport, 0)
	return formbody.Limits{Text: l.Text + 4<<10, Fields: l.Fields}
}

// intakeOpt is one choice of a radio, checkbox or select list, in words.
type intakeOpt = reporting.Option

// intakeGroup is a question: a radio or checkbox group.
type intakeGroup = reporting.Group

type intakeIDRow struct {
	Type, Platform []intakeOpt
	Value          string
}

// intakeForm is the intake form, filled with what was answered.
type intakeForm struct {
	P        *locale.Printer
	Lang     locale.Lang
	Other    locale.Lang // the other language, to switch to
	In       reporting.Input
	Token    string
	Problems map[string]string
	Notice   string
	MoreIDs  string

	Channel intakeGroup
	reporting.Groups
	County []intakeOpt
	IDRows []intakeIDRow
}

// intakeLang is the language the questions are read out in: the form's
// choice, English unless Kiswahili was asked for.
func intakeLang(v string) locale.Lang {
	if l, ok := locale.ParseLang(v); ok {
		return l
	}
	return locale.English
}

func (c *Console) intakeForm(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	in := reporting.NewInput(reporting.KindReport)
	c.renderIntake(w, r, p, http.StatusOK, intakeLang(r.URL.Query().Get("lang")), in, "", nil, "")
}

func (c *Console) renderIntake(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int, l locale.Lang,
	in reporting.Input, channel string, problems reporting.Problems, notice string) {
	pr := intakeWords.Printer(l)
	f := &intakeForm{P: pr, Lang: l, Other: locale.Kiswahili, In: in, Token: c.cfg.Reporting.NewIntakeToken(),
		Problems: map[string]string{}, Notice: notice, MoreIDs: in.MoreIdentifiers()}
	if l == locale.Kiswahili {
		f.Other = locale.English
	}
	for field, key := range problems {
		f.Problems[field] = intakeProblem(pr, in, field, key)
	}
	// The channel is the caseworker's own record, in English like the
	// rest of the console.
	f.Channel = intakeGroup{Name: "channel", Type: "radio", Legend: "How did the survivor reach you?", Problem: f.Problems["channel"]}
	for _, ch := range reporting.IntakeChannels {
		f.Channel.Items = append(f.Channel.Items, intakeOpt{Value: ch, Label: intakeChannelWords[ch], Checked: ch == channel})
	}
	// The public form's questions, in its words.
	f.Groups = reporting.QuestionGroups(pr.T, f.Problems, in)

	f.County = []intakeOpt{{Value: "", Label: pr.T("report.county_choose")}}
	for _, ct := range directory.Counties() {
		f.County = append(f.County, intakeOpt{Value: ct.Slug, Label: pr.T(ct.Key()), Checked: in.County == ct.Slug})
	}
	f.County = append(f.County, intakeOpt{Value: "outside", Label: pr.T("report.county_outside"), Checked: in.County == "outside"},
		intakeOpt{Value: "notsay", Label: pr.T("report.notsay"), Checked: in.County == "notsay"})
	for _, id := range in.IdentifierRows() {
		row := intakeIDRow{Value: id.Value, Type: []intakeOpt{{Value: "", Label: pr.T("form.id_type")}},
			Platform: []intakeOpt{{Value: "", Label: pr.T("form.id_platform")}}}
		for _, t := range reporting.IDTypeChoices {
			row.Type = append(row.Type, intakeOpt{Value: t, Label: pr.T("form.id_type." + t), Checked: id.Type == t})
		}
		for _, pl := range reporting.PlatformChoices {
			row.Platform = append(row.Platform, intakeOpt{Value: pl, Label: pr.T("platform." + pl), Checked: id.Platform == pl})
		}
		f.IDRows = append(f.IDRows, row)
	}
	c.render(w, status, "intake", &view{Title: "Take a report", P: p, Data: f})
}

// intakeWords is the catalog the questions are read out from.
var intakeWords = locale.MustLoad()

// intakeChannelWords name the channels on the form.
var intakeChannelWords = map[string]string{"intake_phone": "A phone call", "intake_walk_in": "She came in person (walk-in)",
	"intake_chat": "A chat (WhatsApp, SMS, web chat)", "intake_other": "Another way"}

// intakeProblem is the message beside a field, in the language read out
// (the survivor may be asked to say it shorter).
func intakeProblem(p *locale.Printer, in reporting.Input, field, key string) string {
	if field == "channel" {
		return "Choose how the survivor reached you."
	}
	n := locale.Number
	switch key {
	case "problem.too_long":
		value := map[string]string{"narrative": in.Narrative, "country": in.Country, "phone": in.Phone, "safe_times": in.SafeTimes}[field]
		return p.T("problem.too_long_n", n(reporting.MaxLength(in.Kind, field)), n(utf8.RuneCountInString(value)))
	case "problem.id_too_long":
		return p.T(key, n(reporting.MaxIdentifier))
	case "problem.too_many_ids":
		return p.T(key, n(reporting.MaxIdentifiers), n(len(in.FilledIdentifiers())))
	}
	return p.T(key)
}

// intakeDone answers an intake: the receipt to read out and the help to
// read out, or, for a form sent again, that it was taken already.
type intakeDone struct {
	P        *locale.Printer
	Lang     locale.Lang
	Receipt  string // "" when Again
	CaseRef  string
	ReportID string // "" when the caseworker may not open it
	Channel  string // in words
	Again    bool
	Deleted  bool
	Help     *helpnow.View
}

func (c *Console) takeReport(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	form := r.PostForm
	l := intakeLang(form.Get("lang"))
	in, problems := reporting.Decode(form, reporting.KindReport)
	channel := form.Get("channel")
	if !slices.Contains(reporting.IntakeChannels, channel) {
		problems["channel"] = "problem.choice"
	}
	if form.Get("add_row") != "" {
		c.renderIntake(w, r, p, http.StatusOK, l, in, channel, problems, "")
		return
	}
	if len(problems) > 0 {
		c.renderIntake(w, r, p, http.StatusUnprocessableEntity, l, in, channel, problems,
			"Nothing was saved yet. Please look at the answers marked below.")
		return
	}
	sub, err := c.cfg.Reporting.Take(r.Context(), in, reporting.Taker{UserID: p.UserID, OrgID: p.OrgID, Channel: channel})
	switch {
	case errors.Is(err, reporting.ErrTokenExpired):
		c.renderIntake(w, r, p, http.StatusUnprocessableEntity, l, in, channel, nil,
			"This form was open too long, so nothing was saved. Every answer is still here: please send it again.")
		return
	case errors.Is(err, reporting.ErrDiskLow):
		c.renderIntake(w, r, p, http.StatusServiceUnavailable, l, in, channel, nil,
			"The server is nearly out of disk space, so nothing was saved. Every answer is still here; tell the operator.")
		return
	case errors.Is(err, reporting.ErrNoOrganisation):
		c.renderIntake(w, r, p, http.StatusConflict, l, in, channel, nil,
			"Your organisation cannot receive reports yet (it has no key), so nothing was saved. Tell the network coordinator.")
		return
	case err != nil:
		if !errors.Is(err, reporting.ErrRetry) {
			c.log.Error("intake not stored", "err", err)
		}
		c.renderIntake(w, r, p, http.StatusServiceUnavailable, l, in, channel, nil,
			"The report could not be saved. Every answer is still here: please send it again.")
		return
	}
	d := &intakeDone{P: intakeWords.Printer(l), Lang: l, CaseRef: sub.Report.CaseRef, Channel: intakeChannelWords[sub.Report.Channel], Again: sub.Again,
		Deleted: sub.Report.Destroyed()}
	if sub.Report.OrgID == p.OrgID && !d.Deleted {
		d.ReportID = sub.Report.ID
	}
	if sub.Again {
		// Nothing about the report is matched again: the caseworker has
		// the case itself, and the code is never shown twice.
		c.render(w, http.StatusOK, "intake_done", &view{Title: "Already taken", P: p, Data: d})
		return
	}
	c.log.Info("report taken", "channel", sub.Report.Channel)
	d.Receipt = sub.Receipt.String()
	svcs, _, err := c.cfg.Reporting.Directory(r.Context())
	if err != nil {
		svcs = nil // the national lines are built in and still shown
	}
	d.Help = helpnow.Build(d.P, reporting.Situation(sub.Report), svcs)
	c.render(w, http.StatusOK, "intake_done", &view{Title: "Report taken", P: p, Data: d})
}
