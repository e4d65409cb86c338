package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The audit log is append-only: this file has no method that updates or
// deletes an entry, and the migration adds triggers that refuse both. What an
// entry means, how its hash is computed and how the chain is verified belong
// to internal/audit; the store only keeps the chain's order.

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	Seq      int64 // 1, 2, 3 … without gaps
	At       time.Time
	Actor    string
	OrgID    string
	Action   string
	ReportID string
	Detail   string
	PrevHash []byte // Hash of entry Seq-1; 32 zero bytes for entry 1
	Hash     []byte
	Sig      []byte
}

// auditLock is the PostgreSQL advisory lock key ("salamaau" in ASCII) that
// serialises appends to the audit log between instances.
const auditLock int64 = 0x73616c616d616175

const auditColumns = `seq, at, actor, org_id, action, report_id, detail, prev_hash, hash, sig`

// AppendAudit appends e to the audit log in one write transaction. It sets
// e.Seq to the last entry's seq + 1 (1 for the first) and e.PrevHash to the
// last entry's hash (32 zero bytes for the first), then calls sign, which
// returns the entry's hash and signature, and inserts e as it then is.
//
// Appenders are serialised (on PostgreSQL by an advisory lock held to the end
// of the transaction, on SQLite by its single writer), so the chain never
// forks; the primary key on seq would refuse a fork if it were tried. sign
// runs inside that lock: it must be quick, touch nothing outside e, and may
// run more than once (a PostgreSQL transaction may be retried). It may set
// e.At, so that timestamps follow the chain's order.
func (s *Store) AppendAudit(ctx context.Context, e *AuditEntry, sign func(prev []byte, seq int64) (hash, sig []byte)) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error { return s.appendAuditTx(ctx, tx, e, sign) })
	if err != nil {
		return fmt.Errorf("store: append audit entry: %w", err)
	}
	return nil
}

// PendingAudit is an audit entry that a store method appends in the same
// transaction as the change it records, so that the change and its entry
// commit together or not at all (see audit.Log.Prepare). Sign is as for
// AppendAudit.
type PendingAudit struct {
	Entry *AuditEntry
	Sign  func(prev []byte, seq int64) (hash, sig []byte)
}

// appendAuditTx is AppendAudit inside tx. Call it last in a transaction: on
// PostgreSQL it holds the log's lock until the commit.
func (s *Store) appendAuditTx(ctx context.Context, tx *sql.Tx, e *AuditEntry, sign func(prev []byte, seq int64) (hash, sig []byte)) error {
	if s.d.engine == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	// On PostgreSQL this is a new statement, so under READ COMMITTED it
	// sees the entry the previous lock holder committed.
	var last int64
	var prev []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		last, prev = 0, make([]byte, 32) // the first entry's PrevHash
	case err != nil:
		return fmt.Errorf("read last entry: %w", err)
	}
	e.Seq, e.PrevHash = last+1, bytesOrEmpty(prev)
	e.Hash, e.Sig = sign(e.PrevHash, e.Seq)
	if len(e.Hash) == 0 || len(e.Sig) == 0 {
		return errors.New("no hash or signature")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.Seq, e.At.Unix(), e.Actor, e.OrgID, e.Action, e.ReportID, e.Detail, e.PrevHash, e.Hash, e.Sig)
	return err
}

// AuditEntries returns up to limit entries with seq > afterSeq, in ascending
// seq order: a verifier streams the whole log a page at a time.
func (s *Store) AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read audit log: %w", err)
	}
	return scanAudit(rows)
}

// AuditForReport returns every entry about a report, in seq order.
func (s *Store) AuditForReport(ctx context.Context, reportID string) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE report_id = $1 ORDER BY seq`, reportID)
	if err != nil {
		return nil, fmt.Errorf("store: read audit log: %w", err)
	}
	return scanAudit(rows)
}

func scanAudit(rows *sql.Rows) ([]AuditEntry, error) {
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.OrgID, &e.Action, &e.ReportID, &e.Detail, &e.PrevHash, &e.Hash, &e.Sig); err != nil {
			return nil, fmt.Errorf("store: read audit log: %w", err)
		}
		e.At = time.Unix(at, 0).UTC()
		e.PrevHash, e.Hash, e.Sig = bytesOrEmpty(e.PrevHash), bytesOrEmpty(e.Hash), bytesOrEmpty(e.Sig)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read audit log: %w", err)
	}
	return out, nil
}

// bytesOrEmpty makes an empty BLOB read the same on both engines (SQLite
// scans it as nil).
func bytesOrEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// AuditByAction returns every entry of an action that is about no report
// (a key rotation, say), in seq order.
func (s *Store) AuditByAction(ctx context.Context, action string) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE report_id = '' AND action = $1 ORDER BY seq`, action)
	if err != nil {
		return nil, fmt.Errorf("store: read audit log: %w", err)
	}
	return scanAudit(rows)
}

// AuditHead returns the newest entry, or nil for an empty log.
func (s *Store) AuditHead(ctx context.Context) (*AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("store: read audit log: %w", err)
	}
	es, err := scanAudit(rows)
	if err != nil || len(es) == 0 {
		return nil, err
	}
	return &es[0], nil
}
