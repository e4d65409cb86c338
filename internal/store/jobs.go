package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The jobs table is a durable queue (see migrations/*/0006_jobs.sql). This
// file is its SQL; internal/jobs runs it. A claim leases one row under a
// random token; every later change to the row names the token, so a worker
// that lost its lease changes nothing.

// Job states as stored.
const (
	JobPending = "pending"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is one row of the jobs table.
type Job struct {
	ID         string
	Kind       string
	UniqueKey  string // "" when none
	Payload    []byte
	State      string
	RunAt      time.Time
	Every      time.Duration // > 0 for a periodic job
	Attempts   int           // claims so far, including the current one
	LeasedBy   string        // the current claim's token
	LeaseUntil time.Time
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewJob is a job to enqueue.
type NewJob struct {
	Kind      string
	Payload   []byte // stored as text: must be valid UTF-8 (JSON, say)
	RunAt     time.Time
	UniqueKey string // "" for none; otherwise a second job with the key is not added
}

// ErrLeaseLost means a claimed job's lease ran out and another worker took
// it, or the job is gone: the caller must stop working on it.
var ErrLeaseLost = errors.New("store: job lease lost")

// maxJobError bounds the stored text of a job's last error.
const maxJobError = 500

const jobColumns = `id, kind, unique_key, payload, state, run_at, every_secs, attempts, leased_by, lease_until, last_error, created_at, updated_at`

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// EnqueueJob adds a job. It reports false, and changes nothing, when a job
// with the same unique key already exists (whatever its state).
func (s *Store) EnqueueJob(ctx context.Context, j NewJob, now time.Time) (bool, error) {
	return enqueueJob(ctx, s.w, j, now)
}

// EnqueueJobTx is EnqueueJob inside a transaction, so that a job is queued
// if and only if the change that calls for it commits.
func EnqueueJobTx(ctx context.Context, tx *sql.Tx, j NewJob, now time.Time) (bool, error) {
	return enqueueJob(ctx, tx, j, now)
}

func enqueueJob(ctx context.Context, db execer, j NewJob, now time.Time) (bool, error) {
	if j.Kind == "" {
		return false, errors.New("store: job without a kind")
	}
	if !utf8.Valid(j.Payload) {
		return false, errors.New("store: job payload must be valid UTF-8")
	}
	var key any
	if j.UniqueKey != "" {
		key = j.UniqueKey
	}
	res, err := db.ExecContext(ctx, `INSERT INTO jobs (id, kind, unique_key, payload, state, run_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (unique_key) DO NOTHING`,
		newJobID(), j.Kind, key, string(j.Payload), JobPending, j.RunAt.Unix(), now.Unix())
	if err != nil {
		return false, fmt.Errorf("store: enqueue job: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: enqueue job: %w", err)
	}
	return n == 1, nil
}

// PeriodicJobKey is the unique key of the one row that schedules a periodic
// job of the given kind.
func PeriodicJobKey(kind string) string { return "every:" + kind }

// EnsurePeriodicJob makes sure one periodic job of kind exists, due every
// interval. A new one is due at once. An existing one keeps its schedule,
// except that it is brought forward to now+every if the interval was
// shortened, and a periodic job that had been given up (failed) is revived.
// Every instance calls this at start; the unique key keeps one row.
func (s *Store) EnsurePeriodicJob(ctx context.Context, kind string, every time.Duration, now time.Time) error {
	secs := int64(every / time.Second)
	if kind == "" || secs < 1 {
		return errors.New("store: a periodic job needs a kind and an interval of at least a second")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO jobs (id, kind, unique_key, state, run_at, every_secs, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $5, $5)
		ON CONFLICT (unique_key) DO UPDATE SET
			every_secs = excluded.every_secs,
			state = CASE WHEN jobs.state = $7 THEN jobs.state ELSE $4 END,
			run_at = CASE WHEN jobs.state = $7 OR jobs.run_at <= $8 THEN jobs.run_at ELSE $8 END,
			updated_at = excluded.updated_at`,
		newJobID(), kind, PeriodicJobKey(kind), JobPending, now.Unix(), secs, JobRunning, now.Unix()+secs)
	if err != nil {
		return fmt.Errorf("store: ensure periodic job %s: %w", kind, err)
	}
	return nil
}

// ClaimJob leases the job of one of kinds that has waited longest: a pending
// job that is due, or a running one whose lease ran out (its worker died).
// The lease lasts until now+lease and counts an attempt. It returns nil, nil
// when nothing is due.
//
// On PostgreSQL, FOR UPDATE SKIP LOCKED lets instances claim side by side
// without ever taking the same row; on SQLite the single writer serialises
// claims (and BEGIN IMMEDIATE other processes on the same file).
func (s *Store) ClaimJob(ctx context.Context, worker string, kinds []string, now time.Time, lease time.Duration) (*Job, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	args := []any{JobPending, JobRunning, now.Unix()}
	in := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		in[i] = fmt.Sprintf("$%d", len(args))
	}
	token := worker + "/" + newJobID()[:12]
	var j *Job
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		j = nil
		row := tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
			WHERE kind IN (`+strings.Join(in, ", ")+`)
			AND ((state = $1 AND run_at <= $3) OR (state = $2 AND lease_until <= $3))
			ORDER BY run_at, id LIMIT 1`+s.d.lockRows(), args...)
		c, err := scanJob(row)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		c.State, c.Attempts, c.LeasedBy, c.LeaseUntil = JobRunning, c.Attempts+1, token, now.Add(lease)
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = $2, attempts = $3, leased_by = $4, lease_until = $5, updated_at = $6 WHERE id = $1`,
			c.ID, c.State, c.Attempts, c.LeasedBy, c.LeaseUntil.Unix(), now.Unix()); err != nil {
			return err
		}
		j = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim job: %w", err)
	}
	return j, nil
}

// ExtendJobLease moves the lease of a claimed job to until. It returns
// ErrLeaseLost if the claim is no longer the job's.
func (s *Store) ExtendJobLease(ctx context.Context, j *Job, until, now time.Time) error {
	err := s.updateClaimed(ctx, j, `lease_until = $3, updated_at = $4`, until.Unix(), now.Unix())
	if err == nil {
		j.LeaseUntil = until
	}
	return err
}

// FinishJob records that a claimed job succeeded: a one-off job is done, a
// periodic one is due again one interval from now, with its attempts reset.
// A one-off job's payload is erased: it is not needed any more, and may
// hold a sealed phone number or address that should not wait in the
// database, or in backups, for the row to be deleted.
func (s *Store) FinishJob(ctx context.Context, j *Job, now time.Time) error {
	return s.updateClaimed(ctx, j, `state = CASE WHEN every_secs > 0 THEN $3 ELSE $4 END,
		run_at = CASE WHEN every_secs > 0 THEN $5 + every_secs ELSE run_at END,
		payload = CASE WHEN every_secs > 0 THEN payload ELSE '' END,
		attempts = CASE WHEN every_secs > 0 THEN 0 ELSE attempts END,
		leased_by = '', lease_until = 0, last_error = '', updated_at = $5`,
		JobPending, JobDone, now.Unix())
}

// RetryJob records that a claimed job failed and should run again at runAt.
func (s *Store) RetryJob(ctx context.Context, j *Job, errText string, runAt, now time.Time) error {
	return s.updateClaimed(ctx, j, `state = $3, run_at = $4, leased_by = '', lease_until = 0, last_error = $5, updated_at = $6`,
		JobPending, runAt.Unix(), clipError(errText), now.Unix())
}

// FailJob records that a claimed job failed for good: it stays in the table,
// state failed, for an operator to see, and is never claimed again. Its
// payload is erased, as FinishJob does.
func (s *Store) FailJob(ctx context.Context, j *Job, errText string, now time.Time) error {
	return s.updateClaimed(ctx, j, `state = $3, payload = '', leased_by = '', lease_until = 0, last_error = $4, updated_at = $5`,
		JobFailed, clipError(errText), now.Unix())
}

// ReleaseJob hands a claimed job back without counting the attempt, due at
// once: its worker is shutting down.
func (s *Store) ReleaseJob(ctx context.Context, j *Job, now time.Time) error {
	return s.updateClaimed(ctx, j, `state = $3, run_at = $4, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
		leased_by = '', lease_until = 0, updated_at = $4`, JobPending, now.Unix())
}

// updateClaimed sets the columns in set ($3 on are args) on a job still held
// under j's claim.
func (s *Store) updateClaimed(ctx context.Context, j *Job, set string, args ...any) error {
	res, err := s.w.ExecContext(ctx, `UPDATE jobs SET `+set+` WHERE id = $1 AND leased_by = $2 AND state = '`+JobRunning+`'`,
		append([]any{j.ID, j.LeasedBy}, args...)...)
	if err != nil {
		return fmt.Errorf("store: update job: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: update job: %w", err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// NextJobAt returns when the next job of one of kinds becomes claimable:
// the earliest due pending job or expiring lease. ok is false when there is
// none. It only reads, so a worker can poll it without taking the writer.
func (s *Store) NextJobAt(ctx context.Context, kinds []string) (at time.Time, ok bool, err error) {
	if len(kinds) == 0 {
		return time.Time{}, false, nil
	}
	args := []any{JobPending, JobRunning}
	in := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		in[i] = fmt.Sprintf("$%d", len(args))
	}
	kindIn := `kind IN (` + strings.Join(in, ", ") + `)`
	var pending, leased sql.NullInt64
	err = s.r.QueryRowContext(ctx, `SELECT
		(SELECT min(run_at) FROM jobs WHERE state = $1 AND `+kindIn+`),
		(SELECT min(lease_until) FROM jobs WHERE state = $2 AND `+kindIn+`)`, args...).Scan(&pending, &leased)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: next job: %w", err)
	}
	switch {
	case pending.Valid && leased.Valid:
		return time.Unix(min(pending.Int64, leased.Int64), 0), true, nil
	case pending.Valid:
		return time.Unix(pending.Int64, 0), true, nil
	case leased.Valid:
		return time.Unix(leased.Int64, 0), true, nil
	}
	return time.Time{}, false, nil
}

// JobByID returns one job.
func (s *Store) JobByID(ctx context.Context, id string) (*Job, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return j, err
}

// JobByKey returns the job with a unique key.
func (s *Store) JobByKey(ctx context.Context, key string) (*Job, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE unique_key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return j, err
}

// Jobs lists jobs in a state ("" for all), oldest due first, up to limit.
func (s *Store) Jobs(ctx context.Context, state string, limit int) ([]Job, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE $1 = '' OR state = $1 ORDER BY run_at, id LIMIT $2`, state, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list jobs: %w", err)
		}
		out = append(out, *j)
	}
	return out, rows.Err()
}

// DeleteFinishedJobs forgets one-off jobs done before doneBefore and failed
// jobs given up before failedBefore. A done job is kept a while so that its
// unique key still refuses a duplicate (a retried notification, say).
func (s *Store) DeleteFinishedJobs(ctx context.Context, doneBefore, failedBefore time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM jobs WHERE every_secs = 0 AND ((state = $1 AND updated_at < $2) OR (state = $3 AND updated_at < $4))`,
		JobDone, doneBefore.Unix(), JobFailed, failedBefore.Unix())
	if err != nil {
		return 0, fmt.Errorf("store: delete finished jobs: %w", err)
	}
	return res.RowsAffected()
}

func scanJob(row scanner) (*Job, error) {
	var j Job
	var key sql.NullString
	var payload string
	var runAt, every, leaseUntil, created, updated int64
	if err := row.Scan(&j.ID, &j.Kind, &key, &payload, &j.State, &runAt, &every, &j.Attempts, &j.LeasedBy, &leaseUntil, &j.LastError, &created, &updated); err != nil {
		return nil, err
	}
	j.UniqueKey, j.Payload = key.String, []byte(payload)
	j.RunAt, j.Every = time.Unix(runAt, 0).UTC(), time.Duration(every)*time.Second
	j.LeaseUntil = time.Unix(leaseUntil, 0).UTC()
	j.CreatedAt, j.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return &j, nil
}

func clipError(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxJobError {
		return s
	}
	cut := maxJobError
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func newJobID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("store: reading randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}
