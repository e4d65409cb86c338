package reporting

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/salama-ke/salama/internal/report"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/store"
)

// ErrReferralGone means the referral is not the survivor's, or has moved on
// (someone else acted first).
var ErrReferralGone = errors.New("reporting: referral not open")

// ErrReferralChanged means the survivor said yes, but the service is no
// longer what the request named (another kind of service, another
// organisation, no longer for her age or her area): nothing was passed on,
// and the request is stopped so that her helper can ask again.
var ErrReferralChanged = errors.New("reporting: the service changed since the survivor was asked")

// ReasonNoLongerFits is the stopped request's reason when the service
// changed before the survivor's yes arrived.
const ReasonNoLongerFits = "no_longer_fits"

// SurvivorReferral is a referral as the survivor sees it on the check page:
// every step, what is shared, and, for the child-protection override, the
// reason written down.
type SurvivorReferral struct {
	ID      string
	Service directory.Service
	// Kind is the kind of service the request names: her yes covers that
	// kind only (referral.Check).
	Kind          directory.ServiceType
	OrgName       string
	State         string
	Fields        []string
	Consent       string
	Reason        string
	Justification string
	// Summary is the copy of her words a caseworker edited to share
	// instead of them, opened for her to read; "" when her own words
	// are shared, or none.
	Summary   string
	CanAnswer bool // waiting for the survivor's yes or no
	CanStop   bool
}

// Referrals lists the survivor's report's referrals.
func (c *CheckSession) Referrals(ctx context.Context) ([]SurvivorReferral, error) {
	s := c.svc
	refs, err := s.Store.Referrals(ctx, c.ReportID)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, nil
	}
	svcs, orgs, err := s.Directory(ctx)
	if err != nil {
		return nil, err
	}
	var out []SurvivorReferral
	for _, ref := range refs {
		sr := SurvivorReferral{ID: ref.ID, State: ref.State, Fields: ref.Fields, Consent: ref.Consent, Reason: ref.Reason,
			Kind: directory.ServiceType(ref.ServiceType), CanAnswer: ref.State == store.ReferralAwaitingConsent,
			CanStop: slices.Contains(referral.OpenStates, ref.State)}
		for _, sv := range svcs {
			if sv.ID == ref.ServiceID {
				sr.Service = sv
			}
		}
		// The organisation the request was made to (the one a yes sends
		// it to); for a service outside Salama, the one that offers it.
		orgID := cmp.Or(ref.ToOrg, sr.Service.OrgID)
		for _, o := range orgs {
			if o.ID == orgID {
				sr.OrgName = o.Name
			}
		}
		if ref.Sealed != nil {
			b, err := c.dk.Open(c.ReportID, report.ReferralField(ref.ID), ref.Sealed)
			if err != nil {
				return nil, err
			}
			sr.Justification = string(b)
		}
		if ref.Summary != nil && slices.Contains(ref.Fields, referral.FieldNarrative) {
			b, err := c.dk.Open(c.ReportID, report.SummaryField(ref.ID), ref.Summary)
			if err != nil {
				return nil, err
			}
			sr.Summary = string(b)
		}
		out = append(out, sr)
	}
	return out, nil
}

func (s *Service) survivorReferral(ctx context.Context, c *CheckSession, id string) (*store.Referral, error) {
	ref, err := s.Store.Referral(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && ref.ReportID != c.ReportID {
		return nil, ErrReferralGone
	}
	return ref, err
}

// AnswerReferral records the survivor's yes or no to a referral request. A
// yes sends it, if referral.Check still allows it with the directory as it
// is now: a member organisation receives a sealed copy with only the fields
// the request named. If the service has changed since she was asked, nothing
// is passed on, the request is stopped, and the refusal is audited
// (ErrReferralChanged).
func (c *CheckSession) AnswerReferral(ctx context.Context, id string, agree bool) error {
	s := c.svc
	ref, err := s.survivorReferral(ctx, c, id)
	if err != nil {
		return err
	}
	if ref.State != store.ReferralAwaitingConsent {
		return ErrReferralGone
	}
	next := *ref
	next.UpdatedAt = s.Now().UTC()
	var copy *store.NewReport
	act, detail := audit.ReferralRevoked, "referral="+ref.ID+" reason=survivor_declined"
	if agree {
		r, err := s.Store.Report(ctx, c.ReportID)
		if err != nil {
			return err
		}
		// The directory from the store, not the page cache: an edit made a
		// moment ago on any instance must count.
		svcs, err := directory.Stored(ctx, s.Store)
		if err != nil {
			return err
		}
		orgs, err := s.Store.Organisations(ctx)
		if err != nil {
			return err
		}
		dec, err := referral.Check(referral.Directory{Services: svcs, Orgs: orgs}, referral.Proposal{Report: r, FromOrg: ref.FromOrg,
			ServiceID: ref.ServiceID, Consent: referral.ConsentSurvivor, Request: ref})
		var refusal *referral.Refusal
		if errors.As(err, &refusal) {
			return s.refuseAnswer(ctx, ref, refusal)
		} else if err != nil {
			return err
		}
		next.State, next.Consent = store.ReferralSent, referral.ConsentSurvivor
		act, detail = audit.ReferralSent, "referral="+ref.ID+" consent=survivor"+referral.NarrativeDetail(ref)
		if ref.ToOrg != "" {
			to, err := s.Store.Organisation(ctx, ref.ToOrg)
			if err != nil {
				return err
			}
			if copy, err = referral.Copy(ctx, s.Store, c.dk, r, ref, dec, to, next.UpdatedAt); err != nil {
				return err
			}
			next.ReferredReportID = copy.ID
		}
	} else {
		next.State, next.Reason = store.ReferralRevoked, "survivor_declined"
	}
	if err := s.Store.UpdateReferral(ctx, &next, ref.State, copy, false); errors.Is(err, store.ErrStale) {
		return ErrReferralGone
	} else if err != nil {
		return err
	}
	return s.audit(ctx, ref.FromOrg, act, ref.ReportID, detail)
}

// refuseAnswer stops a request whose service no longer fits what the
// survivor was asked, and audits why; nothing is passed on.
func (s *Service) refuseAnswer(ctx context.Context, ref *store.Referral, rf *referral.Refusal) error {
	next := *ref
	next.State, next.Reason, next.UpdatedAt = store.ReferralRevoked, ReasonNoLongerFits, s.Now().UTC()
	if err := s.Store.UpdateReferral(ctx, &next, ref.State, nil, false); errors.Is(err, store.ErrStale) {
		return ErrReferralGone
	} else if err != nil {
		return err
	}
	if err := s.audit(ctx, ref.FromOrg, audit.ReferralRefused, ref.ReportID, "referral="+ref.ID+" "+referral.RefusalDetail(referral.ConsentSurvivor, rf)); err != nil {
		return err
	}
	if err := s.audit(ctx, ref.FromOrg, audit.ReferralRevoked, ref.ReportID, "referral="+ref.ID+" reason="+ReasonNoLongerFits); err != nil {
		return err
	}
	return ErrReferralChanged
}

// StopReferral lets the survivor revoke a referral at any open step; the
// receiving organisation's copy is destroyed at once.
func (c *CheckSession) StopReferral(ctx context.Context, id string) error {
	s := c.svc
	ref, err := s.survivorReferral(ctx, c, id)
	if err != nil {
		return err
	}
	if !slices.Contains(referral.OpenStates, ref.State) {
		return ErrReferralGone
	}
	next := *ref
	next.State, next.Reason, next.UpdatedAt = store.ReferralRevoked, "survivor", s.Now().UTC()
	if err := s.Store.UpdateReferral(ctx, &next, ref.State, nil, true); errors.Is(err, store.ErrStale) {
		return ErrReferralGone
	} else if err != nil {
		return err
	}
	return s.audit(ctx, ref.FromOrg, audit.ReferralRevoked, ref.ReportID, "referral="+ref.ID+" reason=survivor")
}

func (s *Service) audit(ctx context.Context, orgID string, act audit.Action, reportID, detail string) error {
	if s.Audit == nil {
		return nil
	}
	return s.Audit.Record(ctx, audit.Event{Actor: audit.ActorSurvivor, OrgID: orgID, Action: act, ReportID: reportID, Detail: detail})
}
