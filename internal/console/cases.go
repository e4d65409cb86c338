package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/evidence"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

const pageSize = 50

type tab struct {
	Status, Label, Href string
	Count               int
	Capped, On          bool
}

type inboxView struct {
	Tabs             []tab
	Reports          []store.Report
	Status           string
	Category, County string
	Categories       []string
	Counties         []directory.County
	NextHref         string
}

func (c *Console) inbox(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	q := r.URL.Query()
	status, category, county := q.Get("status"), q.Get("category"), q.Get("county")
	if !slices.Contains(casework.Statuses, status) {
		status = store.StatusNew
	}
	if !slices.Contains(reporting.WhatChoices, category) {
		category = ""
	}
	if _, ok := directory.CountyBySlug(county); !ok && county != directory.CountyOutside {
		county = ""
	}
	page, err := c.cw.Inbox(r.Context(), p, status, category, county, q.Get("after"), pageSize)
	if err != nil {
		c.log.Error("inbox failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The inbox could not be loaded. Please try again in a minute.")
		return
	}
	v := inboxView{Reports: page.Reports, Status: status, Category: category, County: county,
		Categories: reporting.WhatChoices, Counties: directory.Counties()}
	link := func(st, after string) string {
		u := url.Values{"status": {st}}
		if category != "" {
			u.Set("category", category)
		}
		if county != "" {
			u.Set("county", county)
		}
		if after != "" {
			u.Set("after", after)
		}
		return "/console/?" + u.Encode()
	}
	for _, st := range casework.Statuses {
		n := page.Counts[st]
		v.Tabs = append(v.Tabs, tab{Status: st, Label: label(st), Href: link(st, ""), Count: n, Capped: n >= casework.CountCap, On: st == status})
	}
	if page.Next != "" {
		v.NextHref = link(status, page.Next)
	}
	c.render(w, http.StatusOK, "inbox", &view{Title: "Inbox", P: p, Data: v})
}

type caseView struct {
	*casework.Case
	Next         []string
	CloseReasons []string
	GBVTypes     []string
	Flags        []string
	Reveal       string
	// Chat is the chat export being revealed, read as a conversation;
	// ChatProblem says why it cannot be.
	Chat        *evidence.Chat
	ChatProblem string
	// What was typed in the reply or the note form, kept after a problem,
	// each in its own form: a private note must never come back in the
	// box that writes to the survivor.
	MessageDraft, NoteDraft string
	// The referral panel, and its form as first shown (referral.go shows
	// it again, as filled in, after a problem).
	Ref                                                                *casework.ReferralPanel
	RefDraft                                                           *referralDraft
	ShareFields, DeclineReasons, Outcomes, HandoffMethods, AgreedTypes []string
	// Identifier matches and the evidence bundle (evidence.go).
	Evidence *evidenceView
}

var doneText = map[string]string{
	"status": "Status changed.", "assigned": "Assignment saved.", "classified": "Classification saved.",
	"note": "Note added.", "message": "Message sent. The survivor sees it when they check with their code.",
	"referral": "Referral saved. The survivor sees every step of it on their check page.",
}

func (c *Console) showCase(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.renderCase(w, r, p, http.StatusOK, doneText[r.URL.Query().Get("done")], "")
}

func (c *Console) renderCase(w http.ResponseWriter, r *http.Request, p *staff.Principal, status int, flash, problem string) {
	cs, err := c.cw.Open(r.Context(), p, r.PathValue("id"))
	if errors.Is(err, casework.ErrNotFound) {
		c.fail(w, r, p, http.StatusNotFound, "This report does not exist or is not your organisation's.")
		return
	}
	if err != nil {
		c.log.Error("opening report failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The report could not be opened. Please try again in a minute.")
		return
	}
	v := caseView{Case: cs, Next: casework.NextStatuses(cs.Report.Status), CloseReasons: casework.CloseReasons,
		GBVTypes: casework.GBVTypes, Flags: casework.ContextFlags, Reveal: r.URL.Query().Get("reveal"),
		ShareFields: referral.Fields, DeclineReasons: referral.DeclineReasons, Outcomes: referral.Outcomes, HandoffMethods: referral.HandoffMethods,
		AgreedTypes: agreedTypes(), RefDraft: newReferralDraft()}
	// The box of the narrative as shared starts with her words.
	v.RefDraft.Summary, v.RefDraft.HasSummary = cs.Narrative, cs.Narrative != ""

	for _, a := range cs.Attachments {
		if a.ID != v.Reveal || a.Kind != evidence.KindChat || r.Method != http.MethodGet {
			continue
		}
		// Reading the conversation is the reveal, recorded in the audit
		// log as a screenshot's is.
		v.Chat, err = c.cw.Conversation(r.Context(), p, cs.Report.ID, a.ID)
		switch {
		case errors.Is(err, casework.ErrNoPreview):
			v.ChatProblem = "This chat export cannot be read here. It is in the evidence bundle exactly as sent, and you can download it."
		case err != nil:
			c.log.Error("chat export failed", "err", err)
			v.ChatProblem = "This chat export could not be opened. Please try again in a minute."
		}
	}
	if v.Ref, err = c.cw.Referrals(r.Context(), p, cs.Report.ID); err != nil {
		c.log.Error("referral panel failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The report could not be opened. Please try again in a minute.")
		return
	}
	if v.Evidence, err = c.evidence(r, p, cs); err != nil {
		c.log.Error("evidence panel failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The report could not be opened. Please try again in a minute.")
		return
	}
	if problem != "" && r.Method == "POST" {
		switch {
		case strings.HasSuffix(r.URL.Path, "/message"):
			v.MessageDraft = r.PostForm.Get("text")
		case strings.HasSuffix(r.URL.Path, "/note"):
			v.NoteDraft = r.PostForm.Get("text")
		}
	}
	c.render(w, status, "case", &view{Title: "Report " + cs.Report.CaseRef, P: p, Flash: flash, Problem: problem, Data: v})
}

// attachment sends a file after a caseworker chose to reveal it (the
// reveal is audited by casework). A screenshot is its clean display copy,
// shown inline; a voice note is the file as sent, with the content type
// found in its bytes, for the page's <audio> player; a PDF or a chat export
// is only ever a download, never opened in the console's origin. No
// response lets the browser guess a type (nosniff), and the sandbox keeps
// anything a file holds from running as the console.
func (c *Console) attachment(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	ct, data, err := c.cw.Attachment(r.Context(), p, r.PathValue("id"), r.PathValue("att"))
	if errors.Is(err, casework.ErrNotFound) {
		c.fail(w, r, p, http.StatusNotFound, "This file does not exist.")
		return
	}
	if errors.Is(err, casework.ErrNoPreview) {
		c.fail(w, r, p, http.StatusNotFound, "This screenshot cannot be shown here (the file is damaged or too large to open safely). It is in the evidence bundle exactly as sent.")
		return
	}
	if err != nil {
		c.log.Error("attachment failed", "err", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	switch kind := evidence.KindOf(ct); {
	case kind == evidence.KindImage || kind == evidence.KindAudio && r.URL.Query().Get("download") == "":
		h.Set("Content-Type", ct)
		h.Set("Content-Disposition", "inline")
	case kind == evidence.KindOther:
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="salama-file.bin"`)
	default:
		// The id matched a stored attachment, so it is one of ours: hex.
		name := "salama-" + r.PathValue("att") + evidence.Extension(ct)
		if kind == evidence.KindChat {
			ct = "application/octet-stream" // a text or JSON file is never shown as a page
		}
		h.Set("Content-Type", ct)
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	w.Write(data)
}

// act runs a change on the report and shows the report again with the
// outcome; a problem keeps what was typed.
func (c *Console) act(w http.ResponseWriter, r *http.Request, p *staff.Principal, flash string, err error) {
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/reports/"+url.PathEscape(r.PathValue("id"))+"?done="+url.QueryEscape(flash), http.StatusSeeOther)
	case errors.Is(err, casework.ErrNotFound):
		c.fail(w, r, p, http.StatusNotFound, "This report does not exist or is not your organisation's.")
	case errors.Is(err, casework.ErrBadTransition):
		c.renderCase(w, r, p, http.StatusConflict, "", "That status change is not allowed from the report's current status.")
	case errors.Is(err, casework.ErrInvalid):
		c.renderCase(w, r, p, http.StatusUnprocessableEntity, "", problemText(err, "Please check the values and try again."))
	default:
		c.log.Error("report change failed", "err", err)
		c.renderCase(w, r, p, http.StatusServiceUnavailable, "", "The change could not be saved. Please try again in a minute.")
	}
}

func (c *Console) setStatus(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.act(w, r, p, "status", c.cw.SetStatus(r.Context(), p, r.PathValue("id"), r.PostForm.Get("status"), r.PostForm.Get("reason")))
}

func (c *Console) assign(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.act(w, r, p, "assigned", c.cw.Assign(r.Context(), p, r.PathValue("id"), r.PostForm.Get("user")))
}

func (c *Console) classify(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.act(w, r, p, "classified", c.cw.Classify(r.Context(), p, r.PathValue("id"), r.PostForm.Get("gbv_type"), r.PostForm["flag"]))
}

func (c *Console) addNote(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.act(w, r, p, "note", c.cw.AddNote(r.Context(), p, r.PathValue("id"), r.PostForm.Get("text")))
}

func (c *Console) sendMessage(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	c.act(w, r, p, "message", c.cw.SendMessage(r.Context(), p, r.PathValue("id"), r.PostForm.Get("text")))
}
