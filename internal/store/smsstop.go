package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// StopSMSTx records that the number whose blind index is phoneHash asked
// for no more SMS. It reports whether the number was not stopped before.
func StopSMSTx(ctx context.Context, tx *sql.Tx, phoneHash []byte, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO sms_stops (phone_hash, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, phoneHash, now.Unix())
	if err != nil {
		return false, fmt.Errorf("store: sms stop: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: sms stop: %w", err)
	}
	return n == 1, nil
}

// StartSMSTx undoes StopSMSTx. It reports whether the number was stopped.
func StartSMSTx(ctx context.Context, tx *sql.Tx, phoneHash []byte) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sms_stops WHERE phone_hash = $1`, phoneHash)
	if err != nil {
		return false, fmt.Errorf("store: sms start: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: sms start: %w", err)
	}
	return n == 1, nil
}

// SMSStopped reports whether the number whose blind index is phoneHash
// asked for no more SMS.
func (s *Store) SMSStopped(ctx context.Context, phoneHash []byte) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM sms_stops WHERE phone_hash = $1`, phoneHash).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: sms stopped: %w", err)
	}
	return true, nil
}
