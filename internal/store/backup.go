package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Dump and load for backups (internal/backup owns the file format). Both work
// from the database's own catalog, so a table added by a later migration is
// backed up without anyone remembering to list it, and both engines describe
// their rows in the same four column types, so a backup made on SQLite
// restores on PostgreSQL and the other way round.

// Column types as a backup names them, the same on both engines.
const (
	ColText  = "text"  // TEXT
	ColInt   = "int"   // INTEGER, BIGINT
	ColBool  = "bool"  // BOOLEAN (0/1 on SQLite)
	ColBytes = "bytes" // BLOB, BYTEA
)

// Column is one column of a table.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Table is a table's name and columns, in the order the engine keeps them.
type Table struct {
	Name    string
	Columns []Column
	key     []string // primary key columns, to dump rows in a stable order
}

// skippedTables are never backed up, and need not be empty for a restore:
// the schema's own bookkeeping (the target gets its own from the
// migrations), and logins, which are short-lived and whose keys live in
// cookies; a restored deployment starts with everyone logged out.
var skippedTables = map[string]bool{
	"schema_migrations": true,
	"survivor_sessions": true,
	"console_sessions":  true,
	"ussd_sessions":     true,
	// The re-wrap job's copies of retired organisation keys: a backup
	// must not hold a key that opens reports (docs/security.md,
	// "Organisation key rotation"); after a restore, the next member's
	// login hands them over again.
	"org_key_rotation_jobs": true,
}

// ErrNotEmpty means a restore target already holds data.
var ErrNotEmpty = errors.New("store: the target database is not empty")

// Snapshot is a consistent, read-only view of the whole database: one
// REPEATABLE READ transaction on PostgreSQL, one read transaction on SQLite
// (in WAL mode it sees the database as it was at its first read, while
// writers go on). Nothing is copied to disk in clear on the way.
type Snapshot struct {
	tx *sql.Tx
	// Schema is the schema version the snapshot was taken at.
	Schema int64
	// Tables are the tables to back up, parents before the tables whose
	// foreign keys refer to them, so that loading them in this order never
	// breaks a reference.
	Tables []Table
}

// Snapshot runs fn with a consistent snapshot of the database.
func (s *Store) Snapshot(ctx context.Context, fn func(*Snapshot) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d.engine == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	defer tx.Rollback()
	sn := &Snapshot{tx: tx}
	// The first read fixes the snapshot on both engines.
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&sn.Schema); err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	all, err := describe(ctx, tx, s.d.engine)
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	for _, t := range all {
		if !skippedTables[t.Name] {
			sn.Tables = append(sn.Tables, t)
		}
	}
	return fn(sn)
}

// Rows calls fn with each row of t, in primary key order. Values are nil
// (NULL), string, int64, bool or []byte (never nil for an empty BLOB), by
// the column's type. fn must not keep row: it is reused.
func (sn *Snapshot) Rows(ctx context.Context, t Table, fn func(row []any) error) (int64, error) {
	var sel []string
	for _, c := range t.Columns {
		sel = append(sel, quote(c.Name))
		if c.Type == ColBytes {
			// An empty BLOB scans as nil on SQLite: ask which it is.
			sel = append(sel, quote(c.Name)+" IS NULL")
		}
	}
	q := `SELECT ` + strings.Join(sel, ", ") + ` FROM ` + quote(t.Name)
	if len(t.key) > 0 {
		var key []string
		for _, k := range t.key {
			key = append(key, quote(k))
		}
		q += ` ORDER BY ` + strings.Join(key, ", ")
	}
	rows, err := sn.tx.QueryContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("store: read %s: %w", t.Name, err)
	}
	defer rows.Close()
	var (
		texts  = make([]sql.NullString, len(t.Columns))
		ints   = make([]sql.NullInt64, len(t.Columns))
		bools  = make([]sql.NullBool, len(t.Columns))
		blobs  = make([][]byte, len(t.Columns))
		isNull = make([]bool, len(t.Columns))
		dest   []any
		row    = make([]any, len(t.Columns))
	)
	for i, c := range t.Columns {
		switch c.Type {
		case ColText:
			dest = append(dest, &texts[i])
		case ColInt:
			dest = append(dest, &ints[i])
		case ColBool:
			dest = append(dest, &bools[i])
		case ColBytes:
			dest = append(dest, &blobs[i], &isNull[i])
		}
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("store: read %s: %w", t.Name, err)
		}
		for i, c := range t.Columns {
			row[i] = nil
			switch c.Type {
			case ColText:
				if texts[i].Valid {
					row[i] = texts[i].String
				}
			case ColInt:
				if ints[i].Valid {
					row[i] = ints[i].Int64
				}
			case ColBool:
				if bools[i].Valid {
					row[i] = bools[i].Bool
				}
			case ColBytes:
				if !isNull[i] {
					row[i] = bytesOrEmpty(blobs[i])
				}
			}
		}
		if err := fn(row); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("store: read %s: %w", t.Name, err)
	}
	return n, nil
}

// Loader fills an empty database inside one transaction; see Store.Load.
type Loader struct {
	tx     *sql.Tx
	tables map[string]Table
	loaded map[string]bool
}

// Load runs fn with a Loader inside one write transaction, after checking
// that every table it could fill is empty (ErrNotEmpty otherwise). If fn
// returns an error nothing is kept. The transaction is not retried: fn
// reads a stream.
//
// On a store opened with OpenForRestore the same transaction first
// migrates the schema up to the backup's version and, after fn, the rest
// of the way: a failure at any point leaves the database as it was, not
// with an empty schema.
func (s *Store) Load(ctx context.Context, fn func(*Loader) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.restore != nil {
			if err := s.migrateInTx(ctx, tx, s.restore.version); err != nil {
				return err
			}
		}
		if err := s.load(ctx, tx, fn); err != nil {
			return err
		}
		if s.restore != nil {
			if err := s.migrateInTx(ctx, tx, 0); err != nil {
				return fmt.Errorf("store: restored, but migrating to this program's schema failed: %w", err)
			}
		}
		return nil
	})
}

func (s *Store) load(ctx context.Context, tx *sql.Tx, fn func(*Loader) error) error {
	all, err := describe(ctx, tx, s.d.engine)
	if err != nil {
		return fmt.Errorf("store: load: %w", err)
	}
	l := &Loader{tx: tx, tables: map[string]Table{}, loaded: map[string]bool{}}
	for _, t := range all {
		if skippedTables[t.Name] {
			continue
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+quote(t.Name)+` LIMIT 1`).Scan(&one)
		if err == nil {
			return fmt.Errorf("%w: table %s has rows", ErrNotEmpty, t.Name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: load: %w", err)
		}
		l.tables[t.Name] = t
	}
	return fn(l)
}

// TableLoader inserts the rows of one table.
type TableLoader struct {
	t    Table
	stmt *sql.Stmt
	args []any
}

// Table starts loading the table name, whose rows come with cols in this
// order. The columns must be exactly the target's (same names and types, in
// any order), and each table is loaded once.
func (l *Loader) Table(ctx context.Context, name string, cols []Column) (*TableLoader, error) {
	t, ok := l.tables[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("store: load: the database has no table %q to load", name)
	case l.loaded[name]:
		return nil, fmt.Errorf("store: load: table %s given twice", name)
	}
	want := map[string]string{}
	for _, c := range t.Columns {
		want[c.Name] = c.Type
	}
	var names, params []string
	for i, c := range cols {
		typ, ok := want[c.Name]
		if !ok || typ != c.Type {
			return nil, fmt.Errorf("store: load: table %s: column %s (%s) does not match the database's", name, c.Name, c.Type)
		}
		delete(want, c.Name)
		names = append(names, quote(c.Name))
		params = append(params, fmt.Sprintf("$%d", i+1))
	}
	if len(want) > 0 {
		var missing []string
		for c := range want {
			missing = append(missing, c)
		}
		slices.Sort(missing)
		return nil, fmt.Errorf("store: load: table %s: columns missing: %s", name, strings.Join(missing, ", "))
	}
	stmt, err := l.tx.PrepareContext(ctx, `INSERT INTO `+quote(name)+` (`+strings.Join(names, ", ")+`) VALUES (`+strings.Join(params, ", ")+`)`)
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", name, err)
	}
	l.loaded[name] = true
	return &TableLoader{t: Table{Name: name, Columns: cols}, stmt: stmt, args: make([]any, len(cols))}, nil
}

// Insert adds one row, its values in the order of the columns given to
// Table: nil, or a string, int64, bool or []byte matching the column type.
func (tl *TableLoader) Insert(ctx context.Context, row []any) error {
	if len(row) != len(tl.t.Columns) {
		return fmt.Errorf("store: load %s: a row of %d values for %d columns", tl.t.Name, len(row), len(tl.t.Columns))
	}
	for i, c := range tl.t.Columns {
		v := row[i]
		ok := v == nil
		switch c.Type {
		case ColText:
			_, ok = v.(string)
		case ColInt:
			_, ok = v.(int64)
		case ColBool:
			_, ok = v.(bool)
		case ColBytes:
			var b []byte
			if b, ok = v.([]byte); ok && b == nil {
				v = []byte{} // nil would bind NULL
			}
		}
		if !ok && v != nil {
			return fmt.Errorf("store: load %s: column %s: a %T for a %s column", tl.t.Name, c.Name, v, c.Type)
		}
		tl.args[i] = v
	}
	if _, err := tl.stmt.ExecContext(ctx, tl.args...); err != nil {
		return fmt.Errorf("store: load %s: %w", tl.t.Name, err)
	}
	return nil
}

// Close ends the table's load.
func (tl *TableLoader) Close() error { return tl.stmt.Close() }

// Missing lists the tables the loader has not loaded, which stay empty.
func (l *Loader) Missing() []string {
	var out []string
	for name := range l.tables {
		if !l.loaded[name] {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// describe lists every table with its columns and primary key, parents
// before children (by foreign key), ties by name.
func describe(ctx context.Context, q querier, engine string) ([]Table, error) {
	var tablesQ, colsQ, keyQ, refsQ string
	switch engine {
	case SQLite:
		tablesQ = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
		colsQ = `SELECT name, type FROM pragma_table_info($1) ORDER BY cid`
		keyQ = `SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk`
		refsQ = `SELECT DISTINCT "table" FROM pragma_foreign_key_list($1)`
	default:
		tablesQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
		colsQ = `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
		keyQ = `SELECT a.attname FROM pg_index i
			CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`
		refsQ = `SELECT DISTINCT c.relname FROM pg_constraint con JOIN pg_class c ON c.oid = con.confrelid
			WHERE con.conrelid = $1::regclass AND con.contype = 'f'`
	}
	names, err := strs(ctx, q, tablesQ)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	byName := map[string]*Table{}
	refs := map[string][]string{}
	for _, name := range names {
		if strings.ContainsAny(name, `"`) {
			return nil, fmt.Errorf("table name %q cannot be quoted", name)
		}
		t := &Table{Name: name}
		rows, err := q.QueryContext(ctx, colsQ, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var col, typ string
			if err := rows.Scan(&col, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			ct, ok := columnType(typ)
			if !ok || strings.ContainsAny(col, `"`) {
				rows.Close()
				return nil, fmt.Errorf("column %s.%s has type %s, which backups do not know: teach internal/store/backup.go", name, col, typ)
			}
			t.Columns = append(t.Columns, Column{Name: col, Type: ct})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if t.key, err = strs(ctx, q, keyQ, name); err != nil {
			return nil, err
		}
		if refs[name], err = strs(ctx, q, refsQ, name); err != nil {
			return nil, err
		}
		byName[name] = t
	}
	// Kahn's algorithm over the foreign keys, in name order at each step.
	var out []Table
	done := map[string]bool{}
	for len(out) < len(names) {
		progress := false
		for _, name := range names {
			if done[name] {
				continue
			}
			ready := true
			for _, r := range refs[name] {
				if r != name && !done[r] && byName[r] != nil {
					ready = false
				}
			}
			if ready {
				done[name] = true
				out = append(out, *byName[name])
				progress = true
			}
		}
		if !progress {
			return nil, errors.New("the tables' foreign keys form a cycle")
		}
	}
	return out, nil
}

func columnType(declared string) (string, bool) {
	switch strings.ToUpper(strings.TrimSpace(declared)) {
	case "TEXT":
		return ColText, true
	case "INTEGER", "BIGINT":
		return ColInt, true
	case "BOOLEAN":
		return ColBool, true
	case "BLOB", "BYTEA":
		return ColBytes, true
	}
	return "", false
}

func strs(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// quote quotes an identifier the catalog gave (never input).
func quote(name string) string { return `"` + name + `"` }
