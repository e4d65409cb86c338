package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The end of a report's life (SPEC §3 rule 6, §5.5). Withdrawal by the
// survivor and purge by retention destroy a report's content by the same
// path, destroyTx: every sealed field, message, note, attachment, identifier
// row, every wrap of its data key (organisation and receipt) and its
// sessions, in one transaction. Without a wrap the data key is gone, so
// a copy of the ciphertext left in an old backup is unreadable
// (crypto-shredding). The report row stays, for anonymous counts, with only
// the coarse clear fields the survivor agreed could be counted.

// StatusPurged is the status of a report whose content retention destroyed.
const StatusPurged = "purged"

// Destroyed reports whether the report's content is gone: withdrawn by the
// survivor or purged by retention.
func (r *Report) Destroyed() bool { return r.Withdrawn || !r.PurgedAt.IsZero() }

// contentTables hold a report's sealed content and key material: a row in
// any of them is deleted when the report is withdrawn or purged. A new
// table holding either names itself here (TestContentTablesComplete checks
// that every table with a report_id column is here or in keptTables).
var contentTables = []string{"report_fields", "attachments", "messages", "notes", "identifiers", "report_wraps", "receipts", "survivor_sessions", "nudges"}

// keptTables refer to reports but hold no content of theirs, or handle it
// themselves in destroyTx: referrals keep their state for the statistics of
// referral outcomes, with their sealed justification cleared; the audit log
// is append-only and never holds content. submit_tokens holds a keyed hash
// of a spent form token for its three hours: a form sent again after the
// report was withdrawn must still be recognised as spent, or it would store
// the withdrawn report anew and show its sender a receipt.
var keptTables = []string{"referrals", "audit_log", "submit_tokens"}

// ending says how a report's content came to be destroyed.
type ending struct {
	status string // the report's new status
	column string // the timestamp column set to the moment
	// copies: the copies that referrals gave other organisations go too.
	// The survivor's withdrawal reaches everywhere their words went;
	// retention of one organisation's case leaves another's alone (each
	// copy has its own retention clock).
	copies bool
	// revoke lists the referral states that become revoked, with reason.
	revoke []string
	reason string
}

var (
	endWithdrawn = ending{status: StatusWithdrawn, column: "withdrawn_at", copies: true,
		revoke: []string{ReferralAwaitingConsent, ReferralSent, ReferralAccepted}, reason: "withdrawn"}
	// A purged case is closed and long quiet, or was never opened: an
	// accepted referral is the receiving organisation's ongoing work on
	// its own copy, and stays.
	endPurged = ending{status: StatusPurged, column: "purged_at",
		revoke: []string{ReferralAwaitingConsent, ReferralSent}, reason: "purged"}
)

// destroyTx destroys a report's content inside tx; see the top of this file.
// It returns ErrNotFound if the report does not exist or its content is
// already gone.
func destroyTx(ctx context.Context, tx *sql.Tx, reportID string, now time.Time, end ending) error {
	var stats bool
	err := tx.QueryRowContext(ctx, `SELECT consent_stats FROM reports WHERE id = $1 AND withdrawn_at IS NULL AND purged_at IS NULL`, reportID).Scan(&stats)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if end.copies {
		copies, err := strs(ctx, tx, `SELECT referred_report_id FROM referrals WHERE report_id = $1 AND referred_report_id <> ''`, reportID)
		if err != nil {
			return err
		}
		for _, id := range copies {
			if err := destroyTx(ctx, tx, id, now, end); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
	// Referral states are a closed set of constants, not input.
	revoke := "'" + strings.Join(end.revoke, "', '") + "'"
	if _, err := tx.ExecContext(ctx, `UPDATE referrals SET sealed = NULL, summary = NULL, updated_at = $2,
		state = CASE WHEN state IN (`+revoke+`) THEN '`+ReferralRevoked+`' ELSE state END,
		reason = CASE WHEN state IN (`+revoke+`) THEN $3 ELSE reason END
		WHERE report_id = $1`, reportID, now.Unix(), end.reason); err != nil {
		return err
	}
	// A queued nudge's job carries the survivor's number, sealed: it goes
	// with the report, before the nudges that name it.
	if _, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE state IN ($2, $3) AND unique_key IN
		(SELECT $4 || id FROM nudges WHERE report_id = $1)`, reportID, JobPending, JobRunning, nudgeJobPrefix); err != nil {
		return err
	}
	// Its staff alerts that have not gone yet would be about nothing.
	if _, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE state = $2 AND unique_key IN ($3 || $1, $4 || $1)`,
		reportID, JobPending, JobReportNew+":", JobReportEscalated+":"); err != nil {
		return err
	}
	for _, table := range contentTables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE report_id = $1`, reportID); err != nil {
			return err
		}
	}
	// What stays: kind, channel, organisation, timestamps, status and
	// closing reason, and (only with consent to be counted) the categories,
	// age band, county, child flag and the caseworker's classification.
	q := `UPDATE reports SET status = $2, ` + end.column + ` = $3, updated_at = $3, about = '', when_last = '',
		danger_now = '', help_wanted = '', contact_pref = '', urgency = 0, assigned_to = ''`
	if !stats {
		q += `, categories = '', age_band = '', county = '', child_involved = false, gbv_type = '', context_flags = ''`
	}
	_, err = tx.ExecContext(ctx, q+` WHERE id = $1`, reportID, end.status, now.Unix())
	return err
}

// RetentionRules are a retention policy turned into moments, for one run.
// A zero time switches its rule off.
type RetentionRules struct {
	// ClosedQuietSince: a closed report nothing happened to since then (no
	// change of its case, message, note or referral) is purged.
	ClosedQuietSince time.Time
	// EscalateCreatedBefore: a report nobody opened, made before then, is
	// escalated.
	EscalateCreatedBefore time.Time
	// PurgeUnopenedCreatedBefore: a report nobody opened, made before
	// then, is purged …
	PurgeUnopenedCreatedBefore time.Time
	// … if it was escalated before PurgeUnopenedEscalatedBefore (zero:
	// escalation is not required), so that the network always had time
	// to act on the escalation.
	PurgeUnopenedEscalatedBefore time.Time
}

// Purge reasons, as stored in the audit log.
const (
	PurgeClosed   = "retention_closed"   // closed and quiet for the retention period
	PurgeUnopened = "retention_unopened" // nobody opened it within the period
)

// RetentionCandidate is a report a retention rule applies to now.
type RetentionCandidate struct {
	ReportID, CaseRef, OrgID, Kind, Status string
	Reason                                 string // PurgeClosed, PurgeUnopened, or "" for an escalation
	CreatedAt                              time.Time
	LastActivity                           time.Time // last change, message, note or referral step
	EscalatedAt                            time.Time // zero if never
}

// liveUnopened: a report nobody opened whose content still exists.
const liveUnopened = `opened_at IS NULL AND withdrawn_at IS NULL AND purged_at IS NULL`

// quietSince is true when no message, note or referral step touched the
// report at or after the moment in placeholder p. (Its own updated_at is
// compared separately, so that the partial index on it serves.)
func quietSince(p string) string {
	return `NOT EXISTS (SELECT 1 FROM messages m WHERE m.report_id = reports.id AND m.created_at >= ` + p + `)
		AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.report_id = reports.id AND n.created_at >= ` + p + `)
		AND NOT EXISTS (SELECT 1 FROM referrals f WHERE f.report_id = reports.id AND f.updated_at >= ` + p + `)`
}

// purgeCondition is the SQL condition (with its arguments, numbered from
// $base) under which reason applies, or "" if the rule is off.
func (r RetentionRules) purgeCondition(reason string, base int) (string, []any) {
	p := func(i int) string { return fmt.Sprintf("$%d", base+i) }
	switch reason {
	case PurgeClosed:
		if r.ClosedQuietSince.IsZero() {
			return "", nil
		}
		return `status = '` + StatusClosed + `' AND updated_at < ` + p(0) + ` AND ` + quietSince(p(0)), []any{r.ClosedQuietSince.Unix()}
	case PurgeUnopened:
		if r.PurgeUnopenedCreatedBefore.IsZero() {
			return "", nil
		}
		if r.PurgeUnopenedEscalatedBefore.IsZero() {
			return liveUnopened + ` AND created_at < ` + p(0), []any{r.PurgeUnopenedCreatedBefore.Unix()}
		}
		return liveUnopened + ` AND created_at < ` + p(0) + ` AND escalated_at IS NOT NULL AND escalated_at < ` + p(1),
			[]any{r.PurgeUnopenedCreatedBefore.Unix(), r.PurgeUnopenedEscalatedBefore.Unix()}
	}
	return "", nil
}

func (r RetentionRules) escalateCondition(base int) (string, []any) {
	if r.EscalateCreatedBefore.IsZero() {
		return "", nil
	}
	return liveUnopened + fmt.Sprintf(` AND escalated_at IS NULL AND created_at < $%d`, base), []any{r.EscalateCreatedBefore.Unix()}
}

const candidateColumns = `id, case_ref, org_id, kind, status, created_at, escalated_at,
	(SELECT max(m.created_at) FROM messages m WHERE m.report_id = reports.id),
	(SELECT max(n.created_at) FROM notes n WHERE n.report_id = reports.id),
	(SELECT max(f.updated_at) FROM referrals f WHERE f.report_id = reports.id),
	updated_at`

// DueForPurge lists up to limit reports that a purge rule applies to now,
// for one reason (PurgeClosed or PurgeUnopened), oldest first.
func (s *Store) DueForPurge(ctx context.Context, r RetentionRules, reason string, limit int) ([]RetentionCandidate, error) {
	cond, args := r.purgeCondition(reason, 2)
	if cond == "" {
		return nil, nil
	}
	order := "created_at"
	if reason == PurgeClosed {
		order = "updated_at"
	}
	return s.candidates(ctx, cond, order, reason, append([]any{limit}, args...))
}

// DueForEscalation lists up to limit reports nobody opened in the
// escalation period that are not escalated yet, oldest first.
func (s *Store) DueForEscalation(ctx context.Context, r RetentionRules, limit int) ([]RetentionCandidate, error) {
	cond, args := r.escalateCondition(2)
	if cond == "" {
		return nil, nil
	}
	return s.candidates(ctx, cond, "created_at", "", append([]any{limit}, args...))
}

func (s *Store) candidates(ctx context.Context, cond, order, reason string, args []any) ([]RetentionCandidate, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+candidateColumns+` FROM reports WHERE `+cond+` ORDER BY `+order+`, id LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: retention candidates: %w", err)
	}
	defer rows.Close()
	var out []RetentionCandidate
	for rows.Next() {
		c := RetentionCandidate{Reason: reason}
		var created, updated int64
		var escalated, msg, note, ref sql.NullInt64
		if err := rows.Scan(&c.ReportID, &c.CaseRef, &c.OrgID, &c.Kind, &c.Status, &created, &escalated, &msg, &note, &ref, &updated); err != nil {
			return nil, fmt.Errorf("store: retention candidates: %w", err)
		}
		last := updated
		for _, t := range []sql.NullInt64{msg, note, ref} {
			if t.Valid && t.Int64 > last {
				last = t.Int64
			}
		}
		c.CreatedAt, c.LastActivity = time.Unix(created, 0).UTC(), time.Unix(last, 0).UTC()
		if escalated.Valid {
			c.EscalatedAt = time.Unix(escalated.Int64, 0).UTC()
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PurgeReport destroys a report's content for retention, exactly as a
// withdrawal does, if the rule for reason still applies to it (a caseworker
// may have reopened it since it was listed), and appends rec to the audit
// log in the same transaction. It reports whether the report was purged.
func (s *Store) PurgeReport(ctx context.Context, reportID string, r RetentionRules, reason string, now time.Time, rec *PendingAudit) (bool, error) {
	cond, args := r.purgeCondition(reason, 2)
	if cond == "" {
		return false, fmt.Errorf("store: purge: rule %q is off", reason)
	}
	if rec == nil {
		return false, errors.New("store: purge needs its audit entry")
	}
	purged := false
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		purged = false
		// Lock the row, so that a caseworker's change waits for the purge
		// or the purge skips a row being changed (the next run sees it).
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM reports WHERE id = $1 AND `+cond+s.d.lockRows(), append([]any{reportID}, args...)...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := destroyTx(ctx, tx, reportID, now, endPurged); err != nil {
			return err
		}
		if err := s.appendAuditTx(ctx, tx, rec.Entry, rec.Sign); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		purged = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: purge: %w", err)
	}
	return purged, nil
}

// EscalateReport marks a report nobody opened as escalated, if the rule
// still applies to it, and appends rec to the audit log in the same
// transaction. It reports whether the report was escalated.
func (s *Store) EscalateReport(ctx context.Context, reportID string, r RetentionRules, now time.Time, rec *PendingAudit) (bool, error) {
	cond, args := r.escalateCondition(3)
	if cond == "" {
		return false, errors.New("store: escalate: the rule is off")
	}
	if rec == nil {
		return false, errors.New("store: escalation needs its audit entry")
	}
	escalated := false
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		escalated = false
		res, err := tx.ExecContext(ctx, `UPDATE reports SET escalated_at = $2 WHERE id = $1 AND `+cond, append([]any{reportID, now.Unix()}, args...)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		// The organisation's staff are alerted again (internal/notify).
		if _, err := enqueueJob(ctx, tx, NewJob{Kind: JobReportEscalated, Payload: reportEventPayload(reportID), RunAt: now,
			UniqueKey: JobReportEscalated + ":" + reportID}, now); err != nil {
			return err
		}
		if err := s.appendAuditTx(ctx, tx, rec.Entry, rec.Sign); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		escalated = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: escalate: %w", err)
	}
	return escalated, nil
}

// WithdrawAudited is Withdraw with its audit entry (audit.Log.Prepare)
// appended in the same transaction, so that the withdrawal and its record
// commit together or not at all.
func (s *Store) WithdrawAudited(ctx context.Context, reportID string, now time.Time, rec *PendingAudit) error {
	if rec == nil {
		return errors.New("store: withdrawal needs its audit entry")
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := withdrawTx(ctx, tx, reportID, now); err != nil {
			return err
		}
		return s.appendAuditTx(ctx, tx, rec.Entry, rec.Sign)
	})
	if err != nil {
		return err
	}
	_ = s.Checkpoint(ctx) // as in Withdraw
	return nil
}
