package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// LoginBackoff is the failed-login count of one typed username (see
// migration 0011): how many failures in a row, and when the last one was.
type LoginBackoff struct {
	Failures    int
	LastFailure time.Time
}

// LoginBackoff returns the count kept under keyHash; a zero LoginBackoff when
// there is none.
func (s *Store) LoginBackoff(ctx context.Context, keyHash []byte) (LoginBackoff, error) {
	var b LoginBackoff
	var last int64
	err := s.r.QueryRowContext(ctx, `SELECT failures, last_failure FROM login_backoff WHERE key_hash = $1`, keyHash).Scan(&b.Failures, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return LoginBackoff{}, nil
	}
	if err != nil {
		return LoginBackoff{}, err
	}
	b.LastFailure = time.Unix(last, 0).UTC()
	return b, nil
}

// RecordLoginFailure counts one more failure under keyHash at now and returns
// the count. A count whose last failure is before forgetBefore starts again
// at one. The increment is one statement, so guesses sent at once to any
// number of instances are each counted.
func (s *Store) RecordLoginFailure(ctx context.Context, keyHash []byte, now, forgetBefore time.Time) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `INSERT INTO login_backoff (key_hash, failures, last_failure) VALUES ($1, 1, $2)
		ON CONFLICT (key_hash) DO UPDATE SET
			failures = CASE WHEN login_backoff.last_failure < $3 THEN 1 ELSE login_backoff.failures + 1 END,
			last_failure = excluded.last_failure
		RETURNING failures`, keyHash, now.Unix(), forgetBefore.Unix()).Scan(&n)
	return n, err
}

// ClearLoginBackoff forgets the failures under keyHash (a good login, an
// admin's unlock). It reports whether there were any.
func (s *Store) ClearLoginBackoff(ctx context.Context, keyHash []byte) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM login_backoff WHERE key_hash = $1`, keyHash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteStaleLoginBackoff forgets counts whose last failure is before t.
func (s *Store) DeleteStaleLoginBackoff(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM login_backoff WHERE last_failure < $1`, t.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
