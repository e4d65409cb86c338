// Package store owns Salama's database: the connection pools, the schema and
// its migrations, and plain SQL for each entity, one file per entity. The same
// SQL runs on SQLite (the embedded default: one static binary, one file) and
// on PostgreSQL (many stateless instances); dialect.go holds what differs.
//
// The store only ever sees what the seal package has already sealed, plus the
// few clear fields routing and statistics need. It must never log: not a
// query, not an argument, not a DSN (which may carry a password).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	_ "modernc.org/sqlite"             // registers driver "sqlite"
)

// Engine names, as returned by Store.Engine.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// FileName is the SQLite database file inside the data directory.
const FileName = "salama.db"

// Store is the database. Its zero value is not usable; call Open.
type Store struct {
	// w takes every write. On SQLite it is a single connection whose
	// transactions begin IMMEDIATE, so writers queue in Go rather than
	// fail with SQLITE_BUSY, and a write transaction never has to upgrade
	// a read lock. Never run a query on w while a transaction on w is open
	// in the same goroutine (use the *sql.Tx): with one connection that
	// waits forever. Close every *sql.Rows from w promptly for the same
	// reason.
	w *sql.DB
	// r serves reads. On SQLite it is a pool of query_only connections,
	// which WAL lets read while the writer writes. On PostgreSQL r == w.
	r *sql.DB
	d dialect

	path string // SQLite database file; "" on PostgreSQL

	// restore is set by OpenForRestore: Load then migrates inside its
	// transaction, and Discard cleans up after a failure.
	restore *restoreTarget

	// errs counts database faults (Errors).
	errs atomic.Int64
}

// The SQLite pragmas, applied by the driver to every new connection in this
// order: busy_timeout first (so that nothing below fails with SQLITE_BUSY
// while another process holds a lock), then the rest. modernc.org/sqlite runs
// _pragma values with busy_timeout first and the others sorted by name, so
// their order in this list is for the reader; none of the later ones depends
// on another.
var sqlitePragmas = []string{
	// Wait up to 5 s for a lock held by another process (a CLI subcommand
	// run beside the server) instead of failing at once.
	"busy_timeout(5000)",
	// Readers never block the writer or each other.
	"journal_mode(WAL)",
	// fsync the WAL at every commit: a receipt shown to a survivor must
	// survive a power cut or kill -9. NORMAL could lose the last commits.
	"synchronous(FULL)",
	// SQLite ignores REFERENCES unless told otherwise, per connection.
	"foreign_keys(ON)",
	// Overwrite deleted content with zeros, so a withdrawn report's
	// ciphertext does not linger in free pages of the file.
	"secure_delete(ON)",
}

// Open opens the database and brings its schema up to date.
//
// An empty dsn means SQLite in dataDir/salama.db (dataDir is created 0700 and
// the file 0600). A dsn starting postgres:// or postgresql:// means
// PostgreSQL through pgx; dataDir is then unused. Errors never include the
// dsn, which may carry a password.
func Open(ctx context.Context, dsn, dataDir string) (*Store, error) {
	s, err := open(ctx, dsn, dataDir)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenAsIs opens the database without applying migrations, for commands
// that must not change a schema a running server depends on (salama backup,
// which may be a newer program than the server).
func OpenAsIs(ctx context.Context, dsn, dataDir string) (*Store, error) {
	return open(ctx, dsn, dataDir)
}

// open connects without migrating.
func open(ctx context.Context, dsn, dataDir string) (*Store, error) {
	var (
		s   *Store
		err error
	)
	switch {
	case dsn == "":
		s, err = openSQLite(ctx, dataDir)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err = openPostgres(ctx, dsn)
	default:
		return nil, errors.New("store: database URL must be empty (SQLite) or start with postgres:// or postgresql://")
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func openSQLite(ctx context.Context, dataDir string) (*Store, error) {
	if dataDir == "" {
		return nil, errors.New("store: SQLite needs a data directory")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dataDir, FileName))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// The driver splits the DSN at the first '?'; a path containing one
	// would silently open another file.
	if strings.ContainsAny(path, "?#") {
		return nil, errors.New("store: data directory path must not contain '?' or '#'")
	}
	// Create the file ourselves so it is 0600 whatever the umask: SQLite
	// gives the -wal and -shm files the database file's permissions.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create database file: %w", err)
	}
	f.Close()

	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	wq := url.Values{"_pragma": q["_pragma"], "_txlock": {"immediate"}}
	// Readers get the same pragmas but journal_mode (a persistent property
	// of the file, set by the writer) and are made query_only, so a write
	// sent to the read pool by mistake fails instead of racing the writer.
	rq := url.Values{"_query_only": {"1"}}
	for _, p := range sqlitePragmas {
		if !strings.HasPrefix(p, "journal_mode") {
			rq.Add("_pragma", p)
		}
	}

	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Connect the writer first: it switches the file to WAL before any
	// reader opens it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}

	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	return &Store{w: w, r: r, d: dialect{engine: SQLite}, path: path}, nil
}

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, errors.New("store: open postgres: invalid database URL")
	}
	db.SetMaxOpenConns(25)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// pgconn redacts the password in its parse errors.
		return nil, fmt.Errorf("store: connect to postgres: %w", err)
	}
	return &Store{w: db, r: db, d: dialect{engine: Postgres}}, nil
}

// Engine reports which database the store runs on: SQLite or Postgres.
func (s *Store) Engine() string { return s.d.engine }

// Close closes every connection. On SQLite the readers go first, so that the
// writer is the last connection and folds the WAL back into the file.
func (s *Store) Close() error {
	var err error
	if s.r != s.w {
		err = s.r.Close()
	}
	return errors.Join(err, s.w.Close())
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		s.errs.Add(1)
		return fmt.Errorf("store: ping: %w", err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			s.errs.Add(1)
			return fmt.Errorf("store: ping: %w", err)
		}
	}
	return nil
}

// txAttempts bounds how often Tx runs fn when PostgreSQL aborts it with a
// serialization failure or a deadlock.
const txAttempts = 3

// Tx runs fn in a write transaction and commits it if fn returns nil. It
// rolls back if fn returns an error or panics (the panic then goes on).
//
// On PostgreSQL, a transaction aborted by a deadlock or a serialization
// failure is retried: fn may run more than once, so it must have no effect
// outside tx beyond assigning its results. Inside fn use only tx, never the
// Store's own pools.
func (s *Store) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx(ctx, fn)
		if err == nil || attempt == txAttempts || !s.d.retryable(err) || ctx.Err() != nil {
			return s.fault(err)
		}
	}
}

func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return txFault{fmt.Errorf("store: begin: %w", err)}
	}
	committed := false
	defer func() {
		if !committed {
			// Also on panic: the single SQLite writer must not be left
			// inside a transaction.
			tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		// A failed commit has already ended the transaction.
		committed = true
		return txFault{fmt.Errorf("store: commit: %w", err)}
	}
	committed = true
	return nil
}

// Checkpoint moves everything in the SQLite write-ahead log into the
// database file and truncates the log to zero bytes. Withdrawal calls it: the
// WAL keeps the old images of the pages a withdrawal just zeroed until then.
// It waits up to the busy timeout for readers that still use the log and
// fails if they do not finish. On PostgreSQL it does nothing.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.d.engine != SQLite {
		return nil
	}
	var busy, logFrames, checkpointed int
	err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed)
	if err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("store: checkpoint: readers kept the write-ahead log busy")
	}
	return nil
}

// Files lists the SQLite files that hold data (the database, its write-ahead
// log and shared-memory index), so tests can check what reaches the disk.
// They need not all exist. It returns nil on PostgreSQL.
func (s *Store) Files() []string {
	if s.path == "" {
		return nil
	}
	return []string{s.path, s.path + "-wal", s.path + "-shm"}
}
