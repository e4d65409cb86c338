package reporting

import (
	"context"
	"errors"
	"slices"

	"github.com/salama-ke/salama/internal/audit"
	"github.com/salama-ke/salama/internal/directory"
	"github.com/salama-ke/salama/internal/referral"
	"github.com/salama-ke/salama/internal/store"
)

// ErrReferralGone means the referral is not the survivor's, or has moved on
// (someone else acted first).
var ErrReferralGone = errors.New("reporting: referral not open")

// SurvivorReferral is a referral as the survivor sees it on the check page:
// every step, what is shared, and, for the child-protection override, the
// reason written down.
type SurvivorReferral struct {
	ID            string
	Service       directory.Service
	OrgName       string
	State         string
	Fields        []string
	Consent       string
	Reason        string
	Justification string
	CanAnswer     bool // waiting for the survivor's yes or no
	CanStop       bool
}

// Referrals lists the survivor's report's referrals.
func (s *Service) Referrals(ctx context.Context, c *CheckSession) ([]SurvivorReferral, error) {
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
			CanAnswer: ref.State == store.ReferralAwaitingConsent, CanStop: slices.Contains(referral.OpenStates, ref.State)}
		for _, sv := range svcs {
			if sv.ID == ref.ServiceID {
				sr.Service = sv
			}
		}
		for _, o := range orgs {
			if o.ID == sr.Service.OrgID {
				sr.OrgName = o.Name
			}
		}
		if ref.Sealed != nil {
			b, err := c.dk.Open(c.ReportID, "referral:"+ref.ID, ref.Sealed)
			if err != nil {
				return nil, err
			}
			sr.Justification = string(b)
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
// yes sends it: a member organisation receives a sealed copy with only the
// fields the request named.
func (s *Service) AnswerReferral(ctx context.Context, c *CheckSession, id string, agree bool) error {
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
		next.State, next.Consent = store.ReferralSent, referral.ConsentSurvivor
		act, detail = audit.ReferralSent, "referral="+ref.ID+" consent=yes"
		if ref.ToOrg != "" {
			r, err := s.Store.Report(ctx, c.ReportID)
			if err != nil {
				return err
			}
			to, err := s.Store.Organisation(ctx, ref.ToOrg)
			if err != nil {
				return err
			}
			if copy, err = referral.Copy(ctx, s.Store, c.dk, r, ref.Fields, to, next.UpdatedAt); err != nil {
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

// StopReferral lets the survivor revoke a referral at any open step; the
// receiving organisation's copy is destroyed at once.
func (s *Service) StopReferral(ctx context.Context, c *CheckSession, id string) error {
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
