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
// in the SQL itself. The coordinator's child-protection mark has its own
// column (child_protection), never the JSON: see directory.Service.

// Service returns one service of the directory.
func (s *Store) Service(ctx context.Context, id string) (*directory.Service, error) {
	svc, err := scanService(s.r.QueryRowContext(ctx, `SELECT data, child_protection FROM services WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return svc, err
}

func scanService(row scanner) (*directory.Service, error) {
	var data string
	var mark bool
	if err := row.Scan(&data, &mark); err != nil {
		return nil, err
	}
	var svc directory.Service
	if err := json.Unmarshal([]byte(data), &svc); err != nil {
		return nil, err
	}
	svc.ChildProtection = mark
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
	_, err = s.w.ExecContext(ctx, `INSERT INTO services (id, org_id, data, updated_at, child_protection) VALUES ($1, $2, $3, $4, $5)`,
		svc.ID, svc.OrgID, string(data), now.Unix(), svc.ChildProtection)
	switch {
	case IsUniqueViolation(err):
		return ErrDuplicateKey
	case IsForeignKeyViolation(err):
		return ErrNotFound
	}
	return err
}

// UpdateService replaces a service that belongs to fromOrg (svc.OrgID may
// name another organisation: the service moves), its child-protection mark
// included: the caller decides who may set it. It returns ErrNotFound if
// there is no such service of fromOrg, or no organisation svc.OrgID.
func (s *Store) UpdateService(ctx context.Context, svc directory.Service, fromOrg string, now time.Time) error {
	data, err := json.Marshal(svc)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE services SET org_id = $2, data = $3, updated_at = $4, child_protection = $6 WHERE id = $1 AND org_id = $5`,
		svc.ID, svc.OrgID, string(data), now.Unix(), fromOrg, svc.ChildProtection)
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
			if _, err := tx.ExecContext(ctx, `INSERT INTO services (id, org_id, data, updated_at, child_protection) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, data = excluded.data, updated_at = excluded.updated_at,
				child_protection = excluded.child_protection`,
				svc.ID, svc.OrgID, rows[i], now.Unix(), svc.ChildProtection); err != nil {
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
