package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Nudge states as stored (see migrations/*/0009_outbox.sql).
const (
	NudgeQueued = "queued"
	NudgeSent   = "sent"
	NudgeFailed = "failed"
)

// Nudge is one SMS nudge: the neutral "you have a new message" text queued
// with a caseworker's message to a survivor who chose SMS contact. It holds
// neither the number nor the message; internal/sms sends it.
type Nudge struct {
	ID, ReportID, MessageID string
	State                   string
	NotBefore               time.Time // it may go from then (the quiet period)
	CreatedAt, UpdatedAt    time.Time
	SentAt                  time.Time // zero unless sent
	Failure                 string    // a short reason, when failed
}

// NudgeJobKey is the unique key of the job that sends nudge id: withdrawal
// finds the job of a queued nudge by it, to delete the sealed number with
// the rest of the report.
func NudgeJobKey(nudgeID string) string { return nudgeJobPrefix + nudgeID }

const nudgeJobPrefix = "sms.nudge:"

// LastNudgeSentTx returns when a nudge of the report last went out; zero if
// none did.
func LastNudgeSentTx(ctx context.Context, tx *sql.Tx, reportID string) (time.Time, error) {
	var at sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(sent_at) FROM nudges WHERE report_id = $1 AND state = $2`, reportID, NudgeSent).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("store: last nudge: %w", err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return time.Unix(at.Int64, 0).UTC(), nil
}

// InsertNudgeTx records a nudge, queued unless n.State says failed (a
// number that cannot be nudged). It reports false, and adds nothing, when a
// nudge of the same report is already queued: that one will tell the
// survivor about this message too.
func InsertNudgeTx(ctx context.Context, tx *sql.Tx, n *Nudge) (bool, error) {
	if n.State == "" {
		n.State = NudgeQueued
	}
	if n.State != NudgeQueued && n.State != NudgeFailed {
		return false, errors.New("store: a new nudge is queued or failed")
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO nudges (id, report_id, message_id, state, not_before, created_at, updated_at, failure)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT DO NOTHING`,
		n.ID, n.ReportID, n.MessageID, n.State, n.NotBefore.Unix(), n.CreatedAt.Unix(), n.Failure)
	if err != nil {
		return false, fmt.Errorf("store: queue nudge: %w", err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: queue nudge: %w", err)
	}
	return k == 1, nil
}

const nudgeColumns = `id, report_id, message_id, state, not_before, created_at, updated_at, sent_at, failure`

func scanNudge(row scanner) (*Nudge, error) {
	var n Nudge
	var notBefore, created, updated int64
	var sent sql.NullInt64
	if err := row.Scan(&n.ID, &n.ReportID, &n.MessageID, &n.State, &notBefore, &created, &updated, &sent, &n.Failure); err != nil {
		return nil, err
	}
	n.NotBefore, n.CreatedAt, n.UpdatedAt = time.Unix(notBefore, 0).UTC(), time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	if sent.Valid {
		n.SentAt = time.Unix(sent.Int64, 0).UTC()
	}
	return &n, nil
}

// Nudge returns one nudge; ErrNotFound if there is none (its report was
// withdrawn or purged since).
func (s *Store) Nudge(ctx context.Context, id string) (*Nudge, error) {
	n, err := scanNudge(s.r.QueryRowContext(ctx, `SELECT `+nudgeColumns+` FROM nudges WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: nudge: %w", err)
	}
	return n, nil
}

// Nudges lists a report's nudges, oldest first.
func (s *Store) Nudges(ctx context.Context, reportID string) ([]Nudge, error) {
	out, err := collect(ctx, s.r, scanNudge, `SELECT `+nudgeColumns+` FROM nudges WHERE report_id = $1 ORDER BY created_at, id`, reportID)
	if err != nil {
		return nil, fmt.Errorf("store: nudges: %w", err)
	}
	return out, nil
}

// NudgeSent records that a queued nudge went out. It reports false if the
// nudge was not queued any more (sent or failed already, or gone).
func (s *Store) NudgeSent(ctx context.Context, id string, now time.Time) (bool, error) {
	return s.settleNudge(ctx, id, NudgeSent, "", now)
}

// NudgeFailed records that a queued nudge was given up on, with a short
// reason code. It reports false if the nudge was not queued any more.
func (s *Store) NudgeFailed(ctx context.Context, id, reason string, now time.Time) (bool, error) {
	return s.settleNudge(ctx, id, NudgeFailed, clipError(reason), now)
}

func (s *Store) settleNudge(ctx context.Context, id, state, failure string, now time.Time) (bool, error) {
	var sent any
	if state == NudgeSent {
		sent = now.Unix()
	}
	res, err := s.w.ExecContext(ctx, `UPDATE nudges SET state = $2, failure = $3, sent_at = $4, updated_at = $5 WHERE id = $1 AND state = $6`,
		id, state, failure, sent, now.Unix(), NudgeQueued)
	if err != nil {
		return false, fmt.Errorf("store: settle nudge: %w", err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: settle nudge: %w", err)
	}
	return k == 1, nil
}

// MarkInboundSeenTx records the keyed hash of an inbound message's provider
// id until expires. It reports false when the id was seen before (and has
// not expired): the message was answered already.
func MarkInboundSeenTx(ctx context.Context, tx *sql.Tx, idHash []byte, now, expires time.Time) (bool, error) {
	// An expired row of the same id is replaced: the id was seen, but
	// longer ago than anyone retries.
	if _, err := tx.ExecContext(ctx, `DELETE FROM sms_inbound_seen WHERE id_hash = $1 AND expires_at <= $2`, idHash, now.Unix()); err != nil {
		return false, fmt.Errorf("store: inbound seen: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO sms_inbound_seen (id_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, idHash, expires.Unix())
	if err != nil {
		return false, fmt.Errorf("store: inbound seen: %w", err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: inbound seen: %w", err)
	}
	return k == 1, nil
}

// DeleteExpiredInboundSeen forgets inbound message ids whose time is up.
func (s *Store) DeleteExpiredInboundSeen(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sms_inbound_seen WHERE expires_at <= $1`, now.Unix())
	if err != nil {
		return 0, fmt.Errorf("store: expire inbound ids: %w", err)
	}
	return res.RowsAffected()
}
