package store

import (
	"context"
	"database/sql"
)

// Exported for the tests in package store_test, which use storetest (itself
// an importer of store, so they cannot be in package store).
var (
	WriterOf = func(s *Store) *sql.DB { return s.w }
	ReaderOf = func(s *Store) *sql.DB { return s.r }
	LockRows = func(s *Store) string { return s.d.lockRows() }
)

// MigrateThrough brings s's schema up to version and no further: the
// tests of a migration open a database at the version before it, write the
// rows it must carry over, and migrate on.
func MigrateThrough(ctx context.Context, s *Store, version int64) error {
	ms, err := migrations(s.d.engine)
	if err != nil {
		return err
	}
	var upTo []migration
	for _, m := range ms {
		if m.version <= version {
			upTo = append(upTo, m)
		}
	}
	return s.migrateThrough(ctx, upTo)
}

// MigrationVersions lists the versions of engine's embedded migrations.
func MigrationVersions(engine string) ([]int64, []string, error) {
	ms, err := migrations(engine)
	var vs []int64
	var names []string
	for _, m := range ms {
		vs = append(vs, m.version)
		names = append(names, m.name)
	}
	return vs, names, err
}
