package casework

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/report"
	"github.com/salama-ke/salama/internal/staff"

	"github.com/salama-ke/salama/internal/problem"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/reporting"
	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Ways a caseworker asks for consent when proposing a referral.
const (
	ModeAsk      = referral.ConsentAsk // the survivor is asked on the check page
	ModePhone    = referral.ConsentPhone
	ModeAtSubmit = referral.ConsentAtSubmission
	ModeOverride = referral.ConsentOverride
)

// Modes lists the modes in the order the form offers them.
var Modes = []string{ModeAsk, ModePhone, ModeAtSubmit, ModeOverride}

// MinJustification is the shortest written justification the
// child-protection override accepts.
const MinJustification = 40

// MaxJustification is the longest one: a few paragraphs.
const MaxJustification = 2000

// ReferralOption is a service a report can be referred to, best first.
type ReferralOption struct {
	Service  directory.Service
	OrgName  string
	InSalama bool // the receiving organisation gets a sealed copy in its console; otherwise a recorded hand-off
	// AtSubmission is the survivor's choice when reporting that covers
	// this service (referral.ScopeNeeds, ScopePolice, ScopeLegal), or "".
	AtSubmission string
}

// ReferralEntry is a referral as the caseworkers of either side see it.
type ReferralEntry struct {
	store.Referral
	ServiceName   string
	ProviderName  string // the organisation that offers the service
	FromOrgName   string
	ToOrgName     string
	Justification string // the override's reason, opened for the sender
	Incoming      bool   // the principal's organisation receives it
}

// ReferralPanel is everything the referral part of a report page shows.
type ReferralPanel struct {
	Options   []ReferralOption
	Referrals []ReferralEntry
	Incoming  *ReferralEntry // when the report is a copy received through a referral
	Child     bool
	// What the survivor agreed to when reporting: the kinds of service
	// "services that match my needs" covers, and her own ticks for the
	// police gender desk and legal aid.
	MatchingTypes               []directory.ServiceType
	ConsentPolice, ConsentLegal bool
	// ConsentAtSubmission: she agreed to some referral when reporting.
	ConsentAtSubmission bool
}

// referralDirectory reads the directory for a consent decision: from the
// store, not a cache, so an edit a moment ago on any instance counts.
func (s *Service) referralDirectory(ctx context.Context) (referral.Directory, error) {
	svcs, err := directory.Stored(ctx, s.Store)
	if err != nil {
		return referral.Directory{}, err
	}
	orgs, err := s.Store.Organisations(ctx)
	return referral.Directory{Services: svcs, Orgs: orgs}, err
}

// childReport reports whether a report involves a child.
func childReport(r *store.Report) bool {
	child, _ := referral.Person(r)
	return child
}

// Referrals returns the referral panel of a report the principal can open.
func (s *Service) Referrals(ctx context.Context, p *staff.Principal, reportID string) (*ReferralPanel, error) {
	r, err := s.report(ctx, p, reportID)
	if err != nil {
		return nil, err
	}
	d, err := s.referralDirectory(ctx)
	if err != nil {
		return nil, err
	}
	bySvc, byOrg := map[string]directory.Service{}, map[string]store.Organisation{}
	for _, sv := range d.Services {
		bySvc[sv.ID] = sv
	}
	for _, o := range d.Orgs {
		byOrg[o.ID] = o
	}
	panel := newPanel(r)
	entry := func(ref store.Referral) ReferralEntry {
		e := ReferralEntry{Referral: ref, ServiceName: bySvc[ref.ServiceID].Name, ProviderName: byOrg[bySvc[ref.ServiceID].OrgID].Name, FromOrgName: byOrg[ref.FromOrg].Name,
			ToOrgName: byOrg[ref.ToOrg].Name, Incoming: ref.ToOrg == p.OrgID}
		if e.ServiceName == "" {
			e.ServiceName = "(a service no longer in the directory)"
		}
		return e
	}
	if r.Kind == "referral" {
		ref, err := s.Store.ReferralByCopy(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		e := entry(*ref)
		panel.Incoming = &e
		return panel, nil
	}
	refs, err := s.Store.Referrals(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	var dk *seal.DataKey // unwrapped once, for the first override's justification
	defer func() { dk.Destroy() }()
	for _, ref := range refs {
		e := entry(ref)
		if ref.Sealed != nil {
			if dk == nil {
				if dk, err = s.dataKey(ctx, p, r); err != nil {
					return nil, err
				}
			}
			b, err := dk.Open(r.ID, report.ReferralField(ref.ID), ref.Sealed)
			if err != nil {
				return nil, err
			}
			e.Justification = string(b)
		}
		panel.Referrals = append(panel.Referrals, e)
	}
	panel.Options = referralOptions(d, r, p.OrgID)
	return panel, nil
}

// newPanel is a report's referral panel without its options or referrals:
// who the report is about and what the survivor agreed to when reporting.
func newPanel(r *store.Report) *ReferralPanel {
	return &ReferralPanel{Child: childReport(r), MatchingTypes: referral.MatchingTypes(r),
		ConsentPolice: r.ConsentPolice, ConsentLegal: r.ConsentLegal, ConsentAtSubmission: referral.AnyAtSubmission(r)}
}

func referralOptions(d referral.Directory, r *store.Report, fromOrg string) []ReferralOption {
	byOrg := map[string]store.Organisation{}
	for _, o := range d.Orgs {
		byOrg[o.ID] = o
	}
	var out []ReferralOption
	for _, sv := range referral.Offered(d, r, fromOrg) {
		o := byOrg[sv.OrgID]
		out = append(out, ReferralOption{Service: sv, OrgName: o.Name, InSalama: orgs.Member(o),
			AtSubmission: referral.AtSubmission(r, sv.Type)})
	}
	return out
}

// ReferralForm returns what the referral form of a report needs (the
// services offered, what the survivor agreed to when reporting) and the
// report's clear metadata, without opening anything sealed: the console
// shows it again after a problem without reading the report once more.
func (s *Service) ReferralForm(ctx context.Context, p *staff.Principal, reportID string) (*store.Report, *ReferralPanel, error) {
	r, err := s.report(ctx, p, reportID)
	if err != nil {
		return nil, nil, err
	}
	panel := newPanel(r)
	if r.Kind == "referral" {
		return r, panel, nil // a received referral is not referred on
	}
	d, err := s.referralDirectory(ctx)
	if err != nil {
		return nil, nil, err
	}
	panel.Options = referralOptions(d, r, p.OrgID)
	return r, panel, nil
}

// NewReferral is what a caseworker fills in to propose a referral.
type NewReferral struct {
	ServiceID     string
	Fields        []string
	Mode          string // ModeAsk, ModePhone, ModeAtSubmit, ModeOverride
	AgreedType    string // ModePhone: the kind of service the survivor agreed to
	Justification string // required for ModeOverride
	HandoffMethod string // for a service outside Salama, when sent at once
	// Summary, when the narrative is shared, is the copy of it the
	// caseworker edited to share instead of the survivor's words (third
	// parties' names taken out, say). nil, or her words unchanged, shares
	// her words; empty is a problem (untick the narrative to share none).
	Summary *string
}

// Problems with a referral form that are not about consent, by field.
const (
	ProblemReceivedCopy      = "received_copy"        // a received referral is not referred on
	ProblemNoFields          = "choose_fields"        // nothing, or something unknown, to share
	ProblemNoMode            = "choose_mode"          // how consent was given is missing or unknown
	ProblemJustification     = "justification_short"  // the override without a written reason
	ProblemJustificationLong = "justification_long"   // a reason over MaxJustification
	ProblemNoHandoff         = "handoff_missing"      // sent to a service outside Salama without saying how
	ProblemSummaryEmpty      = "summary_empty"        // the edited narrative is empty
	ProblemSummaryLong       = "summary_long"         // the edited narrative is over reporting.MaxNarrative
	ProblemSummaryNoNarr     = "summary_no_narrative" // an edited narrative for a report without one
)

// ReferralError is why a referral was not made. Nothing was stored and
// nothing disclosed. Problems maps a form field ("service", "field",
// "mode", "agreed_type", "justification", "handoff") to a Problem* code;
// Refusal, when set, is the consent decision that refused it (and was
// audited as referral.refused). It matches ErrInvalid.
type ReferralError struct {
	Problems map[string]string
	Refusal  *referral.Refusal
}

func (e *ReferralError) Error() string {
	var parts []string
	for f, p := range e.Problems {
		parts = append(parts, f+": "+p)
	}
	slices.Sort(parts)
	if e.Refusal != nil {
		parts = append(parts, e.Refusal.Error())
	}
	return "casework: referral not made: " + strings.Join(parts, "; ")
}

func (e *ReferralError) Unwrap() []error {
	if e.Refusal != nil {
		return []error{ErrInvalid, e.Refusal}
	}
	return []error{ErrInvalid}
}

// CreateReferral proposes a referral. With ModeAsk it waits for the
// survivor; with consent recorded by phone, given at submission, or the
// child-protection override, it is sent at once: a member organisation
// receives a sealed copy with only the chosen fields. Whether it may be
// made at all is referral.Check's decision alone; a refusal is audited
// (referral.refused) and returned in a *ReferralError with every other
// problem of the form.
func (s *Service) CreateReferral(ctx context.Context, p *staff.Principal, reportID string, n NewReferral) error {
	r, err := s.report(ctx, p, reportID)
	if err != nil {
		return err
	}
	if r.Kind == "referral" {
		return &ReferralError{Problems: map[string]string{"service": ProblemReceivedCopy}}
	}
	problems := map[string]string{}
	fields, ok := referral.CleanFields(n.Fields)
	if !ok {
		problems["field"] = ProblemNoFields
	}
	if !slices.Contains(Modes, n.Mode) {
		problems["mode"] = ProblemNoMode
	}
	just := strings.TrimSpace(n.Justification)
	if n.Mode == ModeOverride && utf8.RuneCountInString(just) < MinJustification {
		problems["justification"] = ProblemJustification
	} else if utf8.RuneCountInString(just) > MaxJustification {
		problems["justification"] = ProblemJustificationLong
	}
	summary, err := s.referralSummary(ctx, p, r, fields, n.Summary, problems)
	if err != nil {
		return err
	}
	agreed, _ := directory.ParseServiceType(n.AgreedType)
	var dec referral.Decision
	var refusal *referral.Refusal
	if problems["mode"] == "" {
		d, err := s.referralDirectory(ctx)
		if err != nil {
			return err
		}
		dec, err = referral.Check(d, referral.Proposal{Report: r, FromOrg: p.OrgID, ServiceID: n.ServiceID, Consent: n.Mode, AgreedType: agreed})
		if errors.As(err, &refusal) {
			if err := s.recordRefusal(ctx, audit.UserActor(p.UserID), p.OrgID, r.ID, n.Mode, refusal); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	sendNow := n.Mode != ModeAsk
	if refusal == nil && problems["mode"] == "" && sendNow && dec.ToOrg == "" && !slices.Contains(referral.HandoffMethods, n.HandoffMethod) {
		problems["handoff"] = ProblemNoHandoff
	}
	if refusal != nil || len(problems) > 0 {
		return &ReferralError{Problems: problems, Refusal: refusal}
	}
	svc := dec.Service
	now := s.Now().UTC()
	ref := &store.Referral{ID: ids.New(), ReportID: r.ID, FromOrg: p.OrgID, ToOrg: dec.ToOrg, ServiceID: svc.ID,
		ServiceType: string(svc.Type), Fields: fields, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now, State: store.ReferralSent}
	if sendNow {
		ref.Consent = n.Mode
	} else {
		ref.State = store.ReferralAwaitingConsent
	}
	if n.Mode == ModeOverride || summary != nil {
		dk, err := s.dataKey(ctx, p, r)
		if err != nil {
			return err
		}
		if n.Mode == ModeOverride {
			ref.Sealed, err = dk.Seal(r.ID, report.ReferralField(ref.ID), []byte(just))
		}
		if err == nil && summary != nil {
			// Sealed like the narrative it stands for, bound to this
			// referral: referral.Copy puts it in the receiving
			// organisation's copy only when the referral is sent.
			ref.Summary, err = dk.Seal(r.ID, report.SummaryField(ref.ID), []byte(*summary))
		}
		dk.Destroy()
		if err != nil {
			return err
		}
	}
	if sendNow && ref.ToOrg == "" {
		ref.HandoffMethod = n.HandoffMethod
	}
	var copy *store.NewReport
	if sendNow && ref.ToOrg != "" {
		to, err := s.Store.Organisation(ctx, ref.ToOrg)
		if err != nil {
			return err
		}
		if copy, err = s.copyFor(ctx, p, r, ref, dec, *to); err != nil {
			return err
		}
	}
	if err := s.Store.CreateReferral(ctx, ref, copy); err != nil {
		return err
	}
	actor := audit.UserActor(p.UserID)
	detail := "referral=" + ref.ID + " service=" + svc.ID + " type=" + string(svc.Type) + " consent=" + n.Mode
	if dec.Scope != "" {
		detail += " scope=" + dec.Scope
	}
	detail += referral.NarrativeDetail(ref)
	if err := s.record(ctx, actor, p.OrgID, audit.ReferralCreated, r.ID, detail); err != nil {
		return err
	}
	if n.Mode == ModeOverride {
		if err := s.record(ctx, actor, p.OrgID, audit.ReferralOverride, r.ID, "referral="+ref.ID); err != nil {
			return err
		}
	}
	if ref.State == store.ReferralSent {
		return s.record(ctx, actor, p.OrgID, audit.ReferralSent, r.ID, "referral="+ref.ID+referral.NarrativeDetail(ref))
	}
	return nil
}

// referralSummary checks the edited narrative of a referral form: the
// text to seal, or nil to share the survivor's words (the narrative not
// shared, no edited copy posted, or her words unchanged). A problem goes
// into problems.
func (s *Service) referralSummary(ctx context.Context, p *staff.Principal, r *store.Report, fields []string, posted *string, problems map[string]string) (*string, error) {
	if posted == nil || !slices.Contains(fields, referral.FieldNarrative) {
		return nil, nil
	}
	text := strings.TrimSpace(strings.ReplaceAll(*posted, "\r\n", "\n"))
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		problems["summary"] = ProblemSummaryEmpty
		return nil, nil
	case n > reporting.MaxNarrative:
		problems["summary"] = ProblemSummaryLong
		return nil, nil
	}
	sealed, err := s.Store.ReportFields(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	v, ok := sealed[report.FieldNarrative]
	if !ok {
		problems["summary"] = ProblemSummaryNoNarr
		return nil, nil
	}
	dk, err := s.dataKey(ctx, p, r)
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	words, err := dk.Open(r.ID, report.FieldNarrative, v)
	if err != nil {
		return nil, err
	}
	if text == strings.TrimSpace(string(words)) {
		return nil, nil // her words, unchanged
	}
	return &text, nil
}

// recordRefusal audits a referral refused by referral.Check: the service
// (when it is in the directory), how consent was to be given, and why.
// Nothing the survivor wrote, and nothing posted that is not a known code.
func (s *Service) recordRefusal(ctx context.Context, actor, orgID, reportID, mode string, rf *referral.Refusal) error {
	return s.record(ctx, actor, orgID, audit.ReferralRefused, reportID, referral.RefusalDetail(mode, rf))
}

func (s *Service) copyFor(ctx context.Context, p *staff.Principal, r *store.Report, ref *store.Referral, dec referral.Decision, to store.Organisation) (*store.NewReport, error) {
	dk, err := s.dataKey(ctx, p, r)
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	nr, err := referral.Copy(ctx, s.Store, dk, r, ref, dec, &to, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	ref.ReferredReportID = nr.ID
	return nr, nil
}

// Referral actions.
const (
	ActionAccept   = "accept"
	ActionDecline  = "decline"
	ActionComplete = "complete"
	ActionRevoke   = "revoke"
)

// ReferralAction moves a referral along: the receiving organisation accepts,
// declines (with a reason) or completes (with an outcome) it; the sending
// organisation revokes it, or, for a service outside Salama, records what
// the service said. Anything else is ErrBadTransition.
func (s *Service) ReferralAction(ctx context.Context, p *staff.Principal, refID, action, reason string) error {
	ref, err := s.Store.Referral(ctx, refID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	sender, receiver := ref.FromOrg == p.OrgID, ref.ToOrg != "" && ref.ToOrg == p.OrgID
	// The receiving side of an outside service is recorded by the sender.
	if ref.ToOrg == "" && sender {
		receiver = true
	}
	if !sender && !receiver {
		return ErrNotFound
	}
	from := ref.State
	next := *ref
	next.UpdatedAt = s.Now().UTC()
	destroy := false
	var act audit.Action
	switch {
	case action == ActionAccept && receiver && from == store.ReferralSent:
		next.State, act = store.ReferralAccepted, audit.ReferralAccepted
	case action == ActionDecline && receiver && from == store.ReferralSent:
		if !slices.Contains(referral.DeclineReasons, reason) {
			return problem.Invalid(ErrInvalid, ProblemDeclineReason, "reason")
		}
		next.State, next.Reason, act = store.ReferralDeclined, reason, audit.ReferralDeclined
	case action == ActionComplete && receiver && from == store.ReferralAccepted:
		if !slices.Contains(referral.Outcomes, reason) {
			return problem.Invalid(ErrInvalid, ProblemOutcome, "reason")
		}
		next.State, next.Reason, act = store.ReferralCompleted, reason, audit.ReferralCompleted
	case action == ActionRevoke && sender && slices.Contains(referral.OpenStates, from):
		next.State, next.Reason, act, destroy = store.ReferralRevoked, "sender", audit.ReferralRevoked, true
	default:
		return ErrBadTransition
	}
	if err := s.Store.UpdateReferral(ctx, &next, from, nil, destroy); errors.Is(err, store.ErrStale) {
		return ErrBadTransition
	} else if err != nil {
		return err
	}
	detail := "referral=" + ref.ID
	if next.Reason != "" && next.Reason != ref.Reason {
		detail += " reason=" + next.Reason
	}
	return s.record(ctx, audit.UserActor(p.UserID), p.OrgID, act, ref.ReportID, detail)
}
