package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Organisation is a member of the referral network. Its age public key is in
// clear; its private key is only ever stored wrapped (for the recovery code
// here, for each member user elsewhere).
type Organisation struct {
	ID              string
	Name            string
	Intake          bool // the network's fallback intake organisation
	ChildProtection bool
	PublicKey       string
	RecoverySalt    []byte
	RecoveryParams  string
	// RecoveryWrap is the organisation key wrapped to RecoveryHolder, whose
	// private key RecoveryHolderWrap seals under the recovery code's key.
	// An organisation from before holder keys has RecoveryHolder "" and the
	// key sealed under the code's key directly; an empty RecoveryWrap means
	// the recovery code opens nothing any more.
	RecoveryWrap       []byte
	RecoveryHolder     string
	RecoveryHolderWrap []byte
	// KeyGen counts the organisation's key pairs: 1 at creation, one more
	// at each rotation. PublicKey is the current one's.
	KeyGen    int
	CreatedAt time.Time
}

// CreateOrganisation adds an organisation.
func (s *Store) CreateOrganisation(ctx context.Context, o *Organisation) error {
	if o.KeyGen == 0 {
		o.KeyGen = 1
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO organisations (id, name, intake, child_protection, public_key, recovery_salt, recovery_params, recovery_wrap, created_at,
		recovery_holder, recovery_holder_wrap, key_gen)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		o.ID, o.Name, o.Intake, o.ChildProtection, o.PublicKey, o.RecoverySalt, o.RecoveryParams, o.RecoveryWrap, o.CreatedAt.Unix(),
		o.RecoveryHolder, o.RecoveryHolderWrap, o.KeyGen)
	if IsUniqueViolation(err) {
		return ErrDuplicateKey
	}
	return err
}

// Organisations lists every organisation by name.
func (s *Store) Organisations(ctx context.Context) ([]Organisation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, intake, child_protection, public_key, key_gen, created_at FROM organisations ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Organisation
	for rows.Next() {
		var o Organisation
		var at int64
		if err := rows.Scan(&o.ID, &o.Name, &o.Intake, &o.ChildProtection, &o.PublicKey, &o.KeyGen, &at); err != nil {
			return nil, err
		}
		o.CreatedAt = time.Unix(at, 0).UTC()
		out = append(out, o)
	}
	return out, rows.Err()
}

// Organisation returns one organisation, with its recovery wrap.
func (s *Store) Organisation(ctx context.Context, id string) (*Organisation, error) {
	var o Organisation
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, intake, child_protection, public_key, recovery_salt, recovery_params, recovery_wrap, created_at,
		recovery_holder, recovery_holder_wrap, key_gen FROM organisations WHERE id = $1`, id).
		Scan(&o.ID, &o.Name, &o.Intake, &o.ChildProtection, &o.PublicKey, &o.RecoverySalt, &o.RecoveryParams, &o.RecoveryWrap, &at,
			&o.RecoveryHolder, &o.RecoveryHolderWrap, &o.KeyGen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	o.CreatedAt = time.Unix(at, 0).UTC()
	return &o, err
}

// upsertService creates or replaces a service.
const upsertService = `INSERT INTO services (id, org_id, data, updated_at, child_protection) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, data = excluded.data, updated_at = excluded.updated_at,
	child_protection = excluded.child_protection`

// PutServiceRecord creates or replaces a directory service.
func (s *Store) PutServiceRecord(ctx context.Context, rec ServiceRecord, now time.Time) error {
	_, err := s.w.ExecContext(ctx, upsertService, rec.ID, rec.OrgID, string(rec.Data), now.Unix(), rec.ChildProtection)
	return err
}

// ServiceRecords returns the whole directory (it is small: hundreds of
// rows), for matching in memory.
func (s *Store) ServiceRecords(ctx context.Context) ([]ServiceRecord, error) {
	return collect(ctx, s.r, scanService, `SELECT id, org_id, data, child_protection FROM services ORDER BY id`)
}
