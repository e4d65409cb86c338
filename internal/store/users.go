package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// User is a member of an organisation who logs into the console.
type User struct {
	ID, OrgID, Username, DisplayName, Role string
	Disabled                               bool

	// Key material, all derived from or sealed under the password (or the
	// enrolment code until enrolment is finished).
	KDFSalt    []byte
	KDFParams  string
	Verifier   []byte
	OrgKeyWrap []byte // the organisation key, wrapped to HolderKey; empty when the member holds no copy
	TOTPSealed []byte // nil until enrolled
	// HolderKey is the member's own age public key (seal.HolderRecipient),
	// which the organisation key is wrapped to; HolderWrap its private key
	// sealed under the password's key. "" and nil for a member from before
	// holder keys, whose OrgKeyWrap is sealed under the password's key.
	HolderKey  string
	HolderWrap []byte
	// OrgKeyGen is the generation of the organisation key OrgKeyWrap holds.
	OrgKeyGen    int
	TOTPLastStep int64

	EnrolExpires time.Time // non-zero while the user must still enrol
	CreatedAt    time.Time
}

// Enrolling reports whether the user still logs in with an enrolment code.
func (u *User) Enrolling() bool { return !u.EnrolExpires.IsZero() }

const userColumns = `id, org_id, username, display_name, role, disabled, kdf_salt, kdf_params, verifier, org_key_wrap,
	totp_sealed, totp_last_step, enrol_expires, created_at, holder_key, holder_wrap, org_key_gen`

// CreateUser adds a user; ErrDuplicateKey when the username is taken,
// ErrOrgKeyChanged when u.OrgKeyGen is not the organisation's current key
// generation (it was replaced meanwhile: wrap the new one).
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		_, gen, err := s.orgKeyTx(ctx, tx, u.OrgID)
		if err != nil {
			return err
		}
		if gen != u.OrgKeyGen {
			return ErrOrgKeyChanged
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)`,
			u.ID, u.OrgID, u.Username, u.DisplayName, u.Role, u.Disabled, u.KDFSalt, u.KDFParams, u.Verifier, u.OrgKeyWrap,
			u.TOTPSealed, u.TOTPLastStep, nullTime(u.EnrolExpires), u.CreatedAt.Unix(), u.HolderKey, u.HolderWrap, u.OrgKeyGen)
		return err
	})
	if IsUniqueViolation(err) {
		return ErrDuplicateKey
	}
	return err
}

func scanUser(row scanner) (*User, error) {
	var u User
	var enrol sql.NullInt64
	var created int64
	err := row.Scan(&u.ID, &u.OrgID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &u.KDFSalt, &u.KDFParams, &u.Verifier,
		&u.OrgKeyWrap, &u.TOTPSealed, &u.TOTPLastStep, &enrol, &created, &u.HolderKey, &u.HolderWrap, &u.OrgKeyGen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if enrol.Valid {
		u.EnrolExpires = time.Unix(enrol.Int64, 0).UTC()
	}
	u.CreatedAt = time.Unix(created, 0).UTC()
	if len(u.TOTPSealed) == 0 {
		u.TOTPSealed = nil
	}
	return &u, nil
}

// UserByUsername finds a user by login name.
func (s *Store) UserByUsername(ctx context.Context, username string) (*User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
}

// User finds a user by id.
func (s *Store) User(ctx context.Context, id string) (*User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// Users lists an organisation's members by username.
func (s *Store) Users(ctx context.Context, orgID string) ([]User, error) {
	return collect(ctx, s.r, scanUser, `SELECT `+userColumns+` FROM users WHERE org_id = $1 ORDER BY username`, orgID)
}

// SetUserKeys replaces a user's password-derived material (enrolment,
// password change) and clears the enrolment deadline. It ends every console
// session of the user but the one whose id hash is keep (nil: all of them),
// in the same transaction: whoever knew the old password, or holds a cookie
// of a session opened with it, is out the moment the new one is set. It
// returns ErrOrgKeyChanged, changing nothing, if the user's copy of the
// organisation key is no longer of generation u.OrgKeyGen (a rotation).
func (s *Store) SetUserKeys(ctx context.Context, u *User, keep []byte) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET kdf_salt = $2, kdf_params = $3, verifier = $4, org_key_wrap = $5,
			totp_sealed = $6, totp_last_step = $7, enrol_expires = NULL, holder_key = $8, holder_wrap = $9
			WHERE id = $1 AND org_key_gen = $10`,
			u.ID, u.KDFSalt, u.KDFParams, u.Verifier, u.OrgKeyWrap, u.TOTPSealed, u.TOTPLastStep, u.HolderKey, u.HolderWrap, u.OrgKeyGen)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return ErrOrgKeyChanged
		}
		if keep == nil {
			keep = []byte{} // matches no id hash
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_id = $1 AND id_hash <> $2`, u.ID, keep)
		return err
	})
}

// UseTOTPStep records a successful login's TOTP time step, only if it is
// newer than the last one: it reports false when another login used this
// step (or a later one) first, which is a replay.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`, userID, step)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetUserDisabled disables or re-enables a user; disabling also ends every
// session of theirs. The console disables through RotateOrgKey and enables
// through EnableMember, which also take the member's copy of the
// organisation key away and give it back.
func (s *Store) SetUserDisabled(ctx context.Context, userID string, disabled bool) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = $2 WHERE id = $1`, userID, disabled); err != nil {
			return err
		}
		if disabled {
			_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_id = $1`, userID)
			return err
		}
		return nil
	})
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}
