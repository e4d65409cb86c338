package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// The counts here are for the operator: the metrics endpoint and the
// console's health page (internal/health, internal/metrics). They are
// counts by fixed words (a channel, a state, a job kind), never anything
// a survivor wrote or an identifier.

// Count is one group's count.
type Count struct {
	Key string
	N   int64
}

// ReportsByChannel counts the reports held, by channel (web, ussd, sms).
func (s *Store) ReportsByChannel(ctx context.Context) ([]Count, error) {
	return s.counts(ctx, `SELECT channel, COUNT(*) FROM reports GROUP BY channel ORDER BY channel`)
}

// ReferralsByState counts the referrals, by state.
func (s *Store) ReferralsByState(ctx context.Context) ([]Count, error) {
	return s.counts(ctx, `SELECT state, COUNT(*) FROM referrals GROUP BY state ORDER BY state`)
}

func (s *Store) counts(ctx context.Context, q string) ([]Count, error) {
	rows, err := s.r.QueryContext(ctx, q)
	if err != nil {
		return nil, s.fault(fmt.Errorf("store: counts: %w", err))
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Key, &c.N); err != nil {
			return nil, s.fault(err)
		}
		out = append(out, c)
	}
	return out, s.fault(rows.Err())
}

// JobCount is how many jobs of one kind are in one state, when the most
// recent of them changed, and the earliest time one of them is due.
type JobCount struct {
	Kind, State string
	N           int64
	Latest      time.Time // the latest updated_at among them
	FirstDue    time.Time // the earliest run_at among them
}

// JobCounts counts the jobs by kind and state. Periodic jobs (retention,
// session expiry), which always wait for their next turn, are not counted
// as waiting: a queue of work is one-off jobs only.
func (s *Store) JobCounts(ctx context.Context) ([]JobCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, state, COUNT(*), MAX(updated_at), MIN(run_at) FROM jobs
		WHERE every_secs = 0 OR state <> 'pending' GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, s.fault(fmt.Errorf("store: job counts: %w", err))
	}
	defer rows.Close()
	var out []JobCount
	for rows.Next() {
		var c JobCount
		var latest, first int64
		if err := rows.Scan(&c.Kind, &c.State, &c.N, &latest, &first); err != nil {
			return nil, s.fault(err)
		}
		c.Latest, c.FirstDue = time.Unix(latest, 0), time.Unix(first, 0)
		out = append(out, c)
	}
	return out, s.fault(rows.Err())
}

// SetSetting stores value under key, replacing what was there. Most
// settings are written once (EnsureSetting); this is for the few that
// record an operational fact, such as when the last backup was taken.
func (s *Store) SetSetting(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set setting %q: %w", key, err)
	}
	return nil
}

// Errors counts the database faults this Store has met since it was
// opened: a transaction that could not begin or commit, an error from the
// database engine itself (not a constraint the caller expects, such as a
// duplicate), a lost connection, a failed ping. For the metrics: a rising
// count means the disk, the file or the database server is in trouble.
func (s *Store) Errors() int64 { return s.errs.Load() }

// fault counts err if it is a database fault, and returns it.
func (s *Store) fault(err error) error {
	if isFault(err) {
		s.errs.Add(1)
	}
	return err
}

// txFault is a transaction that could not begin or commit: a fault
// whatever the driver's error type.
type txFault struct{ error }

func (e txFault) Unwrap() error { return e.error }

func isFault(err error) bool {
	var tf txFault
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrNoRows) {
		return false
	}
	if IsUniqueViolation(err) || IsForeignKeyViolation(err) {
		return false
	}
	var pgErr *pgconn.PgError
	var sqErr *sqlite.Error
	var netErr net.Error
	return errors.As(err, &tf) || errors.As(err, &pgErr) || errors.As(err, &sqErr) || errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
