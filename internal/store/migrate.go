package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered SQL files, one folder per engine with the same
// numbers: migrations/sqlite/0001_init.sql and migrations/postgres/0001_init.sql
// make the same schema in each engine's words. A released migration is never
// edited; a change is a new number in both folders.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// newer Salama than this one: running on would write rows the newer schema
// does not expect.
var ErrSchemaTooNew = errors.New("store: database schema is newer than this program knows; run the newer salama")

// migrationLock is the PostgreSQL advisory lock key ("salama" in ASCII) that
// serialises migrations between instances starting together on one database.
// Advisory locks are per database, so unrelated databases do not contend.
const migrationLock int64 = 0x73616c616d61

type migration struct {
	version int64
	name    string // file name, for error messages
	sql     string
}

// migrations returns the engine's migrations in order. Numbers must run 1, 2,
// 3 … without gaps, so that "the highest applied" says which were applied.
func migrations(engine string) ([]migration, error) {
	dir := path.Join("migrations", engine)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("store: migration %s/%s: name must be NNNN_what.sql", dir, name)
		}
		if want := int64(len(ms) + 1); v != want {
			return nil, fmt.Errorf("store: migration %s/%s: expected number %d", dir, name, want)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("store: migration %s/%s: %w", dir, name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	return ms, nil
}

// migrate applies the migrations the database lacks, each in its own
// transaction together with its row in schema_migrations, so a crash leaves
// the schema at some version and never between two.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations(s.d.engine)
	if err != nil {
		return err
	}
	return s.migrateThrough(ctx, ms)
}

// Migrate brings the schema up to date, as Open does: after a restore into
// a store opened with OpenForRestore at an older backup's version.
func (s *Store) Migrate(ctx context.Context) error { return s.migrate(ctx) }

// migrateThrough applies the migrations in ms the database lacks.
func (s *Store) migrateThrough(ctx context.Context, ms []migration) error {
	for {
		done, err := s.migrateOne(ctx, ms)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending migration, or reports done if there is
// none. It reads the current version under the same lock it migrates under:
// on PostgreSQL an advisory lock held to the end of the transaction, on
// SQLite the write lock BEGIN IMMEDIATE takes. A second instance starting at
// the same time waits, then finds the work done.
func (s *Store) migrateOne(ctx context.Context, ms []migration) (done bool, err error) {
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		done = false
		current, err := s.lockedVersion(ctx, tx)
		if err != nil {
			return err
		}
		latest := int64(len(ms))
		switch {
		case current > latest:
			return fmt.Errorf("%w (database at version %d, this program knows up to %d)", ErrSchemaTooNew, current, latest)
		case current == latest:
			done = true
			return nil
		}
		return s.applyMigration(ctx, tx, ms[current]) // version current+1
	})
	return done, err
}

// lockedVersion takes the migration lock inside tx (on PostgreSQL an
// advisory lock held to the end of the transaction; on SQLite the write lock
// is the transaction's own), makes sure schema_migrations exists and returns
// the schema's version (0 for none).
func (s *Store) lockedVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	if s.d.engine == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return 0, fmt.Errorf("store: migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("store: create schema_migrations: %w", err)
	}
	var current int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return current, nil
}

// applyMigration runs one migration and records it, inside tx.
func (s *Store) applyMigration(ctx context.Context, tx *sql.Tx, m migration) error {
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("store: migration %s/%s: %w", s.d.engine, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		m.version, time.Now().Unix()); err != nil {
		return fmt.Errorf("store: record migration %d: %w", m.version, err)
	}
	return nil
}

// migrateInTx brings the schema inside tx from its current version up to
// version upTo (every migration if upTo is 0), for a restore that must
// leave nothing behind if it fails: the caller's transaction holds the
// migrations and the rows together.
func (s *Store) migrateInTx(ctx context.Context, tx *sql.Tx, upTo int64) error {
	ms, err := migrations(s.d.engine)
	if err != nil {
		return err
	}
	if upTo == 0 {
		upTo = int64(len(ms))
	}
	current, err := s.lockedVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current > upTo {
		return fmt.Errorf("store: the target database is at schema version %d, newer than the backup's %d: restore into a new, empty database", current, upTo)
	}
	for _, m := range ms[current:upTo] {
		if err := s.applyMigration(ctx, tx, m); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion returns the highest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return v, nil
}

// Latest is the schema version this program migrates to.
func Latest(engine string) (int64, error) {
	ms, err := migrations(engine)
	return int64(len(ms)), err
}

// OpenForRestore opens a database to restore a backup made at schema
// version into it. Nothing is changed yet: Load then migrates the schema up
// to that version, loads the backup's rows, and migrates the rest of the
// way, all in one transaction, so that a restore that fails half-way
// leaves the target as it was. A database already past that version is
// refused: restore into a new one. If the restore fails, Discard (instead
// of Close) also removes the SQLite file and data directory this call
// created.
func OpenForRestore(ctx context.Context, dsn, dataDir string, version int64) (*Store, error) {
	var createdDir, createdFile bool
	if dsn == "" && dataDir != "" {
		_, err := os.Stat(dataDir)
		createdDir = errors.Is(err, fs.ErrNotExist)
		_, err = os.Stat(filepath.Join(dataDir, FileName))
		createdFile = errors.Is(err, fs.ErrNotExist)
	}
	s, err := open(ctx, dsn, dataDir)
	if err != nil {
		return nil, err
	}
	s.restore = &restoreTarget{version: version, createdDir: createdDir, createdFile: createdFile, dataDir: dataDir}
	ms, err := migrations(s.d.engine)
	if err != nil {
		s.Discard()
		return nil, err
	}
	if version < 1 || version > int64(len(ms)) {
		s.Discard()
		return nil, fmt.Errorf("%w (the backup is at schema version %d, this program knows up to %d)", ErrSchemaTooNew, version, len(ms))
	}
	var current int64
	var exists bool
	q := `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if s.d.engine == Postgres {
		q = `SELECT to_regclass('schema_migrations') IS NOT NULL`
	}
	if err := s.r.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		s.Discard()
		return nil, fmt.Errorf("store: read schema version: %w", err)
	}
	if exists {
		if current, err = s.SchemaVersion(ctx); err != nil {
			s.Discard()
			return nil, err
		}
	}
	if current > version {
		s.Discard()
		return nil, fmt.Errorf("store: the target database is at schema version %d, newer than the backup's %d: restore into a new, empty database", current, version)
	}
	return s, nil
}

// restoreTarget is what OpenForRestore noted about its target.
type restoreTarget struct {
	version                 int64
	createdDir, createdFile bool
	dataDir                 string
}

// Discard closes a store opened by OpenForRestore whose restore failed,
// and removes the SQLite database file (with its journal files) and the
// data directory if OpenForRestore created them, so that the target is as
// it was before. On a store opened otherwise it is Close.
func (s *Store) Discard() error {
	err := s.Close()
	if s.restore == nil || s.path == "" {
		return err
	}
	if s.restore.createdFile {
		for _, f := range []string{s.path, s.path + "-wal", s.path + "-shm", s.path + "-journal"} {
			if rerr := os.Remove(f); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}
	if s.restore.createdDir {
		_ = os.Remove(s.restore.dataDir) // only if empty: never remove what others put there
	}
	return err
}
