package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Settings are small named values shared by every instance, such as keys
// generated at first start. A value is written once and then only read.

// Setting returns the value stored under key, and whether there is one.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: read setting %q: %w", key, err)
	}
	if v == nil {
		v = []byte{} // SQLite reads an empty BLOB as nil
	}
	return v, true, nil
}

// EnsureSetting returns the value stored under key, first storing the one gen
// makes if there is none. When several instances start at once, each may call
// gen but the first to commit wins and all of them return its value.
func (s *Store) EnsureSetting(ctx context.Context, key string, gen func() ([]byte, error)) ([]byte, error) {
	if v, ok, err := s.Setting(ctx, key); err != nil || ok {
		return v, err
	}
	nv, err := gen()
	if err != nil {
		return nil, fmt.Errorf("store: generate setting %q: %w", key, err)
	}
	if nv == nil {
		nv = []byte{} // value is NOT NULL
	}
	var v []byte
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		// On PostgreSQL, DO NOTHING waits for a concurrent insert of the
		// same key to commit; the SELECT, a new statement, then sees it.
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, nv); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("store: ensure setting %q: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}
