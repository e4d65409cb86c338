package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// What the database keeps about the deployment's keys (internal/keys owns
// the meaning): fingerprints to check the keys against at start, and the
// earlier generations of the network secret, sealed under the current one.
// A key change rewrites them, the blind index and the audit log together,
// in one transaction.

// ErrKeysChanged means a key change found the database's keys other than
// expected: another rotation got there first, or the wrong database.
var ErrKeysChanged = errors.New("store: the database's keys changed meanwhile")

// KeyChange is a change of a deployment key.
type KeyChange struct {
	// Expect: settings that must hold exactly these values first; a nil
	// value means the setting must be absent.
	Expect map[string][]byte
	// Set: settings to write; a nil value deletes the setting.
	Set map[string][]byte
	// RekeyBlind, if not nil, replaces every stored blind index b (tables
	// identifiers and sms_stops) with RekeyBlind(b).
	RekeyBlind func([]byte) []byte
	// Audit is the entry that records the change.
	Audit *PendingAudit
}

// ChangeKeys applies c in one write transaction and returns how many blind
// index rows it re-keyed. It returns ErrKeysChanged if an expected setting
// differs. Every row of the blind index is read into memory first (a
// statement cannot stay open beside the updates on one connection); the
// table holds one short row per identifier a consenting report or a tip
// named.
func (s *Store) ChangeKeys(ctx context.Context, c KeyChange) (int, error) {
	var n int
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		for key, want := range c.Expect {
			var have []byte
			err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&have)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if want != nil {
					return fmt.Errorf("%w: %s is not set", ErrKeysChanged, key)
				}
			case err != nil:
				return err
			case want == nil || !bytes.Equal(have, want):
				return fmt.Errorf("%w: %s", ErrKeysChanged, key)
			}
		}
		if c.RekeyBlind != nil {
			type row struct {
				report, kind string
				blind        []byte
			}
			var all []row
			rows, err := tx.QueryContext(ctx, `SELECT report_id, kind, blind FROM identifiers`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.report, &r.kind, &r.blind); err != nil {
					rows.Close()
					return err
				}
				all = append(all, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, r := range all {
				if _, err := tx.ExecContext(ctx, `UPDATE identifiers SET blind = $4 WHERE report_id = $1 AND kind = $2 AND blind = $3`,
					r.report, r.kind, r.blind, c.RekeyBlind(r.blind)); err != nil {
					return fmt.Errorf("re-key the blind index: %w", err)
				}
			}
			n = len(all)
			// The numbers that texted STOP are kept by the same blind
			// index, so they are re-keyed with it: a rotation must not
			// start nudging them again.
			var stops [][]byte
			rows, err = tx.QueryContext(ctx, `SELECT phone_hash FROM sms_stops`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var h []byte
				if err := rows.Scan(&h); err != nil {
					rows.Close()
					return err
				}
				stops = append(stops, h)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, h := range stops {
				if _, err := tx.ExecContext(ctx, `UPDATE sms_stops SET phone_hash = $2 WHERE phone_hash = $1`, h, c.RekeyBlind(h)); err != nil {
					return fmt.Errorf("re-key the SMS stops: %w", err)
				}
			}
		}
		for key, v := range c.Set {
			var err error
			if v == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, key)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
					ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, v)
			}
			if err != nil {
				return fmt.Errorf("setting %s: %w", key, err)
			}
		}
		if c.Audit != nil {
			return s.appendAuditTx(ctx, tx, c.Audit.Entry, c.Audit.Sign)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: change keys: %w", err)
	}
	return n, nil
}

// HasReports reports whether any report (or tip) was ever stored,
// withdrawn and purged ones included.
func (s *Store) HasReports(ctx context.Context) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM reports LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return true, nil
}

// JobsNotDone counts the jobs of the given kinds that have not finished
// successfully: pending, running, or failed for good.
func (s *Store) JobsNotDone(ctx context.Context, kinds []string) (int, error) {
	if len(kinds) == 0 {
		return 0, nil
	}
	args := []any{JobDone}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE state <> $1 AND kind IN (`+strings.Join(marks, ", ")+`)`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count jobs: %w", err)
	}
	return n, nil
}
