package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// Report is the part of a report kept in clear: what routing, the inbox and
// statistics need. Everything the survivor typed in their own words lives in
// report_fields, sealed under the report's data key.
type Report struct {
	ID, CaseRef   string
	Kind, Channel string
	OrgID         string
	Status        string
	ClosedReason  string
	CreatedAt     time.Time
	UpdatedAt     time.Time

	About, AgeBand, County, WhenLast, DangerNow, ContactPref string
	Categories, Help                                         []string

	ConsentRefer, ConsentMatch, ConsentStats bool
	// ConsentPolice and ConsentLegal are the survivor's own ticks for the
	// police gender desk and for legal aid, which "refer me to services
	// that match my needs" (ConsentRefer) never covers.
	ConsentPolice, ConsentLegal bool
	ChildInvolved               bool
	Urgency                     int
	Withdrawn                   bool

	// Casework, set in the console.
	AssignedTo      string    // user id, "" when nobody
	GBVType         string    // one of the six GBVIMS core incident types
	ContextFlags    []string  // online, commercial sexual exploitation, …
	OpenedAt        time.Time // first time a caseworker opened it; zero if never
	FirstResponseAt time.Time // first caseworker message; zero if none

	// Retention (internal/retention).
	EscalatedAt time.Time // nobody had opened it in the escalation period; zero if not
	PurgedAt    time.Time // retention destroyed its content; zero if not
}

// Report kinds, channels and statuses as stored.
const (
	KindReport = "report"
	KindTip    = "tip"

	ChannelWeb  = "web"
	ChannelUSSD = "ussd"
	// A caseworker took the report on a survivor's behalf, in the console,
	// from a phone call, a walk-in, a chat, or another way.
	ChannelIntakePhone  = "intake_phone"
	ChannelIntakeWalkIn = "intake_walk_in"
	ChannelIntakeChat   = "intake_chat"
	ChannelIntakeOther  = "intake_other"

	StatusNew       = "new"
	StatusInReview  = "in_review"
	StatusReferred  = "referred"
	StatusClosed    = "closed"
	StatusWithdrawn = "withdrawn"
)

// NewReport is everything written when a report is submitted, in one
// transaction: a crash leaves either all of it or none of it.
type NewReport struct {
	Report
	Fields       map[string]seal.Sealed // field name → sealed value
	Attachments  []NewAttachment
	OrgRecipient string // "org:<id>"
	OrgWrap      []byte // data key wrapped to the organisation (age)
	// OrgPublicKey is the organisation public key OrgWrap was made for.
	// When set, the insert fails with ErrOrgKeyChanged if it is no longer
	// the organisation's current key (replaced by a rotation after the
	// caller read it): a wrap to a retired key must never be written, or
	// the report would be lost once the rotation deletes that key. Every
	// production path sets it.
	OrgPublicKey   string
	ReceiptLookup  []byte // argon2id-derived lookup key
	ReceiptWrap    []byte // data key wrapped under the receipt's key
	ReceiptVersion int    // the derivation of ReceiptLookup and ReceiptWrap (seal.ReceiptVersion)
	TokenHash      []byte // hash of the form token, to recognise a double submit
	// Blind is the report's blind index (identifiers.go): empty unless the
	// survivor agreed to matching, or the report is a tip.
	Blind []BlindID
	// Audit, when set, is appended to the audit log in the same
	// transaction (a report a caseworker took on a survivor's behalf
	// names them): the report and its entry commit together or not at all.
	Audit *PendingAudit
}

// NewAttachment is a sealed file.
type NewAttachment struct {
	ID     string
	Sealed seal.Sealed // as received
	// Display is the copy the console shows (decoded, re-encoded without
	// metadata), sealed like the original; nil when there is none.
	Display seal.Sealed
}

// Errors a caller branches on.
var (
	ErrNotFound       = errors.New("store: not found")
	ErrDuplicateToken = errors.New("store: form token already used")
	ErrDuplicateKey   = errors.New("store: unique key already taken")
)

const reportColumns = `id, case_ref, kind, channel, org_id, status, closed_reason, created_at, updated_at,
	about, categories, age_band, county, when_last, danger_now, help_wanted, contact_pref,
	consent_refer, consent_match, consent_stats, child_involved, urgency, withdrawn_at,
	assigned_to, gbv_type, context_flags, opened_at, first_response_at, inbox_rank, escalated_at, purged_at,
	consent_police, consent_legal`

// CreateReport stores a new report with its sealed fields, key wraps, receipt
// and form token atomically. It returns ErrDuplicateToken when the form token
// was used before (a double submit) and ErrDuplicateKey on any other unique
// collision (case reference, receipt lookup key).
func (s *Store) CreateReport(ctx context.Context, nr *NewReport) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if nr.TokenHash != nil {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM submit_tokens WHERE token_hash = $1`, nr.TokenHash).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return ErrDuplicateToken
			}
		}
		if err := s.insertReport(ctx, tx, nr); err != nil {
			return err
		}
		if nr.Audit != nil {
			return s.appendAuditTx(ctx, tx, nr.Audit.Entry, nr.Audit.Sign)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrDuplicateToken) && IsUniqueViolation(err) {
		// A concurrent double submit loses the race on submit_tokens.
		if nr.TokenHash != nil {
			if _, terr := s.ReportIDByToken(ctx, nr.TokenHash, time.Time{}); terr == nil {
				return ErrDuplicateToken
			}
		}
		return fmt.Errorf("%w: %v", ErrDuplicateKey, err)
	}
	return err
}

// insertReport writes a new report and everything that belongs to it inside
// tx, and queues its staff alert (JobReportNew). A report without a receipt (a referral's copy for the receiving
// organisation) has nil ReceiptLookup.
func (s *Store) insertReport(ctx context.Context, tx *sql.Tx, nr *NewReport) error {
	r := &nr.Report
	orgID := strings.TrimPrefix(nr.OrgRecipient, "org:")
	pub, gen, err := s.orgKeyTx(ctx, tx, orgID)
	if err != nil {
		return err
	}
	if nr.OrgPublicKey != "" && nr.OrgPublicKey != pub {
		return ErrOrgKeyChanged
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO reports (`+reportColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,NULL,'','','',NULL,NULL,$23,NULL,NULL,$24,$25)`,
		r.ID, r.CaseRef, r.Kind, r.Channel, r.OrgID, r.Status, r.ClosedReason, r.CreatedAt.Unix(), r.UpdatedAt.Unix(),
		r.About, joinList(r.Categories), r.AgeBand, r.County, r.WhenLast, r.DangerNow, joinList(r.Help), r.ContactPref,
		r.ConsentRefer, r.ConsentMatch, r.ConsentStats, r.ChildInvolved, r.Urgency, InboxRank(r.Urgency, r.CreatedAt),
		r.ConsentPolice, r.ConsentLegal)
	if err != nil {
		return err
	}
	for name, v := range nr.Fields {
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_fields (report_id, name, sealed) VALUES ($1, $2, $3)`, r.ID, name, []byte(v)); err != nil {
			return err
		}
	}
	for _, a := range nr.Attachments {
		var display []byte // NULL, not an empty blob, when there is none
		if a.Display != nil {
			display = a.Display
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO attachments (id, report_id, created_at, sealed, display_sealed) VALUES ($1, $2, $3, $4, $5)`,
			a.ID, r.ID, r.CreatedAt.Unix(), []byte(a.Sealed), display); err != nil {
			return err
		}
	}
	if err := insertIdentifiers(ctx, tx, r.ID, r.OrgID, nr.Blind); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO report_wraps (report_id, recipient, wrap, key_gen) VALUES ($1, $2, $3, $4)`, r.ID, nr.OrgRecipient, nr.OrgWrap, gen); err != nil {
		return err
	}
	if nr.ReceiptLookup != nil {
		if nr.ReceiptVersion < 1 {
			return errors.New("store: a receipt without its derivation version")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO receipts (lookup, report_id, wrap, version) VALUES ($1, $2, $3, $4)`,
			nr.ReceiptLookup, r.ID, nr.ReceiptWrap, nr.ReceiptVersion); err != nil {
			return err
		}
	}
	if nr.TokenHash != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO submit_tokens (token_hash, report_id, created_at) VALUES ($1, $2, $3)`, nr.TokenHash, r.ID, r.CreatedAt.Unix()); err != nil {
			return err
		}
	}
	// The organisation's staff are alerted (internal/notify): a report is
	// never stored without its alert queued.
	_, err = enqueueJob(ctx, tx, NewJob{Kind: JobReportNew, Payload: reportEventPayload(r.ID), RunAt: r.CreatedAt,
		UniqueKey: JobReportNew + ":" + r.ID}, r.CreatedAt)
	return err
}

// ReportIDByToken finds the report a form token created, if it was created
// at or after since.
func (s *Store) ReportIDByToken(ctx context.Context, tokenHash []byte, since time.Time) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT report_id FROM submit_tokens WHERE token_hash = $1 AND created_at >= $2`, tokenHash, since.Unix()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return id, err
}

// DeleteSubmitTokensBefore forgets form tokens older than t: after that a
// resubmitted form is refused as expired.
func (s *Store) DeleteSubmitTokensBefore(ctx context.Context, t time.Time) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM submit_tokens WHERE created_at < $1`, t.Unix())
	return err
}

// Report returns a report's clear metadata.
func (s *Store) Report(ctx context.Context, id string) (*Report, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE id = $1`, id)
	r, err := scanReport(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return r, err
}

type scanner interface{ Scan(...any) error }

// collect runs a query and scans every row with scan.
func collect[T any](ctx context.Context, q querier, scan func(scanner) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

func scanReport(row scanner) (*Report, error) {
	var r Report
	var created, updated int64
	var withdrawn, opened, responded, escalated, purged sql.NullInt64
	var rank int64
	var cats, help, flags string
	err := row.Scan(&r.ID, &r.CaseRef, &r.Kind, &r.Channel, &r.OrgID, &r.Status, &r.ClosedReason, &created, &updated,
		&r.About, &cats, &r.AgeBand, &r.County, &r.WhenLast, &r.DangerNow, &help, &r.ContactPref,
		&r.ConsentRefer, &r.ConsentMatch, &r.ConsentStats, &r.ChildInvolved, &r.Urgency, &withdrawn,
		&r.AssignedTo, &r.GBVType, &flags, &opened, &responded, &rank, &escalated, &purged,
		&r.ConsentPolice, &r.ConsentLegal)
	if err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	r.Categories, r.Help, r.ContextFlags = splitList(cats), splitList(help), splitList(flags)
	r.Withdrawn = withdrawn.Valid
	if opened.Valid {
		r.OpenedAt = time.Unix(opened.Int64, 0).UTC()
	}
	if responded.Valid {
		r.FirstResponseAt = time.Unix(responded.Int64, 0).UTC()
	}
	if escalated.Valid {
		r.EscalatedAt = time.Unix(escalated.Int64, 0).UTC()
	}
	if purged.Valid {
		r.PurgedAt = time.Unix(purged.Int64, 0).UTC()
	}
	return &r, nil
}

// ReportFields returns every sealed field of a report by name.
func (s *Store) ReportFields(ctx context.Context, reportID string) (map[string]seal.Sealed, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, sealed FROM report_fields WHERE report_id = $1`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]seal.Sealed{}
	for rows.Next() {
		var name string
		var b []byte
		if err := rows.Scan(&name, &b); err != nil {
			return nil, err
		}
		out[name] = seal.Sealed(b)
	}
	return out, rows.Err()
}

// Attachment is a sealed file of a report.
type Attachment struct {
	ID        string
	CreatedAt time.Time
	Sealed    seal.Sealed
}

// Attachments lists a report's sealed files, oldest first.
func (s *Store) Attachments(ctx context.Context, reportID string) ([]Attachment, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, created_at, sealed FROM attachments WHERE report_id = $1 ORDER BY created_at, id`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Attachment
	for rows.Next() {
		var a Attachment
		var at int64
		var b []byte
		if err := rows.Scan(&a.ID, &at, &b); err != nil {
			return nil, err
		}
		a.CreatedAt, a.Sealed = time.Unix(at, 0).UTC(), seal.Sealed(b)
		out = append(out, a)
	}
	return out, rows.Err()
}

// ReportWrap returns the data key wrapped for one recipient ("org:<id>"),
// and the generation of the organisation's key it is wrapped to.
func (s *Store) ReportWrap(ctx context.Context, reportID, recipient string) ([]byte, int, error) {
	var b []byte
	var gen int
	err := s.r.QueryRowContext(ctx, `SELECT wrap, key_gen FROM report_wraps WHERE report_id = $1 AND recipient = $2`, reportID, recipient).Scan(&b, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrNotFound
	}
	return b, gen, err
}

// StoredReceipt is a receipt's row: the lookup key that found it, the
// report, the report's data key wrapped under the receipt, and the
// derivation version of both.
type StoredReceipt struct {
	Lookup   []byte
	ReportID string
	Wrap     []byte
	Version  int
}

// ReceiptByLookup finds the receipt row one of lookups (a receipt's lookup
// keys under each derivation version) opens. Every call asks for all of them
// in one query, so an unknown receipt costs the same as a known one.
func (s *Store) ReceiptByLookup(ctx context.Context, lookups ...[]byte) (*StoredReceipt, error) {
	if len(lookups) == 0 || len(lookups) > 32 { // versions × network secret generations
		return nil, fmt.Errorf("store: %d receipt lookup keys", len(lookups))
	}
	args := make([]any, len(lookups))
	marks := make([]string, len(lookups))
	for i, l := range lookups {
		args[i], marks[i] = l, fmt.Sprintf("$%d", i+1)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT lookup, report_id, wrap, version FROM receipts WHERE lookup IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found *StoredReceipt
	for rows.Next() {
		var r StoredReceipt
		if err := rows.Scan(&r.Lookup, &r.ReportID, &r.Wrap, &r.Version); err != nil {
			return nil, err
		}
		// Two rows would need two receipts whose lookup keys under
		// different versions collide: 2^-256. Prefer the newest.
		if found == nil || r.Version > found.Version {
			found = &r
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, ErrNotFound
	}
	return found, nil
}

// UpgradeReceipt rewrites a report's receipt row from an older derivation
// (found by oldLookup) to version: new lookup key, new wrap, in place, so
// the old lookup key and wrap are gone in the same statement. It returns
// ErrNotFound when the row is no longer there under oldLookup (another
// login upgraded it first, or the report was withdrawn meanwhile).
func (s *Store) UpgradeReceipt(ctx context.Context, reportID string, oldLookup, newLookup, newWrap []byte, version int) error {
	return oneRow(s.w.ExecContext(ctx, `UPDATE receipts SET lookup = $1, wrap = $2, version = $3 WHERE report_id = $4 AND lookup = $5 AND version < $3`,
		newLookup, newWrap, version, reportID, oldLookup))
}

// Withdraw destroys a report's content at once: every sealed field, message,
// attachment, every wrap of its data key (organisation and receipt) and its
// sessions (the spent form token's hash stays its three hours, see
// keptTables). Without a wrap the data key is gone, so a copy of
// the ciphertext left in an old backup is unreadable (crypto-shredding). The
// row stays, for anonymous counts, with only the coarse clear fields the
// survivor agreed could be counted.
func (s *Store) Withdraw(ctx context.Context, reportID string, now time.Time) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error { return withdrawTx(ctx, tx, reportID, now) })
	if err != nil {
		return err
	}
	// Deleted pages are zeroed in the database file (secure_delete), but the
	// WAL still holds their old images until a checkpoint resets it. The
	// withdrawal itself is committed: if readers keep the WAL busy now, the
	// periodic checkpoint finishes the job.
	_ = s.Checkpoint(ctx)
	return nil
}

// withdrawTx is Withdraw inside a transaction. The copies other
// organisations received through referrals are withdrawn with the report,
// and its open referrals revoked: the survivor's leaving reaches everywhere
// their words went. Purge takes the same path (destroyTx, lifecycle.go).
func withdrawTx(ctx context.Context, tx *sql.Tx, reportID string, now time.Time) error {
	return destroyTx(ctx, tx, reportID, now, endWithdrawn)
}

func joinList(l []string) string { return strings.Join(l, ",") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
