package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ServiceRecord is a directory service as the store keeps it. The service
// itself is the directory package's JSON (Data), which the store does not
// read; the org_id column repeats the service's organisation so that an
// edit can be limited to one organisation in the SQL itself; and the
// coordinator's child-protection mark has its own column, never the JSON,
// so that an organisation admin's edit cannot carry it in
// (internal/directory, stored.go, turns records into services).
type ServiceRecord struct {
	ID, OrgID       string
	ChildProtection bool
	Data            []byte
}

// ServiceRecord returns one service of the directory.
func (s *Store) ServiceRecord(ctx context.Context, id string) (*ServiceRecord, error) {
	rec, err := scanService(s.r.QueryRowContext(ctx, `SELECT id, org_id, data, child_protection FROM services WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return rec, err
}

func scanService(row scanner) (*ServiceRecord, error) {
	var rec ServiceRecord
	var data string
	if err := row.Scan(&rec.ID, &rec.OrgID, &data, &rec.ChildProtection); err != nil {
		return nil, err
	}
	rec.Data = []byte(data)
	return &rec, nil
}

// CreateServiceRecord adds a service. It returns ErrDuplicateKey if the id
// is taken (by any organisation) and ErrNotFound if its organisation does
// not exist.
func (s *Store) CreateServiceRecord(ctx context.Context, rec ServiceRecord, now time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO services (id, org_id, data, updated_at, child_protection) VALUES ($1, $2, $3, $4, $5)`,
		rec.ID, rec.OrgID, string(rec.Data), now.Unix(), rec.ChildProtection)
	switch {
	case IsUniqueViolation(err):
		return ErrDuplicateKey
	case IsForeignKeyViolation(err):
		return ErrNotFound
	}
	return err
}

// UpdateServiceRecord replaces a service that belongs to fromOrg
// (rec.OrgID may name another organisation: the service moves), its
// child-protection mark included: the caller decides who may set it. It
// returns ErrNotFound if there is no such service of fromOrg, or no
// organisation rec.OrgID.
func (s *Store) UpdateServiceRecord(ctx context.Context, rec ServiceRecord, fromOrg string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE services SET org_id = $2, data = $3, updated_at = $4, child_protection = $6 WHERE id = $1 AND org_id = $5`,
		rec.ID, rec.OrgID, string(rec.Data), now.Unix(), fromOrg, rec.ChildProtection)
	if IsForeignKeyViolation(err) {
		return ErrNotFound
	}
	return oneRow(res, err)
}

// DeleteService removes a service of orgID; ErrNotFound if orgID has none
// with that id.
func (s *Store) DeleteService(ctx context.Context, id, orgID string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM services WHERE id = $1 AND org_id = $2`, id, orgID)
	return oneRow(res, err)
}

// ReplaceServiceRecords applies an import in one transaction: it removes
// the services with the ids in remove and creates or replaces those in put.
// Either all of it happens or none.
func (s *Store) ReplaceServiceRecords(ctx context.Context, remove []string, put []ServiceRecord, now time.Time) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range remove {
			if _, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = $1`, id); err != nil {
				return err
			}
		}
		for _, rec := range put {
			if _, err := tx.ExecContext(ctx, upsertService, rec.ID, rec.OrgID, string(rec.Data), now.Unix(), rec.ChildProtection); err != nil {
				return err
			}
		}
		return nil
	})
	if IsForeignKeyViolation(err) {
		return ErrNotFound
	}
	return err
}
