package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ConsoleSession is a caseworker's login. The organisation key is sealed
// under a key that exists only in the caseworker's cookie.
type ConsoleSession struct {
	IDHash    []byte
	UserID    string
	SealedKey []byte
	KeyGen    int // the generation of the organisation key SealedKey holds
	CreatedAt time.Time
	LastSeen  time.Time
}

// CreateConsoleSession stores a login.
func (s *Store) CreateConsoleSession(ctx context.Context, cs *ConsoleSession) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, user_id, sealed_key, created_at, last_seen, key_gen) VALUES ($1, $2, $3, $4, $5, $6)`,
		cs.IDHash, cs.UserID, cs.SealedKey, cs.CreatedAt.Unix(), cs.LastSeen.Unix(), cs.KeyGen)
	return err
}

// ConsoleSessionValid returns the session if it was used after idleSince and
// created after createdSince, and marks it used at now. An expired session is
// deleted, and with it the sealed organisation key.
func (s *Store) ConsoleSessionValid(ctx context.Context, idHash []byte, idleSince, createdSince, now time.Time) (*ConsoleSession, error) {
	cs := ConsoleSession{IDHash: idHash}
	var created, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT user_id, sealed_key, created_at, last_seen, key_gen FROM console_sessions WHERE id_hash = $1`, idHash).
		Scan(&cs.UserID, &cs.SealedKey, &created, &seen, &cs.KeyGen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if seen < idleSince.Unix() || created < createdSince.Unix() {
		_ = s.DeleteConsoleSession(ctx, idHash)
		return nil, ErrNotFound
	}
	if now.Unix() > seen {
		if _, err := s.w.ExecContext(ctx, `UPDATE console_sessions SET last_seen = $2 WHERE id_hash = $1`, idHash, now.Unix()); err != nil {
			return nil, err
		}
	}
	cs.CreatedAt, cs.LastSeen = time.Unix(created, 0).UTC(), now
	return &cs, nil
}

// DeleteConsoleSession ends a login.
func (s *Store) DeleteConsoleSession(ctx context.Context, idHash []byte) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash)
	return err
}

// DeleteExpiredConsoleSessions removes logins idle since idleSince or
// created before createdSince.
func (s *Store) DeleteExpiredConsoleSessions(ctx context.Context, idleSince, createdSince time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE last_seen < $1 OR created_at < $2`, idleSince.Unix(), createdSince.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
