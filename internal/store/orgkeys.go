package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"
)

// ErrOrgKeyChanged means an organisation's key pair was replaced (a key
// rotation) after the caller read it, or the members it wrapped a new key
// for changed: read again and redo the work.
var ErrOrgKeyChanged = errors.New("store: the organisation's key changed meanwhile")

// orgKeyTx reads an organisation's current public key and key generation
// inside tx and keeps a rotation from replacing them until tx ends
// (PostgreSQL: a share lock on the row, which a rotation's update waits for;
// SQLite's single writer serialises the two already). A report or a member
// written in tx is then wrapped to the generation that is current when it
// commits.
func (s *Store) orgKeyTx(ctx context.Context, tx *sql.Tx, orgID string) (pub string, gen int, err error) {
	err = tx.QueryRowContext(ctx, `SELECT public_key, key_gen FROM organisations WHERE id = $1`+s.d.shareRow(), orgID).Scan(&pub, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, ErrNotFound
	}
	return pub, gen, err
}

// OrgKeyRotation replaces an organisation's key pair (RotateOrgKey). The
// caller made the new key pair and every wrap; the store writes them in one
// transaction.
type OrgKeyRotation struct {
	OrgID   string
	FromGen int // the generation retired; it must be the current one
	// NewPublicKey is the new generation's public key (age).
	NewPublicKey string
	// Chain is the retired private key wrapped to the new public key.
	Chain []byte
	// JobSealed is the retired private key sealed for the re-wrap job.
	JobSealed []byte
	// Copies maps every member who keeps access (not disabled, not Disable,
	// with a holder key) to the new private key wrapped to their holder key.
	// Every other member of the organisation loses their copy.
	Copies map[string][]byte
	// Recovery is the new private key wrapped to the recovery holder; nil
	// deletes the recovery copy (a recovery code from before holders).
	Recovery []byte
	// Disable, if not "", is a member disabled in the same transaction.
	Disable string
	// Session, if not nil, is the id hash of the acting admin's console
	// session, which goes on with SessionSealed (the new key under its
	// session key). Every other console session of the organisation ends.
	Session, SessionSealed []byte
	// Job re-wraps the reports; it is queued in the same transaction.
	Job NewJob
	Now time.Time
}

// RotateOrgKey makes a new key generation current for an organisation, in
// one transaction: the new public key (reports are wrapped to it from the
// commit on), a copy of the new private key for each remaining member and
// the recovery code, no copy of the old one for anybody, the old one
// chained to the new one and sealed for the job, the job queued, and every
// console session of the organisation ended but the acting admin's, which
// carries the new key. It returns ErrOrgKeyChanged, changing nothing, when
// FromGen is not current any more or the members who should keep access are
// not exactly those in Copies.
func (s *Store) RotateOrgKey(ctx context.Context, r *OrgKeyRotation) error {
	newGen := r.FromGen + 1
	return s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE organisations SET public_key = $3, key_gen = $4, recovery_wrap = $5
			WHERE id = $1 AND key_gen = $2`, r.OrgID, r.FromGen, r.NewPublicKey, newGen, r.Recovery)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return ErrOrgKeyChanged
		}
		keep, err := strs(ctx, tx, `SELECT id FROM users WHERE org_id = $1 AND disabled = false AND holder_key <> '' AND id <> $2 ORDER BY id`, r.OrgID, r.Disable)
		if err != nil {
			return err
		}
		want := make([]string, 0, len(r.Copies))
		for id := range r.Copies {
			want = append(want, id)
		}
		slices.Sort(want)
		if !slices.Equal(keep, want) {
			return ErrOrgKeyChanged
		}
		if r.Disable != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = true WHERE id = $1 AND org_id = $2`, r.Disable, r.OrgID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET org_key_wrap = $2, org_key_gen = $3 WHERE org_id = $1`, r.OrgID, []byte{}, newGen); err != nil {
			return err
		}
		for id, w := range r.Copies {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET org_key_wrap = $2 WHERE id = $1`, id, w); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_key_rotations (org_id, from_gen, chain, started_at) VALUES ($1, $2, $3, $4)`,
			r.OrgID, r.FromGen, r.Chain, r.Now.Unix()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_key_rotation_jobs (org_id, from_gen, sealed) VALUES ($1, $2, $3)`,
			r.OrgID, r.FromGen, r.JobSealed); err != nil {
			return err
		}
		keepSession := r.Session
		if keepSession == nil {
			keepSession = []byte{} // matches no session
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash <> $2
			AND user_id IN (SELECT id FROM users WHERE org_id = $1)`, r.OrgID, keepSession); err != nil {
			return err
		}
		if r.Session != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE console_sessions SET sealed_key = $2, key_gen = $3 WHERE id_hash = $1`,
				r.Session, r.SessionSealed, newGen); err != nil {
				return err
			}
		}
		_, err = EnqueueJobTx(ctx, tx, r.Job, r.Now)
		return err
	})
}

// OrgKeyChain returns the chain of an organisation's rotations in progress:
// generation → that generation's private key wrapped to the next one's
// public key. Empty when no rotation is in progress.
func (s *Store) OrgKeyChain(ctx context.Context, orgID string) (map[int][]byte, error) {
	return genBlobs(ctx, s.r, `SELECT from_gen, chain FROM org_key_rotations WHERE org_id = $1`, orgID)
}

// OrgKeyJobCopies returns the retired private keys sealed for the re-wrap
// job, by generation.
func (s *Store) OrgKeyJobCopies(ctx context.Context, orgID string) (map[int][]byte, error) {
	return genBlobs(ctx, s.r, `SELECT from_gen, sealed FROM org_key_rotation_jobs WHERE org_id = $1`, orgID)
}

// PutOrgKeyJobCopy hands the re-wrap job a retired key again (after a
// restore, which does not carry them), with the job that uses it. It
// reports false when the rotation finished meanwhile or the copy is there.
func (s *Store) PutOrgKeyJobCopy(ctx context.Context, orgID string, gen int, sealed []byte, job NewJob, now time.Time) (bool, error) {
	added := false
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO org_key_rotation_jobs (org_id, from_gen, sealed)
			SELECT org_id, from_gen, $3 FROM org_key_rotations WHERE org_id = $1 AND from_gen = $2
			ON CONFLICT (org_id, from_gen) DO NOTHING`, orgID, gen, sealed)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		added = true
		_, err = EnqueueJobTx(ctx, tx, job, now)
		return err
	})
	return added, err
}

func genBlobs(ctx context.Context, q querier, query string, args ...any) (map[int][]byte, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int][]byte{}
	for rows.Next() {
		var g int
		var b []byte
		if err := rows.Scan(&g, &b); err != nil {
			return nil, err
		}
		out[g] = b
	}
	return out, rows.Err()
}

// StaleWrap is a report's data key still wrapped to an older generation of
// its organisation's key.
type StaleWrap struct {
	ReportID string
	Gen      int
	Wrap     []byte
}

// StaleReportWraps returns up to limit report wraps for recipient
// ("org:<id>") of a generation below gen, by report id.
func (s *Store) StaleReportWraps(ctx context.Context, recipient string, gen, limit int) ([]StaleWrap, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT report_id, key_gen, wrap FROM report_wraps WHERE recipient = $1 AND key_gen < $2
		ORDER BY report_id LIMIT $3`, recipient, gen, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StaleWrap
	for rows.Next() {
		var w StaleWrap
		if err := rows.Scan(&w.ReportID, &w.Gen, &w.Wrap); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// CountStaleReportWraps counts what StaleReportWraps would return without a
// limit.
func (s *Store) CountStaleReportWraps(ctx context.Context, recipient string, gen int) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM report_wraps WHERE recipient = $1 AND key_gen < $2`, recipient, gen).Scan(&n)
	return n, err
}

// RewrapReports replaces stale wraps of an organisation's reports with wraps
// to generation gen, whose public key is pub, in one transaction. A wrap
// that changed meanwhile (re-wrapped by another worker, or the report
// withdrawn) is left alone. It returns ErrOrgKeyChanged when gen is not
// current any more, and how many wraps it replaced.
func (s *Store) RewrapReports(ctx context.Context, orgID string, gen int, pub string, ws []StaleWrap) (int, error) {
	n := 0
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		n = 0
		curPub, curGen, err := s.orgKeyTx(ctx, tx, orgID)
		if err != nil {
			return err
		}
		if curGen != gen || curPub != pub {
			return ErrOrgKeyChanged
		}
		for _, w := range ws {
			res, err := tx.ExecContext(ctx, `UPDATE report_wraps SET wrap = $3, key_gen = $4 WHERE report_id = $1 AND recipient = $2 AND key_gen = $5`,
				w.ReportID, "org:"+orgID, w.Wrap, gen, w.Gen)
			if err != nil {
				return err
			}
			m, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(m)
		}
		return nil
	})
	return n, err
}

// FinishOrgKeyRotation ends an organisation's rotations once no report is
// wrapped to an older generation than gen: the chain and the job's copies
// of every older key are deleted. It reports whether it did; ErrOrgKeyChanged
// when gen is not current any more.
func (s *Store) FinishOrgKeyRotation(ctx context.Context, orgID string, gen int) (bool, error) {
	done := false
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		_, curGen, err := s.orgKeyTx(ctx, tx, orgID)
		if err != nil {
			return err
		}
		if curGen != gen {
			return ErrOrgKeyChanged
		}
		var stale int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM report_wraps WHERE recipient = $1 AND key_gen < $2`, "org:"+orgID, gen).Scan(&stale); err != nil {
			return err
		}
		if stale > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM org_key_rotation_jobs WHERE org_id = $1`, orgID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM org_key_rotations WHERE org_id = $1`, orgID); err != nil {
			return err
		}
		done = true
		return nil
	})
	if done {
		// The retired keys were in those rows: fold the WAL, so their old
		// pages do not linger on disk (as for a withdrawal).
		_ = s.Checkpoint(ctx)
	}
	return done, err
}

// SetUserHolder gives a member from before holder keys their key pair (at
// their login, when their password's key is at hand): the holder's public
// key, its private key sealed under the password's key, and the
// organisation key of generation gen wrapped to it. It reports false, and
// changes nothing, if the member already has one or their copy is not of
// generation gen any more.
func (s *Store) SetUserHolder(ctx context.Context, userID string, gen int, holderKey string, holderWrap, orgKeyWrap []byte) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET holder_key = $3, holder_wrap = $4, org_key_wrap = $5
		WHERE id = $1 AND holder_key = '' AND org_key_gen = $2 AND org_key_wrap <> $6`, userID, gen, holderKey, holderWrap, orgKeyWrap, []byte{})
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// EnableMember re-enables a member with a copy of generation gen of their
// organisation's key (wrapped to their holder key; nil when they have none,
// and then they have no access until re-enrolled). ErrOrgKeyChanged when gen
// is not current any more.
func (s *Store) EnableMember(ctx context.Context, userID, orgID string, gen int, orgKeyWrap []byte) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		_, curGen, err := s.orgKeyTx(ctx, tx, orgID)
		if err != nil {
			return err
		}
		if curGen != gen {
			return ErrOrgKeyChanged
		}
		if orgKeyWrap == nil {
			orgKeyWrap = []byte{}
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET disabled = false, org_key_wrap = $3, org_key_gen = $4 WHERE id = $1 AND org_id = $2`,
			userID, orgID, orgKeyWrap, gen)
		return err
	})
}

// SetRecoveryHolder gives an organisation's recovery code a holder key pair
// (when the code is used and its key is at hand): like SetUserHolder.
func (s *Store) SetRecoveryHolder(ctx context.Context, orgID string, gen int, holderKey string, holderWrap, wrap []byte) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE organisations SET recovery_holder = $3, recovery_holder_wrap = $4, recovery_wrap = $5
		WHERE id = $1 AND recovery_holder = '' AND key_gen = $2`, orgID, gen, holderKey, holderWrap, wrap)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
