package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Referral states (SPEC §4.4).
const (
	ReferralAwaitingConsent = "awaiting_consent"
	ReferralSent            = "sent"
	ReferralAccepted        = "accepted"
	ReferralDeclined        = "declined"
	ReferralCompleted       = "completed"
	ReferralRevoked         = "revoked"
)

// Referral is a request to pass part of a report to a service.
type Referral struct {
	ID             string
	ReportID       string
	FromOrg, ToOrg string // ToOrg is "" for a service that does not run Salama
	ServiceID      string
	// ServiceType is the kind of service the consent covers: the service's
	// type when the referral was proposed (named in the request the
	// survivor answers) or the kind she agreed to by phone. The referral
	// is sent only while the service is still of this kind.
	ServiceType      string
	State            string
	Fields           []string // the fields the survivor agreed to share
	Consent          string   // how consent was given: survivor, phone, at_submission, override
	CreatedBy        string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Reason           string // decline or revocation reason code, or the recorded outcome
	HandoffMethod    string // for a service outside Salama: how it was handed over
	ReferredReportID string // the receiving organisation's copy
	Sealed           []byte // the override's justification, sealed under the report's key
	// Summary is the edited copy of the narrative the caseworker chose to
	// share instead of the survivor's words, sealed under the report's
	// key (field SummaryField(ID)); nil when her words are shared, or
	// the narrative is not.
	Summary []byte
}

const referralColumns = `id, report_id, from_org, to_org, service_id, state, fields, consent, created_by, created_at, updated_at,
	reason, handoff_method, referred_report_id, sealed, service_type, summary`

func scanReferral(row scanner) (*Referral, error) {
	var r Referral
	var fields string
	var created, updated int64
	err := row.Scan(&r.ID, &r.ReportID, &r.FromOrg, &r.ToOrg, &r.ServiceID, &r.State, &fields, &r.Consent, &r.CreatedBy,
		&created, &updated, &r.Reason, &r.HandoffMethod, &r.ReferredReportID, &r.Sealed, &r.ServiceType, &r.Summary)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.Fields = splitList(fields)
	r.CreatedAt, r.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	if len(r.Sealed) == 0 {
		r.Sealed = nil
	}
	if len(r.Summary) == 0 {
		r.Summary = nil
	}
	return &r, nil
}

func insertReferral(ctx context.Context, tx *sql.Tx, r *Referral) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO referrals (`+referralColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
		r.ID, r.ReportID, r.FromOrg, r.ToOrg, r.ServiceID, r.State, joinList(r.Fields), r.Consent, r.CreatedBy,
		r.CreatedAt.Unix(), r.UpdatedAt.Unix(), r.Reason, r.HandoffMethod, r.ReferredReportID, r.Sealed, r.ServiceType, r.Summary)
	return err
}

// CreateReferral stores a new referral. When copy is not nil (a referral
// sent at once, with consent already given) the receiving organisation's
// copy is written in the same transaction.
func (s *Store) CreateReferral(ctx context.Context, r *Referral, copy *NewReport) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if copy != nil {
			if err := s.insertReport(ctx, tx, copy); err != nil {
				return err
			}
		}
		if err := insertReferral(ctx, tx, r); err != nil {
			return err
		}
		return markReferred(ctx, tx, r)
	})
}

// markReferred moves the original report to "referred" once a referral is
// sent, unless it is closed.
func markReferred(ctx context.Context, tx *sql.Tx, r *Referral) error {
	if r.State != ReferralSent {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE reports SET status = $2, updated_at = $3 WHERE id = $1 AND status IN ('new', 'in_review')`,
		r.ReportID, StatusReferred, r.UpdatedAt.Unix())
	return err
}

// Referral returns one referral.
func (s *Store) Referral(ctx context.Context, id string) (*Referral, error) {
	return scanReferral(s.r.QueryRowContext(ctx, `SELECT `+referralColumns+` FROM referrals WHERE id = $1`, id))
}

// ReferralByCopy returns the referral whose receiving organisation's copy is
// reportID.
func (s *Store) ReferralByCopy(ctx context.Context, reportID string) (*Referral, error) {
	return scanReferral(s.r.QueryRowContext(ctx, `SELECT `+referralColumns+` FROM referrals WHERE referred_report_id = $1`, reportID))
}

// Referrals lists a report's referrals, oldest first.
func (s *Store) Referrals(ctx context.Context, reportID string) ([]Referral, error) {
	return collect(ctx, s.r, scanReferral, `SELECT `+referralColumns+` FROM referrals WHERE report_id = $1 ORDER BY created_at, id`, reportID)
}

// ErrStale means the referral changed state since it was read: the caller's
// transition no longer applies.
var ErrStale = errors.New("store: referral changed meanwhile")

// UpdateReferral moves a referral from state from to r.State, saving the
// other mutable fields; when copy is not nil the receiving organisation's
// copy is created in the same transaction; when destroyCopy is set the
// existing copy is withdrawn (crypto-shredded) in it.
func (s *Store) UpdateReferral(ctx context.Context, r *Referral, from string, copy *NewReport, destroyCopy bool) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if copy != nil {
			if err := s.insertReport(ctx, tx, copy); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE referrals SET state = $3, fields = $4, consent = $5, updated_at = $6, reason = $7,
			handoff_method = $8, referred_report_id = $9, sealed = $10 WHERE id = $1 AND state = $2`,
			r.ID, from, r.State, joinList(r.Fields), r.Consent, r.UpdatedAt.Unix(), r.Reason, r.HandoffMethod, r.ReferredReportID, r.Sealed)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return ErrStale
		}
		if destroyCopy && r.ReferredReportID != "" {
			if err := withdrawTx(ctx, tx, r.ReferredReportID, r.UpdatedAt); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		return markReferred(ctx, tx, r)
	})
	if err == nil && destroyCopy {
		_ = s.Checkpoint(ctx)
	}
	return err
}
