// Package backup owns Salama's backup file: `salama backup` writes one,
// `salama restore` reads one back into an empty database (SPEC §5.5).
//
// Why this shape: a backup is a copy of everything, so it must be at least
// as hard to read as the database, and it must restore when it is needed,
// possibly years later, possibly on the other engine (a small NGO that
// started on SQLite moves to PostgreSQL, or a PostgreSQL deployment is
// rebuilt on a single Raspberry Pi). So:
//
//   - One portable format for both engines: every table's rows as JSON
//     lines, in foreign-key order, typed by four column types (text, int,
//     bool, bytes as base64), read from the database's catalog so that a
//     table added by a later migration is never forgotten. A SQLite backup
//     restores on PostgreSQL and the other way round.
//   - A consistent snapshot, taken in one read transaction (REPEATABLE READ
//     on PostgreSQL; on SQLite a WAL read transaction, which sees the
//     database as of its first read while the server goes on writing). No
//     plaintext copy of the database (VACUUM INTO, a dump file) ever touches
//     the disk: the rows go straight from the transaction through gzip into
//     age.
//   - age, to one or more recipients whose private keys the operator keeps
//     offline; X25519 or hybrid post-quantum (ML-KEM-768 + X25519). age
//     authenticates every 64 KiB chunk and the end of the file, so an
//     altered or truncated backup fails to restore rather than restoring
//     wrong; the format's trailer (row counts per table) checks it once more.
//   - Restore refuses a database that is not empty, and can restore a
//     backup of an older schema: it migrates the empty database up to the
//     backup's version, loads, then migrates the rest, all in one
//     transaction. A restore that fails leaves the target as it was: no
//     half-loaded rows, no empty schema, and on SQLite no database file if
//     there was none.
//
// Not in a backup: logins (survivor, console and USSD sessions: a restored
// deployment starts with everyone logged out) and the schema's own
// bookkeeping. Nor, unless the operator asks (IncludeSecrets), the network
// secret and the signing key, which never live in the database: see
// seal.DeploymentSecrets for the trade-off.
//
// Inside the age file, after gunzip, the format is (one JSON value a line):
//
//	{"format":"salama-backup","version":1,"schema":7,"engine":"sqlite","created":"…","secrets":false,"expires":"…"}
//	{"secrets":"network=… signing=…"}                      (only with IncludeSecrets)
//	{"table":"organisations","columns":[{"name":"id","type":"text"},…]}
//	["org_…","Example",true,…]                               (one array per row)
//	{"end":"organisations","rows":3}
//	…                                                        (every table)
//	{"done":true,"tables":17,"rows":1234}
//
// so `age -d -i key.txt backup.age | gunzip | head` shows an operator what a
// backup holds.
//
// What this package must never do: write any part of a backup unencrypted,
// or log a row.
package backup

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/salama-ke/salama/internal/seal"
	"github.com/salama-ke/salama/internal/store"
)

// Format and Version name this file format.
const (
	Format  = "salama-backup"
	Version = 1
)

// ErrFormat means the file is not a Salama backup this program can read, or
// is incomplete.
var ErrFormat = errors.New("backup: not a complete Salama backup")

// header is the first line.
type header struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Schema  int64     `json:"schema"`
	Engine  string    `json:"engine"`
	Created time.Time `json:"created"`
	Secrets bool      `json:"secrets"`
	// Expires (optional; absent in backups made before it existed) is
	// when the operator wanted this backup gone. Restore refuses an
	// expired backup unless told otherwise: it would bring back reports
	// survivors withdrew since.
	Expires *time.Time `json:"expires,omitempty"`
}

// record is every other line that is not a row.
type record struct {
	Secrets *string        `json:"secrets,omitempty"`
	Table   string         `json:"table,omitempty"`
	Columns []store.Column `json:"columns,omitempty"`
	End     string         `json:"end,omitempty"`
	Rows    *int64         `json:"rows,omitempty"`
	Done    bool           `json:"done,omitempty"`
	Tables  *int           `json:"tables,omitempty"`
}

// Summary describes a backup.
type Summary struct {
	Created time.Time
	Engine  string // the engine it was taken from
	Schema  int64
	Secrets bool // it carries the network secret and signing key
	// Expires is when the operator wanted the backup gone (salama backup
	// --keep-days); zero if they set no period.
	Expires time.Time
	Tables  []TableCount
	Rows    int64
	// RemovedLeftovers names the temporary files of interrupted backups
	// that WriteFile removed from the target directory.
	RemovedLeftovers []string
}

// TableCount is how many rows of a table a backup holds.
type TableCount struct {
	Name string
	Rows int64
}

// Options for Write.
type Options struct {
	Recipients *seal.BackupRecipients
	// Secrets, if not nil, go into the backup (salama backup
	// --include-secrets).
	Secrets *seal.DeploymentSecrets
	Now     time.Time
	// Keep, if positive, records Now + Keep as the backup's expiry.
	Keep time.Duration
}

// Write writes a backup of st to dst: a consistent snapshot, gzipped and
// age-encrypted to o.Recipients. Nothing reaches dst unencrypted. On error,
// what was written to dst is not a valid backup (it fails to restore).
func Write(ctx context.Context, st *store.Store, dst io.Writer, o Options) (*Summary, error) {
	if o.Recipients == nil {
		return nil, errors.New("backup: no recipients")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	aw, err := o.Recipients.Encrypt(dst)
	if err != nil {
		return nil, err
	}
	zw := gzip.NewWriter(aw)
	bw := bufio.NewWriterSize(zw, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)

	sum := &Summary{Created: o.Now.UTC().Truncate(time.Second), Engine: st.Engine(), Secrets: o.Secrets != nil}
	var expires *time.Time
	if o.Keep > 0 {
		sum.Expires = sum.Created.Add(o.Keep)
		expires = &sum.Expires
	}
	err = st.Snapshot(ctx, func(sn *store.Snapshot) error {
		sum.Schema = sn.Schema
		if err := enc.Encode(header{Format: Format, Version: Version, Schema: sn.Schema, Engine: sum.Engine, Created: sum.Created, Secrets: sum.Secrets, Expires: expires}); err != nil {
			return err
		}
		if o.Secrets != nil {
			text, err := o.Secrets.MarshalText()
			if err != nil {
				return err
			}
			s := string(text)
			err = enc.Encode(record{Secrets: &s})
			clear(text)
			if err != nil {
				return err
			}
		}
		for _, t := range sn.Tables {
			if err := enc.Encode(record{Table: t.Name, Columns: t.Columns}); err != nil {
				return err
			}
			n, err := sn.Rows(ctx, t, func(row []any) error {
				for i, v := range row {
					if s, ok := v.(string); ok && !utf8.ValidString(s) {
						// JSON would quietly replace the bad bytes.
						return fmt.Errorf("backup: %s.%s holds text that is not UTF-8", t.Name, t.Columns[i].Name)
					}
				}
				return enc.Encode(row) // []byte encodes as base64
			})
			if err != nil {
				return err
			}
			if err := enc.Encode(record{End: t.Name, Rows: &n}); err != nil {
				return err
			}
			sum.Tables = append(sum.Tables, TableCount{t.Name, n})
			sum.Rows += n
		}
		nt := len(sum.Tables)
		return enc.Encode(record{Done: true, Tables: &nt, Rows: &sum.Rows})
	})
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return sum, nil
}

// WriteFile writes a backup to path, which must not exist. It writes to a
// temporary file beside it (mode 0600, locked while it is written), syncs
// it, and links it into place only when the backup is complete, so a crash
// or an error never leaves a file at path that looks like a backup. It
// first removes what interrupted backups left in the directory (see
// files.go) and lists them in the summary.
func WriteFile(ctx context.Context, st *store.Store, path string, o Options) (*Summary, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("backup: %s exists; choose a new name (backups are never overwritten)", path)
	}
	dir := filepath.Dir(path)
	leftovers := removeLeftovers(dir)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+partialInfix+"*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := lockPartial(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("backup: lock %s: %w", tmp.Name(), err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sum, err := Write(ctx, st, tmp, o)
	if err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	// Link, not rename: it fails if path appeared in the meantime.
	if err := os.Link(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	os.Remove(tmp.Name())
	done = true
	syncDir(dir)
	sum.RemovedLeftovers = leftovers
	return sum, nil
}

// RestoreOptions say where to restore to.
type RestoreOptions struct {
	Identities *seal.BackupIdentities
	// Database is "" for SQLite in DataDir, or a postgres:// URL.
	Database, DataDir string
	// AllowExpired restores a backup past its expiry (see ErrExpired).
	AllowExpired bool
	Now          time.Time
}

// ErrExpired means the backup is past the expiry its maker set (salama
// backup --keep-days). It may hold reports survivors withdrew since, which
// a restore would bring back; restore it only if nothing newer exists.
var ErrExpired = errors.New("backup: the backup has expired")

// Restored says what Restore did.
type Restored struct {
	Summary
	// SecretsInstalled lists the key files written into the data directory
	// from the backup (none if it had no secrets, or they were there).
	SecretsInstalled []string
}

// Restore loads the backup in src into an empty database, in one
// transaction, then brings its schema up to date. If the backup carries the
// deployment secrets they are written into DataDir (never over different
// ones: that is checked before anything is loaded). It returns
// store.ErrNotEmpty if the target holds data, ErrFormat for a file that is
// not a complete backup.
func Restore(ctx context.Context, src io.Reader, o RestoreOptions) (*Restored, error) {
	r, err := open(src, o.Identities)
	if err != nil {
		return nil, err
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if r.h.Expires != nil && o.Now.After(*r.h.Expires) && !o.AllowExpired {
		return nil, fmt.Errorf("%w: it was taken %s and was to be deleted %s", ErrExpired,
			r.h.Created.Format("2006-01-02 15:04 MST"), r.h.Expires.Format("2006-01-02 15:04 MST"))
	}
	if r.secrets != nil {
		if err := r.secrets.CheckInstall(o.DataDir); err != nil {
			return nil, err
		}
	}
	st, err := store.OpenForRestore(ctx, o.Database, o.DataDir, r.h.Schema)
	if err != nil {
		return nil, err
	}
	restored := false
	defer func() {
		if restored {
			st.Close()
		} else {
			// Leave the target as it was: no database file (SQLite) or
			// schema (PostgreSQL: the transaction rolled back) left over.
			st.Discard()
		}
	}()
	var sum *Summary
	err = st.Load(ctx, func(l *store.Loader) error {
		var err error
		sum, err = r.body(func(name string, cols []store.Column) (func([]any) error, func() error, error) {
			tl, err := l.Table(ctx, name, cols)
			if err != nil {
				return nil, nil, err
			}
			return func(row []any) error { return tl.Insert(ctx, row) }, tl.Close, nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	restored = true
	out := &Restored{Summary: *sum}
	if r.secrets != nil {
		if out.SecretsInstalled, err = r.secrets.Install(o.DataDir); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ErrNoSecrets means a backup holds no deployment secrets (it was made
// without --include-secrets).
var ErrNoSecrets = errors.New("backup: the backup holds no network secret or signing key (it was made without --include-secrets)")

// RestoreSecrets writes only the network secret and the signing key a
// backup holds into dataDir, for a deployment whose database is fine but
// whose key files were lost. A key file already there must hold the same
// key (seal.ErrSecretsConflict otherwise); nothing is overwritten. It
// returns the files written. The rest of the backup is read through, so a
// damaged file is refused before anything is written.
func RestoreSecrets(src io.Reader, ids *seal.BackupIdentities, dataDir string) ([]string, error) {
	r, err := open(src, ids)
	if err != nil {
		return nil, err
	}
	if r.secrets == nil {
		return nil, ErrNoSecrets
	}
	if err := r.secrets.CheckInstall(dataDir); err != nil {
		return nil, err
	}
	if _, err := r.body(func(string, []store.Column) (func([]any) error, func() error, error) {
		return func([]any) error { return nil }, func() error { return nil }, nil
	}); err != nil {
		return nil, err
	}
	return r.secrets.Install(dataDir)
}

// Check reads a whole backup without restoring it: that it decrypts with
// identities, is complete and well formed. It returns its summary.
func Check(src io.Reader, identities *seal.BackupIdentities) (*Summary, error) {
	r, err := open(src, identities)
	if err != nil {
		return nil, err
	}
	return r.body(func(string, []store.Column) (func([]any) error, func() error, error) {
		return func([]any) error { return nil }, func() error { return nil }, nil
	})
}

// reader decodes a backup.
type reader struct {
	dec     *json.Decoder
	h       header
	secrets *seal.DeploymentSecrets
}

func open(src io.Reader, ids *seal.BackupIdentities) (*reader, error) {
	if ids == nil {
		return nil, errors.New("backup: no identity to decrypt with")
	}
	pr, err := ids.Decrypt(src)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(pr, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	r := &reader{dec: json.NewDecoder(zr)}
	r.dec.UseNumber()
	if err := r.dec.Decode(&r.h); err != nil {
		return nil, fmt.Errorf("%w: no header (%v)", ErrFormat, err)
	}
	switch {
	case r.h.Format != Format:
		return nil, fmt.Errorf("%w: the header does not say %q", ErrFormat, Format)
	case r.h.Version != Version:
		return nil, fmt.Errorf("%w: format version %d; this program reads version %d", ErrFormat, r.h.Version, Version)
	case r.h.Schema < 1:
		return nil, fmt.Errorf("%w: no schema version", ErrFormat)
	}
	if r.h.Secrets {
		var rec record
		if err := r.dec.Decode(&rec); err != nil || rec.Secrets == nil {
			return nil, fmt.Errorf("%w: the header announces secrets that do not follow", ErrFormat)
		}
		r.secrets = &seal.DeploymentSecrets{}
		if err := r.secrets.UnmarshalText([]byte(*rec.Secrets)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
	}
	return r, nil
}

// tableSink receives one table: the insert function, and a close function.
type tableSink func(name string, cols []store.Column) (insert func([]any) error, close func() error, err error)

// body reads the tables and the trailer, giving every row to the sink.
func (r *reader) body(sink tableSink) (*Summary, error) {
	sum := &Summary{Created: r.h.Created, Engine: r.h.Engine, Schema: r.h.Schema, Secrets: r.h.Secrets}
	if r.h.Expires != nil {
		sum.Expires = *r.h.Expires
	}
	for {
		var raw json.RawMessage
		if err := r.dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: it ends before its last line (cut short?)", ErrFormat)
			}
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		var rec record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("%w: expected a table or the end, found something else", ErrFormat)
		}
		switch {
		case rec.Done:
			if rec.Tables == nil || rec.Rows == nil || *rec.Tables != len(sum.Tables) || *rec.Rows != sum.Rows {
				return nil, fmt.Errorf("%w: its totals do not match its contents", ErrFormat)
			}
			if r.dec.More() {
				return nil, fmt.Errorf("%w: data after the last line", ErrFormat)
			}
			return sum, nil
		case rec.Table != "":
			n, err := r.table(rec.Table, rec.Columns, sink)
			if err != nil {
				return nil, err
			}
			sum.Tables = append(sum.Tables, TableCount{rec.Table, n})
			sum.Rows += n
		default:
			return nil, fmt.Errorf("%w: expected a table or the end, found something else", ErrFormat)
		}
	}
}

func (r *reader) table(name string, cols []store.Column, sink tableSink) (int64, error) {
	if len(cols) == 0 {
		return 0, fmt.Errorf("%w: table %s has no columns", ErrFormat, name)
	}
	insert, closeTable, err := sink(name, cols)
	if err != nil {
		return 0, err
	}
	defer closeTable()
	row := make([]any, len(cols))
	var n int64
	for {
		var raw json.RawMessage
		if err := r.dec.Decode(&raw); err != nil {
			return n, fmt.Errorf("%w: table %s ends early (%v)", ErrFormat, name, err)
		}
		if len(raw) > 0 && raw[0] == '{' {
			var rec record
			if err := json.Unmarshal(raw, &rec); err != nil || rec.End != name || rec.Rows == nil {
				return n, fmt.Errorf("%w: table %s is not closed", ErrFormat, name)
			}
			if *rec.Rows != n {
				return n, fmt.Errorf("%w: table %s has %d rows, its end says %d", ErrFormat, name, n, *rec.Rows)
			}
			return n, nil
		}
		var vals []json.RawMessage
		if err := json.Unmarshal(raw, &vals); err != nil || len(vals) != len(cols) {
			return n, fmt.Errorf("%w: table %s, row %d: not an array of %d values", ErrFormat, name, n+1, len(cols))
		}
		for i, c := range cols {
			v, err := decodeValue(vals[i], c.Type)
			if err != nil {
				return n, fmt.Errorf("%w: table %s, row %d, column %s: %v", ErrFormat, name, n+1, c.Name, err)
			}
			row[i] = v
		}
		if err := insert(row); err != nil {
			return n, err
		}
		n++
	}
}

// decodeValue turns one JSON value into the Go value store.Loader takes for
// a column type.
func decodeValue(raw json.RawMessage, typ string) (any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	switch typ {
	case store.ColText:
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case store.ColInt:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, err
		}
		return n.Int64()
	case store.ColBool:
		var b bool
		err := json.Unmarshal(raw, &b)
		return b, err
	case store.ColBytes:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if b == nil && err == nil {
			b = []byte{}
		}
		return b, err
	}
	return nil, fmt.Errorf("unknown column type %q", typ)
}
