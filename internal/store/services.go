package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/salama-ke/salama/internal/directory"
)

// Edits of the directory from the console and from an imported file. The
// services are kept as JSON (see PutService); the org_id column repeats the
// service's organisation so that an edit can be limited to one organisation
// in the SQL itself.

// Service returns one service of the directory.
func (s *Store) Service(ctx context.Context, id string) (*directory.Service, error) {
	var data string
	err := s.r.QueryRowContext(ctx, `SELECT data FROM services WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var svc directory.Service
	if err := json.Unmarshal([]byte(data), &svc); err != nil {
		return nil, err
	}
	return &svc, nil
}

// CreateService adds a service. It returns ErrDuplicateKey if the id is
// taken (by any organisation) and ErrNotFound if its organisation does not
// exist.
func (s *Store) CreateService(ctx context.Context, svc directory.Service, now time.Time) error {
	data, err := json.Marshal(svc)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO services (id, org_id, data, updated_at) VALUES ($1, $2, $3, $4)`,
		svc.ID, svc.OrgID, string(data), now.Unix())
	switch {
	case IsUniqueViolation(err):
		return ErrDuplicateKey
	case IsForeignKeyViolation(err):
		return ErrNotFound
	}
	return err
}

// UpdateService replaces a service that belongs to fromOrg (svc.OrgID may
// name another organisation: the service moves). It returns ErrNotFound if
// there is no such service of fromOrg, or no organisation svc.OrgID.
func (s *Store) UpdateService(ctx context.Context, svc directory.Service, fromOrg string, now time.Time) error {
	data, err := json.Marshal(svc)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE services SET org_id = $2, data = $3, updated_at = $4 WHERE id = $1 AND org_id = $5`,
		svc.ID, svc.OrgID, string(data), now.Unix(), fromOrg)
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

// ReplaceServices applies an import in one transaction: it removes the
// services with the ids in remove and creates or replaces those in put.
// Either all of it happens or none.
func (s *Store) ReplaceServices(ctx context.Context, remove []string, put []directory.Service, now time.Time) error {
	rows := make([]string, len(put))
	for i, svc := range put {
		data, err := json.Marshal(svc)
		if err != nil {
			return err
		}
		rows[i] = string(data)
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range remove {
			if _, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = $1`, id); err != nil {
				return err
			}
		}
		for i, svc := range put {
			if _, err := tx.ExecContext(ctx, `INSERT INTO services (id, org_id, data, updated_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, data = excluded.data, updated_at = excluded.updated_at`,
				svc.ID, svc.OrgID, rows[i], now.Unix()); err != nil {
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
