package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

func TestMigrationFilesPaired(t *testing.T) {
	t.Parallel()
	lv, ln, err := store.MigrationVersions(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pv, pn, err := store.MigrationVersions(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lv) == 0 {
		t.Fatal("no migrations embedded")
	}
	if !slices.Equal(ln, pn) || !slices.Equal(lv, pv) {
		t.Errorf("migrations differ:\nsqlite   %v\npostgres %v", ln, pn)
	}
}

func TestMigrationsApplied(t *testing.T) {
	t.Parallel()
	want, _, err := store.MigrationVersions(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		v, err := s.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if v != want[len(want)-1] {
			t.Errorf("schema version %d, want %d", v, want[len(want)-1])
		}
		var n int
		if err := store.ReaderOf(s).QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(want) {
			t.Errorf("%d rows in schema_migrations, want %d", n, len(want))
		}
	})
}

func TestReopen(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		ctx := t.Context()
		s := db.Open(t)
		if _, err := s.EnsureSetting(ctx, "k", func() ([]byte, error) { return []byte("v"), nil }); err != nil {
			t.Fatal(err)
		}
		v1, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s = db.Open(t)
		v2, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v1 != v2 {
			t.Errorf("version %d after reopening, was %d", v2, v1)
		}
		var n int
		if err := store.ReaderOf(s).QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if int64(n) != v2 {
			t.Errorf("%d rows in schema_migrations, want %d", n, v2)
		}
		if v, ok, err := s.Setting(ctx, "k"); err != nil || !ok || string(v) != "v" {
			t.Errorf("setting after reopening: %q %v %v", v, ok, err)
		}
	})
}

// TestConcurrentStart opens one fresh database from several instances at
// once: each migration must be applied exactly once and every Open succeed.
func TestConcurrentStart(t *testing.T) {
	t.Parallel()
	want, _, err := store.MigrationVersions(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		const n = 4
		stores := make([]*store.Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				stores[i], errs[i] = store.Open(t.Context(), db.DSN, db.DataDir)
			})
		}
		wg.Wait()
		for i, s := range stores {
			if errs[i] != nil {
				t.Errorf("instance %d: %v", i, errs[i])
				continue
			}
			defer s.Close()
		}
		if t.Failed() {
			return
		}
		var count int
		if err := store.ReaderOf(stores[0]).QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if count != len(want) {
			t.Errorf("%d rows in schema_migrations, want %d", count, len(want))
		}
	})
}

func TestRefuseNewerSchema(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		s := db.Open(t)
		err := s.Tx(t.Context(), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, int64(999999), int64(0))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s2, err := store.Open(t.Context(), db.DSN, db.DataDir)
		if err == nil {
			s2.Close()
		}
		if !errors.Is(err, store.ErrSchemaTooNew) {
			t.Errorf("Open over a newer schema: %v, want ErrSchemaTooNew", err)
		}
	})
}

// TestSchemasMatch compares the schema the SQLite migrations make with the
// one the PostgreSQL migrations make: tables, columns in order with their
// types (BLOB ≡ BYTEA), nullability and defaults, primary keys, indexes by
// column list and foreign keys.
func TestSchemasMatch(t *testing.T) {
	t.Parallel()
	lite := describeSQLite(t, storetest.Open(t, store.SQLite))
	pg := describePostgres(t, storetest.Open(t, store.Postgres))
	if len(lite) < 5 {
		t.Fatalf("only %d tables described on SQLite", len(lite))
	}
	for _, name := range union(keys(lite), keys(pg)) {
		l, lok := lite[name]
		p, pok := pg[name]
		switch {
		case !lok:
			t.Errorf("table %s only on PostgreSQL", name)
		case !pok:
			t.Errorf("table %s only on SQLite", name)
		default:
			for _, d := range diffLines(l.lines(), p.lines()) {
				t.Errorf("table %s: %s", name, d)
			}
		}
	}
}

type tableShape struct {
	columns []string // "name TYPE NOT NULL DEFAULT x", in order
	pk      []string
	indexes []string // "UNIQUE (a, b DESC)" or "name (a)"; sorted
	fks     []string // "(a) -> t(b) ON DELETE CASCADE"; sorted
}

func (s tableShape) lines() []string {
	var out []string
	for i, c := range s.columns {
		out = append(out, fmt.Sprintf("column %d: %s", i+1, c))
	}
	out = append(out, "primary key ("+strings.Join(s.pk, ", ")+")")
	for _, ix := range s.indexes {
		out = append(out, "index "+ix)
	}
	for _, fk := range s.fks {
		out = append(out, "foreign key "+fk)
	}
	return out
}

func column(name, typ string, notNull bool, dflt sql.NullString) string {
	typ = strings.ToUpper(typ)
	if typ == "BYTEA" {
		typ = "BLOB"
	}
	c := name + " " + typ
	if notNull {
		c += " NOT NULL"
	}
	if dflt.Valid {
		// PostgreSQL spells a default with its type: ''::text.
		c += " DEFAULT " + strings.ToLower(pgCast.ReplaceAllString(dflt.String, ""))
	}
	return c
}

var pgCast = regexp.MustCompile(`::[a-z ]+$`)

func describeSQLite(t *testing.T, s *store.Store) map[string]tableShape {
	t.Helper()
	ctx := t.Context()
	db := store.ReaderOf(s)
	tables := queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	out := map[string]tableShape{}
	for _, table := range tables {
		var shape tableShape
		type pkCol struct {
			pos  int
			name string
		}
		var pks []pkCol
		rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info($1) ORDER BY cid`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var (
				name, typ string
				notNull   bool
				dflt      sql.NullString
				pk        int
			)
			if err := rows.Scan(&name, &typ, &notNull, &dflt, &pk); err != nil {
				t.Fatal(err)
			}
			shape.columns = append(shape.columns, column(name, typ, notNull, dflt))
			if pk > 0 {
				pks = append(pks, pkCol{pk, name})
			}
		}
		closeRows(t, rows)
		sort.Slice(pks, func(i, j int) bool { return pks[i].pos < pks[j].pos })
		for _, p := range pks {
			shape.pk = append(shape.pk, p.name)
		}

		rows, err = db.QueryContext(ctx, `SELECT name, "unique", origin FROM pragma_index_list($1)`, table)
		if err != nil {
			t.Fatal(err)
		}
		type ix struct {
			name, origin string
			unique       bool
		}
		var ixs []ix
		for rows.Next() {
			var i ix
			if err := rows.Scan(&i.name, &i.unique, &i.origin); err != nil {
				t.Fatal(err)
			}
			ixs = append(ixs, i)
		}
		closeRows(t, rows)
		for _, i := range ixs {
			if i.origin == "pk" {
				continue // compared as the primary key
			}
			rows, err := db.QueryContext(ctx, `SELECT name, "desc" FROM pragma_index_xinfo($1) WHERE key = 1 ORDER BY seqno`, i.name)
			if err != nil {
				t.Fatal(err)
			}
			var cols []string
			for rows.Next() {
				var name string
				var desc bool
				if err := rows.Scan(&name, &desc); err != nil {
					t.Fatal(err)
				}
				if desc {
					name += " DESC"
				}
				cols = append(cols, name)
			}
			closeRows(t, rows)
			name := i.name
			if i.origin == "u" {
				name = "" // a UNIQUE constraint: engines name it differently
			}
			shape.indexes = append(shape.indexes, indexLine(name, i.unique, cols))
		}
		sort.Strings(shape.indexes)

		rows, err = db.QueryContext(ctx, `SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq`, table)
		if err != nil {
			t.Fatal(err)
		}
		shape.fks = fkLines(t, rows, func(onDelete string) string { return onDelete })
		out[table] = shape
	}
	return out
}

func describePostgres(t *testing.T, s *store.Store) map[string]tableShape {
	t.Helper()
	ctx := t.Context()
	db := store.ReaderOf(s)
	tables := queryStrings(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	out := map[string]tableShape{}
	for _, table := range tables {
		var shape tableShape
		rows, err := db.QueryContext(ctx, `SELECT column_name, data_type, is_nullable = 'NO', column_default
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, typ string
			var notNull bool
			var dflt sql.NullString
			if err := rows.Scan(&name, &typ, &notNull, &dflt); err != nil {
				t.Fatal(err)
			}
			shape.columns = append(shape.columns, column(name, typ, notNull, dflt))
		}
		closeRows(t, rows)

		// One row per index column, in key order; indoption bit 0 is DESC.
		rows, err = db.QueryContext(ctx, `SELECT c.relname, i.indisprimary, i.indisunique,
				EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid),
				a.attname, (i.indoption[(k.n - 1)::int] & 1) = 1
			FROM pg_index i
			JOIN pg_class c ON c.oid = i.indexrelid
			CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			WHERE i.indrelid = $1::regclass
			ORDER BY c.relname, k.n`, table)
		if err != nil {
			t.Fatal(err)
		}
		type ix struct {
			unique, constraint bool
			cols               []string
		}
		ixs := map[string]*ix{}
		var names []string
		for rows.Next() {
			var name, col string
			var primary, unique, constraint, desc bool
			if err := rows.Scan(&name, &primary, &unique, &constraint, &col, &desc); err != nil {
				t.Fatal(err)
			}
			if primary {
				shape.pk = append(shape.pk, col)
				continue
			}
			if desc {
				col += " DESC"
			}
			i, ok := ixs[name]
			if !ok {
				i = &ix{unique: unique, constraint: constraint}
				ixs[name] = i
				names = append(names, name)
			}
			i.cols = append(i.cols, col)
		}
		closeRows(t, rows)
		for _, name := range names {
			i := ixs[name]
			if i.constraint {
				name = ""
			}
			shape.indexes = append(shape.indexes, indexLine(name, i.unique, i.cols))
		}
		sort.Strings(shape.indexes)

		rows, err = db.QueryContext(ctx, `SELECT con.conname, rc.relname, a.attname, ra.attname, con.confdeltype
			FROM pg_constraint con
			JOIN pg_class rc ON rc.oid = con.confrelid
			CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(col, refcol, n)
			JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.col
			JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refcol
			WHERE con.conrelid = $1::regclass AND con.contype = 'f'
			ORDER BY con.conname, k.n`, table)
		if err != nil {
			t.Fatal(err)
		}
		shape.fks = fkLines(t, rows, func(del string) string { return pgDeleteAction[del] })
		out[table] = shape
	}
	return out
}

// pgDeleteAction spells pg_constraint.confdeltype as SQLite's
// pragma_foreign_key_list does.
var pgDeleteAction = map[string]string{
	"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT",
}

func indexLine(name string, unique bool, cols []string) string {
	s := "(" + strings.Join(cols, ", ") + ")"
	if unique {
		s = "UNIQUE " + s
	}
	if name != "" {
		s = name + " " + s
	}
	return s
}

// fkLines reads a listing of foreign keys, a row for each column of a key
// (the key's name or number, the table it references, the column, the
// column it references, what happens on delete; a key's columns in order),
// into one fkLine a key, sorted. spell words the engine's on-delete action
// as SQLite does.
func fkLines(t *testing.T, rows *sql.Rows, spell func(string) string) []string {
	t.Helper()
	byKey := map[string]*[4]string{}
	var keys []string
	for rows.Next() {
		var key, ref, from, to, onDelete string
		if err := rows.Scan(&key, &ref, &from, &to, &onDelete); err != nil {
			t.Fatal(err)
		}
		f, ok := byKey[key]
		if !ok {
			f = &[4]string{"", ref, "", spell(onDelete)}
			byKey[key] = f
			keys = append(keys, key)
		}
		f[0] = joinComma(f[0], from)
		f[2] = joinComma(f[2], to)
	}
	closeRows(t, rows)
	var out []string
	for _, key := range keys {
		f := byKey[key]
		out = append(out, fkLine(f[0], f[1], f[2], f[3]))
	}
	sort.Strings(out)
	return out
}

func fkLine(from, ref, to, onDelete string) string {
	return fmt.Sprintf("(%s) -> %s(%s) ON DELETE %s", from, ref, to, onDelete)
}

func joinComma(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	closeRows(t, rows)
	return out
}

func closeRows(t *testing.T, rows *sql.Rows) {
	t.Helper()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// diffLines reports the lines only a (SQLite) or only b (PostgreSQL) has,
// or that they have the same lines in another order.
func diffLines(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, fmt.Sprintf("only on sqlite:   %s", x))
		}
	}
	for _, y := range b {
		if !slices.Contains(a, y) {
			out = append(out, fmt.Sprintf("only on postgres: %s", y))
		}
	}
	if len(out) == 0 && !slices.Equal(a, b) {
		out = append(out, fmt.Sprintf("same lines in another order:\nsqlite   %q\npostgres %q", a, b))
	}
	return out
}
