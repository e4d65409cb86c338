package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

type dumpedTable struct {
	cols []store.Column
	rows [][]any
}

func dump(t *testing.T, s *store.Store) (int64, []string, map[string]dumpedTable) {
	t.Helper()
	out := map[string]dumpedTable{}
	var order []string
	var schema int64
	err := s.Snapshot(t.Context(), func(sn *store.Snapshot) error {
		schema = sn.Schema
		for _, tb := range sn.Tables {
			order = append(order, tb.Name)
			d := dumpedTable{cols: tb.Columns}
			if _, err := sn.Rows(t.Context(), tb, func(row []any) error {
				d.rows = append(d.rows, slices.Clone(row))
				return nil
			}); err != nil {
				return err
			}
			out[tb.Name] = d
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return schema, order, out
}

func load(ctx context.Context, s *store.Store, order []string, tables map[string]dumpedTable) error {
	return s.Load(ctx, func(l *store.Loader) error {
		for _, name := range order {
			d := tables[name]
			tl, err := l.Table(ctx, name, d.cols)
			if err != nil {
				return err
			}
			for _, r := range d.rows {
				if err := tl.Insert(ctx, r); err != nil {
					return err
				}
			}
			tl.Close()
		}
		return nil
	})
}

func fillSample(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := t.Context()
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO organisations (id, name, intake, public_key, recovery_salt, recovery_wrap, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				[]any{"org1", "Ŝalama ✓ \"quoted\"", true, "age1pq1…", []byte{}, nil, int64(1) << 62}},
			{`INSERT INTO reports (id, case_ref, kind, channel, org_id, status, created_at, updated_at, consent_stats, withdrawn_at)
				VALUES ($1, $2, 'report', 'web', $3, 'new', $4, $4, true, NULL)`, []any{"r1", "K7Q4-92XM", "org1", int64(1700000000)}},
			{`INSERT INTO report_fields (report_id, name, sealed) VALUES ($1, $2, $3)`, []any{"r1", "narrative", []byte{0, 1, 2, 255}}},
			{`INSERT INTO receipts (lookup, report_id, wrap) VALUES ($1, $2, $3)`, []any{[]byte("lookup"), "r1", []byte("wrap")}},
			{`INSERT INTO settings (key, value) VALUES ($1, $2)`, []any{"empty", []byte{}}},
			{`INSERT INTO survivor_sessions (id_hash, report_id, sealed_key, created_at, last_seen) VALUES ($1, $2, $3, 1, 1)`, []any{[]byte("s"), "r1", []byte("k")}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return fmt.Errorf("%s: %w", q.sql, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &store.AuditEntry{Actor: "cli", Action: "test"}
	if err := s.AppendAudit(ctx, e, testSeal(e)); err != nil {
		t.Fatal(err)
	}
}

// TestBackupRoundTrip dumps a database and loads it into an empty one on
// each engine, from each engine: every row comes back the same, parents
// before children, sessions left out.
func TestBackupRoundTrip(t *testing.T) {
	t.Parallel()
	for _, from := range storetest.Engines {
		for _, to := range storetest.Engines {
			t.Run(from+"_to_"+to, func(t *testing.T) {
				src := storetest.Open(t, from)
				fillSample(t, src)
				schema, order, tables := dump(t, src)
				if want, _ := store.Latest(from); schema != want {
					t.Errorf("snapshot schema %d, want %d", schema, want)
				}
				for _, skipped := range []string{"schema_migrations", "survivor_sessions", "console_sessions", "ussd_sessions"} {
					if slices.Contains(order, skipped) {
						t.Errorf("%s is in the backup", skipped)
					}
				}
				if slices.Index(order, "organisations") > slices.Index(order, "reports") || slices.Index(order, "reports") > slices.Index(order, "report_fields") {
					t.Errorf("tables not in dependency order: %v", order)
				}
				if got := tables["organisations"].rows[0]; got[slices.IndexFunc(tables["organisations"].cols, func(c store.Column) bool { return c.Name == "recovery_salt" })] == nil {
					t.Error("an empty BLOB was dumped as NULL")
				}

				dst := storetest.NewDB(t, to)
				ds, err := store.OpenForRestore(t.Context(), dst.DSN, dst.DataDir, schema)
				if err != nil {
					t.Fatal(err)
				}
				defer ds.Close()
				if err := load(t.Context(), ds, order, tables); err != nil {
					t.Fatal(err)
				}
				if err := ds.Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
				_, order2, tables2 := dump(t, ds)
				if !reflect.DeepEqual(order, order2) {
					t.Errorf("tables %v, restored %v", order, order2)
				}
				for _, name := range order {
					if !reflect.DeepEqual(tables[name].rows, tables2[name].rows) {
						t.Errorf("%s: rows differ:\n%#v\n%#v", name, tables[name].rows, tables2[name].rows)
					}
				}
				// A second load is refused: the target is no longer empty.
				if err := load(t.Context(), ds, order, tables); !errors.Is(err, store.ErrNotEmpty) {
					t.Errorf("loading into a full database: %v, want ErrNotEmpty", err)
				}
			})
		}
	}
}

func TestLoadChecks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		cols := []store.Column{{Name: "key", Type: store.ColText}, {Name: "value", Type: store.ColBytes}}
		for name, fn := range map[string]func(l *store.Loader) error{
			"unknown table": func(l *store.Loader) error { _, err := l.Table(ctx, "nope", cols); return err },
			"wrong type": func(l *store.Loader) error {
				_, err := l.Table(ctx, "settings", []store.Column{{Name: "key", Type: store.ColText}, {Name: "value", Type: store.ColText}})
				return err
			},
			"missing column": func(l *store.Loader) error { _, err := l.Table(ctx, "settings", cols[:1]); return err },
			"twice": func(l *store.Loader) error {
				if _, err := l.Table(ctx, "settings", cols); err != nil {
					return nil
				}
				_, err := l.Table(ctx, "settings", cols)
				return err
			},
			"wrong value": func(l *store.Loader) error {
				tl, err := l.Table(ctx, "settings", cols)
				if err != nil {
					return nil
				}
				return tl.Insert(ctx, []any{"k", "not bytes"})
			},
			"sessions are not loaded": func(l *store.Loader) error {
				_, err := l.Table(ctx, "survivor_sessions", nil)
				return err
			},
		} {
			if err := s.Load(ctx, fn); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		// A failed load keeps nothing.
		err := s.Load(ctx, func(l *store.Loader) error {
			tl, err := l.Table(ctx, "settings", cols)
			if err != nil {
				return err
			}
			if err := tl.Insert(ctx, []any{"k", []byte("v")}); err != nil {
				return err
			}
			return errors.New("stream broke")
		})
		if err == nil {
			t.Fatal("no error")
		}
		if _, ok, _ := s.Setting(ctx, "k"); ok {
			t.Error("a failed load left a row")
		}
	})
}

func TestOpenForRestoreRefusesNewer(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		s := db.Open(t) // migrated to the latest version
		_ = s
		latest, _ := store.Latest(db.Engine)
		if _, err := store.OpenForRestore(t.Context(), db.DSN, db.DataDir, latest-1); err == nil {
			t.Error("restoring an older backup into a newer database was accepted")
		}
		if _, err := store.OpenForRestore(t.Context(), db.DSN, db.DataDir, latest+1); !errors.Is(err, store.ErrSchemaTooNew) {
			t.Errorf("a backup from a newer program: %v", err)
		}
	})
}
