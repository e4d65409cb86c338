package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ExportPage returns up to limit of an organisation's reports received in
// [from, to) (a zero bound is open), oldest first after the report (created,
// id) = after, for a case export. Withdrawn and purged reports are never
// returned: their content is gone, and an export must not resurrect even
// their clear fields.
func (s *Store) ExportPage(ctx context.Context, orgID string, from, to time.Time, afterCreated time.Time, afterID string, limit int) ([]Report, error) {
	lo := from.Unix()
	if from.IsZero() {
		lo = 0
	}
	hi := to.Unix()
	if to.IsZero() {
		hi = 1 << 62
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+reportColumns+` FROM reports
		WHERE org_id = $1 AND withdrawn_at IS NULL AND purged_at IS NULL AND status <> $2
		AND created_at >= $3 AND created_at < $4 AND (created_at, id) > ($5, $6)
		ORDER BY created_at, id LIMIT $7`,
		orgID, StatusWithdrawn, lo, hi, afterCreated.Unix(), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: export page: %w", err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// AppendAuditBatch appends entries to the audit log in order, in one write
// transaction: all of them or none. A case export records each report whose
// sealed content it opened, and itself, this way.
func (s *Store) AppendAuditBatch(ctx context.Context, entries []*PendingAudit) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		for _, e := range entries {
			if err := s.appendAuditTx(ctx, tx, e.Entry, e.Sign); err != nil {
				return fmt.Errorf("store: append audit entry: %w", err)
			}
		}
		return nil
	})
}

// ReferralsOf lists every referral an organisation made or received, for a
// case export: one query instead of one per report.
func (s *Store) ReferralsOf(ctx context.Context, orgID string) ([]Referral, error) {
	return collect(ctx, s.r, scanReferral, `SELECT `+referralColumns+` FROM referrals WHERE from_org = $1 OR to_org = $1 ORDER BY created_at, id`, orgID)
}
