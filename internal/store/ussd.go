package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ErrConflict means a USSD session's state changed between reading it and
// writing it back: another request of the same session (a gateway retry,
// another instance) got there first.
var ErrConflict = errors.New("store: session changed meanwhile")

// USSD sessions live for minutes, under a keyed hash of the gateway's
// session id. The state is the ussd package's JSON: the menu position and
// the structured answers so far, never a receipt, a phone number or anything
// typed in free text (those are read again from the gateway's request each
// time). A row past its expiry reads as missing and is deleted by
// DeleteExpiredUSSDSessions.

// USSDSession returns the state of a live session, or ErrNotFound when there
// is none or it expired before now.
func (s *Store) USSDSession(ctx context.Context, idHash []byte, now time.Time) (string, error) {
	var state string
	err := s.r.QueryRowContext(ctx, `SELECT state FROM ussd_sessions WHERE id_hash = $1 AND expires_at > $2`, idHash, now.Unix()).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return state, err
}

// PutUSSDSession replaces a session's state old with state, valid until
// expires. An empty old creates the session (replacing an expired row of the
// same hash). It returns ErrConflict when the stored state is no longer old,
// so two requests of one session never both move it on.
func (s *Store) PutUSSDSession(ctx context.Context, idHash []byte, old, state string, now, expires time.Time) error {
	var (
		res sql.Result
		err error
	)
	if old == "" {
		res, err = s.w.ExecContext(ctx, `INSERT INTO ussd_sessions (id_hash, state, updated_at, expires_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id_hash) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, expires_at = excluded.expires_at
			WHERE ussd_sessions.expires_at <= $3`, idHash, state, now.Unix(), expires.Unix())
	} else {
		res, err = s.w.ExecContext(ctx, `UPDATE ussd_sessions SET state = $3, updated_at = $4, expires_at = $5
			WHERE id_hash = $1 AND state = $2 AND expires_at > $4`, idHash, old, state, now.Unix(), expires.Unix())
	}
	if err := oneRow(res, err); err != ErrNotFound {
		return err
	}
	return ErrConflict // no row: the stored state is no longer old
}

// DeleteUSSDSession forgets a session.
func (s *Store) DeleteUSSDSession(ctx context.Context, idHash []byte) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM ussd_sessions WHERE id_hash = $1`, idHash)
	return err
}

// DeleteExpiredUSSDSessions removes every session that expired at or before
// now, and returns how many.
func (s *Store) DeleteExpiredUSSDSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM ussd_sessions WHERE expires_at <= $1`, now.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
