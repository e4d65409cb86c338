package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SurvivorSession is a receipt login. The database holds the report's data
// key sealed under a session key that exists only in the survivor's cookie:
// a dump of this table opens nothing.
type SurvivorSession struct {
	IDHash    []byte
	ReportID  string
	SealedKey []byte
	CreatedAt time.Time
	LastSeen  time.Time
}

// CreateSurvivorSession stores a new receipt login.
func (s *Store) CreateSurvivorSession(ctx context.Context, ss *SurvivorSession) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO survivor_sessions (id_hash, report_id, sealed_key, created_at, last_seen) VALUES ($1, $2, $3, $4, $5)`,
		ss.IDHash, ss.ReportID, ss.SealedKey, ss.CreatedAt.Unix(), ss.LastSeen.Unix())
	return err
}

// SurvivorSession reads a receipt login. It only reads: a database that
// takes no writes still serves it.
func (s *Store) SurvivorSession(ctx context.Context, idHash []byte) (*SurvivorSession, error) {
	ss := SurvivorSession{IDHash: idHash}
	var created, seen int64
	err := s.r.QueryRowContext(ctx, `SELECT report_id, sealed_key, created_at, last_seen FROM survivor_sessions WHERE id_hash = $1`, idHash).
		Scan(&ss.ReportID, &ss.SealedKey, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	ss.CreatedAt, ss.LastSeen = time.Unix(created, 0).UTC(), time.Unix(seen, 0).UTC()
	return &ss, nil
}

// TouchSurvivorSession marks a receipt login used now, which keeps it
// from ending as idle.
func (s *Store) TouchSurvivorSession(ctx context.Context, idHash []byte, now time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE survivor_sessions SET last_seen = $2 WHERE id_hash = $1`, idHash, now.Unix())
	return err
}

// DeleteSurvivorSession ends a receipt login.
func (s *Store) DeleteSurvivorSession(ctx context.Context, idHash []byte) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM survivor_sessions WHERE id_hash = $1`, idHash)
	return err
}

// DeleteIdleSurvivorSessions removes every session last used before t.
func (s *Store) DeleteIdleSurvivorSessions(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM survivor_sessions WHERE last_seen < $1`, t.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
