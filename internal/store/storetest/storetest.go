// Package storetest gives tests a fresh, empty, migrated Salama database on
// each engine, so that every store test runs on SQLite and on PostgreSQL.
//
// SQLite needs nothing: each database is a file in t.TempDir(). PostgreSQL
// needs a server: set SALAMA_TEST_POSTGRES_URL to a URL whose role may
// CREATE DATABASE (.ci/run starts a throwaway server and sets it). Each test
// then gets a database of its own, salama_test_<random>, created through that
// URL and dropped when the test ends, so tests are isolated and may run in
// parallel. Without the variable the PostgreSQL subtests are skipped.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/store"
)

// PostgresEnv names the environment variable holding the PostgreSQL admin URL.
const PostgresEnv = "SALAMA_TEST_POSTGRES_URL"

// Engines lists the engines every store test runs on.
var Engines = []string{store.SQLite, store.Postgres}

// DB is a fresh, empty database that has not been opened yet. Tests that open
// one database twice (a restart, two instances) use it; others use Open or
// Each.
type DB struct {
	Engine  string
	DSN     string // "" for SQLite
	DataDir string // the SQLite data directory; "" for PostgreSQL
}

// NewDB makes a fresh database on engine, removed when t ends. On PostgreSQL
// without SALAMA_TEST_POSTGRES_URL it skips t.
func NewDB(t testing.TB, engine string) DB {
	t.Helper()
	switch engine {
	case store.SQLite:
		return DB{Engine: engine, DataDir: t.TempDir()}
	case store.Postgres:
		return DB{Engine: engine, DSN: newPostgresDB(t)}
	default:
		t.Fatalf("storetest: unknown engine %q", engine)
		return DB{}
	}
}

// Open opens (and so migrates) db, closing it when t ends.
func (db DB) Open(t testing.TB) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, db.DSN, db.DataDir)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", db.Engine, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close %s: %v", db.Engine, err)
		}
	})
	return s
}

// Open returns a store over a fresh database on engine, closed and removed
// when t ends.
func Open(t testing.TB, engine string) *store.Store {
	t.Helper()
	return NewDB(t, engine).Open(t)
}

// Each runs fn as one subtest per engine ("sqlite", "postgres"), each with a
// store over a fresh database. The subtests run one after the other; call
// t.Parallel() in the test itself to run it beside other tests.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			fn(t, Open(t, engine))
		})
	}
}

// EachDB is Each for tests that open the database themselves.
func EachDB(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			fn(t, NewDB(t, engine))
		})
	}
}

// admin holds one connection pool per admin URL for the life of the test
// binary; creating a database through a new pool each time would cost a
// connection handshake per test.
var admin struct {
	sync.Mutex
	pools map[string]*sql.DB
}

func adminDB(rawURL string) (*sql.DB, error) {
	admin.Lock()
	defer admin.Unlock()
	if db, ok := admin.pools[rawURL]; ok {
		return db, nil
	}
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	if admin.pools == nil {
		admin.pools = map[string]*sql.DB{}
	}
	admin.pools[rawURL] = db
	return db, nil
}

func newPostgresDB(t testing.TB) string {
	t.Helper()
	rawURL := os.Getenv(PostgresEnv)
	if rawURL == "" {
		t.Skip("PostgreSQL tests need " + PostgresEnv + " (postgres://…); .ci/run sets it")
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Do not print the URL: it may carry a password.
		t.Fatalf("storetest: %s is not a postgres:// URL", PostgresEnv)
	}
	db, err := adminDB(rawURL)
	if err != nil {
		t.Fatalf("storetest: connect to %s: %v", PostgresEnv, err)
	}

	var b [8]byte
	rand.Read(b[:])
	name := "salama_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The name is ours (hex), so it needs no quoting.
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends connections a test leaked, which would otherwise
		// block the drop. It cannot end an autovacuum worker (a test that
		// deletes many rows wakes one), which is why it may take a few
		// tries.
		var err error
		for range 40 {
			if _, err = db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err == nil {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("storetest: drop database %s: %v", name, err)
	})

	u.Path = "/" + name
	return u.String()
}

// SQL opens a plain connection pool to db for tests that inspect rows
// directly, outside any store: read-only on SQLite (a file in the data
// directory), the database itself on PostgreSQL. It is closed when t ends.
func (db DB) SQL(t testing.TB) *sql.DB {
	t.Helper()
	var (
		conn *sql.DB
		err  error
	)
	if db.Engine == store.SQLite {
		conn, err = sql.Open("sqlite", "file:"+filepath.Join(db.DataDir, store.FileName)+"?mode=ro&_pragma=busy_timeout(5000)")
	} else {
		conn, err = sql.Open("pgx", db.DSN)
	}
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Holds reports whether db holds needle anywhere, as it is or as hex: on
// SQLite in its files (the database, the WAL and the shared memory), on
// PostgreSQL in every row of every table as PostgreSQL prints it (bytea as
// hex). Tests use it to show that something identifying was never stored.
func (db DB) Holds(t testing.TB, needle []byte) bool {
	t.Helper()
	if db.Engine == store.SQLite {
		path := filepath.Join(db.DataDir, store.FileName)
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if bytes.Contains(b, needle) {
				return true
			}
		}
		return false
	}
	conn, err := sql.Open("pgx", db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	hexNeedle := hex.EncodeToString(needle)
	for _, tbl := range tables {
		rows, err := conn.Query(`SELECT t::text FROM "` + tbl + `" t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(line, string(needle)) || strings.Contains(line, hexNeedle) {
				rows.Close()
				return true
			}
		}
		rows.Close()
	}
	return false
}
