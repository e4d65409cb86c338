package store

import "database/sql"

// Exported for the tests in package store_test, which use storetest (itself
// an importer of store, so they cannot be in package store).
var (
	WriterOf = func(s *Store) *sql.DB { return s.w }
	ReaderOf = func(s *Store) *sql.DB { return s.r }
	LockRows = func(s *Store) string { return s.d.lockRows() }
)

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
