package casework

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/ids"
	"github.com/salama-ke/salama/internal/orgs"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/store"
)

// Ways a caseworker asks for consent when proposing a referral.
const (
	ModeAsk      = "ask" // the survivor is asked on the check page
	ModePhone    = referral.ConsentPhone
	ModeAtSubmit = referral.ConsentAtSubmission
	ModeOverride = referral.ConsentOverride
)

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
	// ConsentAtSubmission: the survivor said "you may refer me" when reporting.
	ConsentAtSubmission bool
}

func (s *Service) directoryMaps(ctx context.Context) (map[string]directory.Service, map[string]store.Organisation, []directory.Service, error) {
	svcs, err := s.Store.Services(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	orgs, err := s.Store.Organisations(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	bySvc, byOrg := map[string]directory.Service{}, map[string]store.Organisation{}
	for _, sv := range svcs {
		bySvc[sv.ID] = sv
	}
	for _, o := range orgs {
		byOrg[o.ID] = o
	}
	return bySvc, byOrg, svcs, nil
}

// childReport reports whether a report involves a child.
func childReport(r *store.Report) bool {
	return r.ChildInvolved || r.About == "child" || directory.IsChild(r.AgeBand)
}

// Referrals returns the referral panel of a report the principal can open.
func (s *Service) Referrals(ctx context.Context, p *Principal, reportID string) (*ReferralPanel, error) {
	r, err := s.report(ctx, p, reportID)
	if err != nil {
		return nil, err
	}
	bySvc, byOrg, svcs, err := s.directoryMaps(ctx)
	if err != nil {
		return nil, err
	}
	panel := &ReferralPanel{Child: childReport(r), ConsentAtSubmission: r.ConsentRefer}
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
	for _, ref := range refs {
		e := entry(ref)
		if ref.Sealed != nil {
			dk, err := s.dataKey(ctx, p, r)
			if err != nil {
				return nil, err
			}
			b, err := dk.Open(r.ID, "referral:"+ref.ID, ref.Sealed)
			dk.Destroy()
			if err != nil {
				return nil, err
			}
			e.Justification = string(b)
		}
		panel.Referrals = append(panel.Referrals, e)
	}
	needs := make([]directory.Need, 0, len(r.Help))
	for _, h := range r.Help {
		needs = append(needs, directory.Need(h))
	}
	for _, sv := range directory.Match(svcs, directory.Query{County: r.County, Needs: needs, AgeBand: r.AgeBand, Child: panel.Child}) {
		if sv.OrgID == p.OrgID || strings.HasPrefix(sv.ID, "national.") {
			continue
		}
		o := byOrg[sv.OrgID]
		panel.Options = append(panel.Options, ReferralOption{Service: sv, OrgName: o.Name, InSalama: orgs.Member(o)})
	}
	return panel, nil
}

// NewReferral is what a caseworker fills in to propose a referral.
type NewReferral struct {
	ServiceID     string
	Fields        []string
	Mode          string // ModeAsk, ModePhone, ModeAtSubmit, ModeOverride
	Justification string // required for ModeOverride
	HandoffMethod string // for a service outside Salama, when sent at once
}

// CreateReferral proposes a referral. With ModeAsk it waits for the
// survivor; with consent recorded by phone, given at submission, or the
// child-protection override, it is sent at once: a member organisation
// receives a sealed copy with only the chosen fields.
func (s *Service) CreateReferral(ctx context.Context, p *Principal, reportID string, n NewReferral) error {
	r, err := s.report(ctx, p, reportID)
	if err != nil {
		return err
	}
	if r.Kind == "referral" {
		return fmt.Errorf("%w: a received referral is not referred on; ask the sending organisation", ErrInvalid)
	}
	bySvc, byOrg, _, err := s.directoryMaps(ctx)
	if err != nil {
		return err
	}
	svc, ok := bySvc[n.ServiceID]
	if !ok || svc.OrgID == p.OrgID {
		return fmt.Errorf("%w: service", ErrInvalid)
	}
	child := childReport(r)
	if child && !svc.Ages.ServesChildren() {
		return fmt.Errorf("%w: this service does not take children", ErrInvalid)
	}
	fields, ok := referral.CleanFields(n.Fields)
	if !ok {
		return fmt.Errorf("%w: choose what to share", ErrInvalid)
	}
	member := orgs.Member(byOrg[svc.OrgID])
	now := s.Now().UTC()
	ref := &store.Referral{ID: ids.New(), ReportID: r.ID, FromOrg: p.OrgID, ServiceID: svc.ID, Fields: fields,
		CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now, State: store.ReferralSent}
	if member {
		ref.ToOrg = svc.OrgID
	}
	switch n.Mode {
	case ModeAsk:
		ref.State = store.ReferralAwaitingConsent
	case ModePhone:
		ref.Consent = referral.ConsentPhone
	case ModeAtSubmit:
		if !r.ConsentRefer {
			return fmt.Errorf("%w: the survivor did not agree to referrals when reporting", ErrInvalid)
		}
		ref.Consent = referral.ConsentAtSubmission
	case ModeOverride:
		if !child || svc.Type != directory.TypeChildProtection {
			return fmt.Errorf("%w: the override is only for a child at risk, to a child-protection service", ErrInvalid)
		}
		just := strings.TrimSpace(n.Justification)
		if utf8.RuneCountInString(just) < MinJustification {
			return fmt.Errorf("%w: write why the child is at risk", ErrInvalid)
		}
		if utf8.RuneCountInString(just) > MaxJustification {
			return fmt.Errorf("%w: the reason is too long (at most 2,000 characters)", ErrInvalid)
		}
		ref.Consent = referral.ConsentOverride
		dk, err := s.dataKey(ctx, p, r)
		if err != nil {
			return err
		}
		ref.Sealed, err = dk.Seal(r.ID, "referral:"+ref.ID, []byte(just))
		dk.Destroy()
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: how was consent given", ErrInvalid)
	}
	if ref.State == store.ReferralSent && !member {
		if !slices.Contains(referral.HandoffMethods, n.HandoffMethod) {
			return fmt.Errorf("%w: say how it was handed over", ErrInvalid)
		}
		ref.HandoffMethod = n.HandoffMethod
	}
	var copy *store.NewReport
	if ref.State == store.ReferralSent && member {
		if copy, err = s.copyFor(ctx, p, r, ref, byOrg[ref.ToOrg]); err != nil {
			return err
		}
	}
	if err := s.Store.CreateReferral(ctx, ref, copy); err != nil {
		return err
	}
	actor := audit.UserActor(p.UserID)
	consent := map[string]string{ModeAsk: "no", ModeOverride: "override"}[n.Mode]
	if consent == "" {
		consent = "yes"
	}
	if err := s.record(ctx, actor, p.OrgID, audit.ReferralCreated, r.ID, "referral="+ref.ID+" service="+svc.ID+" consent="+consent); err != nil {
		return err
	}
	if n.Mode == ModeOverride {
		if err := s.record(ctx, actor, p.OrgID, audit.ReferralOverride, r.ID, "referral="+ref.ID); err != nil {
			return err
		}
	}
	if ref.State == store.ReferralSent {
		return s.record(ctx, actor, p.OrgID, audit.ReferralSent, r.ID, "referral="+ref.ID)
	}
	return nil
}

func (s *Service) copyFor(ctx context.Context, p *Principal, r *store.Report, ref *store.Referral, to store.Organisation) (*store.NewReport, error) {
	dk, err := s.dataKey(ctx, p, r)
	if err != nil {
		return nil, err
	}
	defer dk.Destroy()
	nr, err := referral.Copy(ctx, s.Store, dk, r, ref.Fields, &to, s.Now().UTC())
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
func (s *Service) ReferralAction(ctx context.Context, p *Principal, refID, action, reason string) error {
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
			return fmt.Errorf("%w: choose a reason", ErrInvalid)
		}
		next.State, next.Reason, act = store.ReferralDeclined, reason, audit.ReferralDeclined
	case action == ActionComplete && receiver && from == store.ReferralAccepted:
		if !slices.Contains(referral.Outcomes, reason) {
			return fmt.Errorf("%w: choose an outcome", ErrInvalid)
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
