// Package referral owns what a referral may carry and how the receiving
// organisation's copy of a report is made (SPEC §3 rule 5, §4.4): a new
// report with its own data key, wrapped to the receiving organisation only,
// holding only the fields the survivor agreed to share. The original report
// is never wrapped to the receiving organisation, so nothing else of it can
// be opened there.
//
// Both sides use it: the caseworker who records consent given by phone (or
// the audited child-protection override), and the survivor who agrees on
// the check page. It must never copy a field that is not in the consented
// list.
package referral

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Fields a survivor can agree to share.
const (
	FieldSituation   = "situation"   // the structured answers: whom, what, age, county, when, danger, help wanted
	FieldNarrative   = "narrative"   // their words
	FieldIdentifiers = "identifiers" // numbers, usernames, links of who did it
	FieldContact     = "contact"     // how to reach them
	FieldScreenshots = "screenshots"
)

// Fields lists the shareable fields in the order forms show them.
var Fields = []string{FieldSituation, FieldNarrative, FieldIdentifiers, FieldContact, FieldScreenshots}

// How consent was given.
const (
	ConsentSurvivor     = "survivor"      // agreed on the check page (or over USSD)
	ConsentPhone        = "phone"         // told a caseworker, who recorded it
	ConsentAtSubmission = "at_submission" // "you may refer me" when reporting
	ConsentOverride     = "override"      // child-protection override, with a written justification
)

// Open states: a referral in one of them can still be revoked.
var OpenStates = []string{store.ReferralAwaitingConsent, store.ReferralSent, store.ReferralAccepted}

// Reasons a receiving service declines, and outcomes of a completed referral.
var (
	DeclineReasons = []string{"no_capacity", "not_eligible", "outside_area", "survivor_unreachable", "other"}
	Outcomes       = []string{"service_given", "survivor_did_not_come", "referred_on", "other"}
	HandoffMethods = []string{"phone_call", "in_person", "escorted", "letter"}
)

// CleanFields keeps the known fields of list, in canonical order; it
// reports false if list held anything else or nothing.
func CleanFields(list []string) ([]string, bool) {
	var out []string
	for _, f := range Fields {
		if slices.Contains(list, f) {
			out = append(out, f)
		}
	}
	for _, f := range list {
		if !slices.Contains(Fields, f) {
			return nil, false
		}
	}
	return out, len(out) > 0
}

// sealedFor maps a sealed report field to the shareable field that covers it.
func sealedFor(name string) string {
	switch {
	case name == "narrative":
		return FieldNarrative
	case name == "identifiers":
		return FieldIdentifiers
	case name == "contact":
		return FieldContact
	case name == "country":
		return FieldSituation
	}
	return "" // anything else (notes, messages) is never shared
}

// NarrativeDetail is what the audit entries of a referral that shares the
// narrative say about it: " narrative=edited" when an edited copy goes
// instead of the survivor's words, " narrative=original" when her words
// go, "" when the narrative is not shared. Never the text.
func NarrativeDetail(ref *store.Referral) string {
	switch {
	case !slices.Contains(ref.Fields, FieldNarrative):
		return ""
	case ref.Summary != nil:
		return " narrative=edited"
	}
	return " narrative=original"
}

// Copy builds the receiving organisation's copy of orig for ref, with
// only ref's fields; where ref carries an edited copy of the narrative
// (ref.Summary), the copy's narrative is that, never the survivor's words.
// dk is orig's data key; the copy gets a fresh one, wrapped to toOrg. dec
// is Check's decision to send it now, to toOrg: there is no other way to
// get one, so nothing is copied that Check did not allow, and an edited
// narrative goes only where its referral goes.
func Copy(ctx context.Context, st *store.Store, dk *seal.DataKey, orig *store.Report, ref *store.Referral, dec Decision, toOrg *store.Organisation, now time.Time) (*store.NewReport, error) {
	if !dec.send || dec.ToOrg == "" || dec.ToOrg != toOrg.ID || ref.ReportID != orig.ID {
		return nil, errors.New("referral: a copy needs Check's decision to send it to this organisation")
	}
	fields := ref.Fields
	recipient, err := seal.ParseOrgRecipient(toOrg.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("referral: organisation %s key: %w", toOrg.ID, err)
	}
	id := ids.New()
	r := store.Report{ID: id, CaseRef: ids.CaseRef(), Kind: "referral", Channel: orig.Channel, OrgID: toOrg.ID,
		Status: store.StatusNew, CreatedAt: now, UpdatedAt: now}
	if slices.Contains(fields, FieldSituation) {
		r.About, r.Categories, r.AgeBand, r.County = orig.About, orig.Categories, orig.AgeBand, orig.County
		r.WhenLast, r.DangerNow, r.Help, r.ChildInvolved, r.Urgency = orig.WhenLast, orig.DangerNow, orig.Help, orig.ChildInvolved, orig.Urgency
	}
	// The copy is not counted again in statistics, matched again, or
	// referred on by itself.
	nr := &store.NewReport{Report: r, Fields: map[string]seal.Sealed{}, OrgRecipient: "org:" + toOrg.ID, OrgPublicKey: toOrg.PublicKey}
	dk2, err := seal.NewDataKey()
	if err != nil {
		return nil, err
	}
	defer dk2.Destroy()
	sealed, err := st.ReportFields(ctx, orig.ID)
	if err != nil {
		return nil, err
	}
	for name, v := range sealed {
		if f := sealedFor(name); f == "" || !slices.Contains(fields, f) {
			continue
		}
		from := name
		if name == "narrative" && ref.Summary != nil {
			// The edited copy, opened under its own field name.
			v, from = ref.Summary, report.SummaryField(ref.ID)
		}
		plain, err := dk.Open(orig.ID, from, v)
		if err != nil {
			return nil, err
		}
		if nr.Fields[name], err = dk2.Seal(id, name, plain); err != nil {
			return nil, err
		}
	}
	if slices.Contains(fields, FieldScreenshots) {
		atts, err := st.Attachments(ctx, orig.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range atts {
			plain, err := dk.Open(orig.ID, report.AttachmentField(a.ID), a.Sealed)
			if err != nil {
				return nil, err
			}
			aid := ids.New()
			v, err := dk2.Seal(id, report.AttachmentField(aid), plain)
			if err != nil {
				return nil, err
			}
			nr.Attachments = append(nr.Attachments, store.NewAttachment{ID: aid, Sealed: v})
		}
	}
	if nr.OrgWrap, err = recipient.WrapDataKey(dk2); err != nil {
		return nil, err
	}
	return nr, nil
}
