package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/salama-ke/salama/internal/casework"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/locale"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/staff"
	"github.com/salama-ke/salama/internal/store"
)

// referralDraft is the referral form as the caseworker filled it in, shown
// again after a problem so that nothing typed or ticked is lost.
type referralDraft struct {
	Service, Mode, AgreedType, Justification, Handoff string
	Fields                                            []string
	// Summary is the narrative as it is to be shared, edited or not;
	// HasSummary says the form shows it (the report has a narrative).
	Summary    string
	HasSummary bool
	// Problems are what is wrong, by field, in words.
	Problems map[string]string
}

// newReferralDraft is the form as first shown: ask the survivor.
func newReferralDraft() *referralDraft {
	return &referralDraft{Mode: casework.ModeAsk}
}

func draftFromForm(f url.Values) *referralDraft {
	_, has := f["summary"]
	return &referralDraft{Service: f.Get("service"), Mode: f.Get("mode"), AgreedType: f.Get("agreed_type"),
		Justification: f.Get("justification"), Handoff: f.Get("handoff"), Fields: f["field"], Summary: f.Get("summary"), HasSummary: has}
}

// postedSummary is the edited narrative of a referral form, nil when the
// form had no such box.
func postedSummary(f url.Values) *string {
	if _, ok := f["summary"]; !ok {
		return nil
	}
	v := f.Get("summary")
	return &v
}

// referralFieldNames name the form's fields in words, in form order, for
// the summary at the top of the page.
var referralFieldNames = []struct{ field, name string }{
	{"service", "Service"}, {"field", "Share only"}, {"mode", "Consent"},
	{"agreed_type", "What they agreed to by phone"}, {"justification", "Why the child is at risk"},
	{"handoff", "How it was handed over"}, {"summary", "Their words as shared"},
}

// createReferral proposes a referral from the report page. A problem shows
// the referral form again, as it was filled in, each problem beside its
// field and named at the top.
func (c *Console) createReferral(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	f := r.PostForm
	err := c.cw.CreateReferral(r.Context(), p, r.PathValue("id"), casework.NewReferral{ServiceID: f.Get("service"),
		Fields: f["field"], Mode: f.Get("mode"), AgreedType: f.Get("agreed_type"), Justification: f.Get("justification"),
		HandoffMethod: f.Get("handoff"), Summary: postedSummary(f)})
	var re *casework.ReferralError
	if !errors.As(err, &re) {
		c.actReferral(w, r, p, r.PathValue("id"), err)
		return
	}
	d := draftFromForm(f)
	d.Problems = referralProblems(re)
	var summary []string
	for _, fn := range referralFieldNames {
		if text, ok := d.Problems[fn.field]; ok {
			summary = append(summary, fn.name+": "+text)
		}
	}
	status := http.StatusUnprocessableEntity
	if re.Refusal != nil {
		status = http.StatusForbidden
	}
	rep, panel, err := c.cw.ReferralForm(r.Context(), p, r.PathValue("id"))
	if err != nil {
		c.actReferral(w, r, p, r.PathValue("id"), err)
		return
	}
	c.render(w, status, "referral_form", &view{Title: "Refer report " + rep.CaseRef, P: p,
		Problem: "The referral was not made, and nothing was shared. " + strings.Join(summary, " "),
		Data: referralPage{Report: rep, Ref: panel, RefDraft: d, ShareFields: referral.Fields,
			HandoffMethods: referral.HandoffMethods, AgreedTypes: agreedTypes()}})
}

// referralPage is the referral form on its own, shown again after a
// problem with what was typed: the report's clear metadata only, so a
// mistake in the form does not open the report's sealed content again.
type referralPage struct {
	Report                                   *store.Report
	Ref                                      *casework.ReferralPanel
	RefDraft                                 *referralDraft
	ShareFields, HandoffMethods, AgreedTypes []string
}

// referralProblems words a ReferralError for the form, by field.
func referralProblems(re *casework.ReferralError) map[string]string {
	out := map[string]string{}
	for field, code := range re.Problems {
		out[field] = map[string]string{
			casework.ProblemReceivedCopy:      "This report came to you through a referral: it is not referred on. Ask the organisation that sent it.",
			casework.ProblemNoFields:          "Tick at least one thing to share.",
			casework.ProblemNoMode:            "Choose how the survivor gave consent.",
			casework.ProblemJustification:     fmt.Sprintf("Write why the child is at risk (at least %d characters). The survivor will read it.", casework.MinJustification),
			casework.ProblemNoHandoff:         "This service does not use Salama: say how it was handed over.",
			casework.ProblemJustificationLong: fmt.Sprintf("The reason is too long: at most %d characters.", casework.MaxJustification),
			casework.ProblemSummaryEmpty:      "The copy of their words to share is empty. Write what may be shared, or untick “Their own words”.",
			casework.ProblemSummaryLong:       fmt.Sprintf("The copy of their words to share is too long: at most %s characters.", locale.Number(reporting.MaxNarrative)),
			casework.ProblemSummaryNoNarr:     "This report has no words of theirs to share: untick “Their own words”.",
		}[code]
	}
	if rf := re.Refusal; rf != nil {
		out[rf.Field] = refusalText(rf)
	}
	return out
}

// refusalText says in words why referral.Check refused, naming the service
// and what the survivor agreed to.
func refusalText(rf *referral.Refusal) string {
	name := "“" + rf.Service.Name + "”"
	kind := label(string(rf.Service.Type))
	askFirst := " Ask the survivor on their check page (the request names the service), or record their agreement by phone."
	switch rf.Reason {
	case referral.RefusedUnknownService:
		return "There is no such service in the directory (it may have been removed). Choose one from the list."
	case referral.RefusedNotOffered:
		return name + " is not one offered for this report (not in its county, not for this age, or your own organisation's). Choose a service from the list."
	case referral.RefusedAdultsOnly:
		return name + " is for adults only, and this report is about a child."
	case referral.RefusedChildrenOnly:
		return name + " is for children only, and this report is about an adult."
	case referral.RefusedNoneAtSubmit:
		return "When reporting, the survivor chose “ask me first”: they agreed to no referral then." + askFirst
	case referral.RefusedPolice:
		return "The police get nothing unless the survivor chooses it: they did not tick “you may pass my report to the police gender desk” when reporting." + askFirst
	case referral.RefusedLegal:
		return "Legal aid needs the survivor's own choice: they did not tick “you may pass my report to legal aid” when reporting." + askFirst
	case referral.RefusedNotNeeded:
		return name + " is of a kind (" + kind + ") that is not a kind of service the survivor agreed to when reporting (see above)." + askFirst
	case referral.RefusedPhoneUnsaid:
		return "Choose the kind of service the survivor agreed to on the phone."
	case referral.RefusedPhoneOther:
		return "The survivor agreed on the phone to this kind of service: " + label(string(rf.Agreed)) + ". " + name + " is of another kind (" + kind + "). Choose a service of the kind they agreed to, or ask them again."
	case referral.RefusedChanged, referral.RefusedMoved:
		return name + " has changed since the survivor was asked."
	case referral.RefusedNotChild:
		return "The child-protection override is only for a report about a child."
	case referral.RefusedNotMarked:
		return "The child-protection override may go only to a service the network coordinator marked as child protection, and " + name + " is not marked."
	}
	return "Choose how the survivor gave consent."
}

// agreedTypes are the kinds of service a caseworker may record as agreed
// by phone, in display order.
func agreedTypes() []string {
	var out []string
	for _, t := range directory.ServiceTypes() {
		out = append(out, string(t))
	}
	return out
}

// referralAction accepts, declines, completes or revokes a referral. The
// form carries the report whose page it was posted from, to go back to.
func (c *Console) referralAction(w http.ResponseWriter, r *http.Request, p *staff.Principal) {
	err := c.cw.ReferralAction(r.Context(), p, r.PathValue("rid"), r.PathValue("action"), r.PostForm.Get("reason"))
	c.actReferral(w, r, p, r.PostForm.Get("report"), err)
}

func (c *Console) actReferral(w http.ResponseWriter, r *http.Request, p *staff.Principal, reportID string, err error) {
	switch {
	case err == nil:
		http.Redirect(w, r, "/console/reports/"+url.PathEscape(reportID)+"?done=referral#referrals", http.StatusSeeOther)
	case errors.Is(err, casework.ErrNotFound):
		c.fail(w, r, p, http.StatusNotFound, "This referral or report does not exist or is not your organisation's.")
	case errors.Is(err, casework.ErrBadTransition):
		c.fail(w, r, p, http.StatusConflict, "That step is not possible now: the referral has moved on. Open the report again.")
	case errors.Is(err, casework.ErrInvalid):
		c.fail(w, r, p, http.StatusUnprocessableEntity, problemText(err, "Please check the referral and try again."))
	default:
		c.log.Error("referral failed", "err", err)
		c.fail(w, r, p, http.StatusServiceUnavailable, "The referral could not be saved. Please try again in a minute.")
	}
}
