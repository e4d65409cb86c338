package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// InboxRank orders the inbox: higher urgency first, then older first.
func InboxRank(urgency int, created time.Time) int64 {
	return int64(16-urgency)<<40 | created.Unix()
}

// InboxQuery selects one page of an organisation's inbox.
type InboxQuery struct {
	OrgID    string
	Status   string
	Category string // "" for all
	County   string // "" for all
	// After is the cursor of the last row of the previous page; zero for
	// the first page.
	After Cursor
	Limit int
}

// Cursor is a position in the inbox order.
type Cursor struct {
	Rank int64
	ID   string
}

// String encodes the cursor for a URL.
func (c Cursor) String() string {
	if c.ID == "" {
		return ""
	}
	return fmt.Sprintf("%d.%s", c.Rank, c.ID)
}

// ParseCursor reads a cursor from a URL; a malformed one is the first page.
func ParseCursor(s string) Cursor {
	var c Cursor
	rank, id, ok := strings.Cut(s, ".")
	if !ok || len(id) != 32 {
		return Cursor{}
	}
	if _, err := fmt.Sscanf(rank, "%d", &c.Rank); err != nil {
		return Cursor{}
	}
	c.ID = id
	return c
}

// Inbox returns up to q.Limit reports and the cursor for the next page (zero
// when there is none). It reads the inbox index in order from the cursor, so
// a page costs the same at a million reports as at a thousand.
func (s *Store) Inbox(ctx context.Context, q InboxQuery) ([]Report, Cursor, error) {
	where := []string{"org_id = $1", "status = $2", "(inbox_rank, id) > ($3, $4)"}
	args := []any{q.OrgID, q.Status, q.After.Rank, q.After.ID}
	if q.County != "" {
		args = append(args, q.County)
		where = append(where, fmt.Sprintf("county = $%d", len(args)))
	}
	if q.Category != "" {
		args = append(args, "%,"+q.Category+",%")
		where = append(where, fmt.Sprintf("',' || categories || ',' LIKE $%d", len(args)))
	}
	args = append(args, q.Limit+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY inbox_rank, id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, Cursor{}, err
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, Cursor{}, err
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, Cursor{}, err
	}
	var next Cursor
	if len(out) > q.Limit {
		out = out[:q.Limit]
		last := out[len(out)-1]
		next = Cursor{Rank: InboxRank(last.Urgency, last.CreatedAt), ID: last.ID}
	}
	return out, next, nil
}

// CountCapped counts an organisation's reports in a status, stopping at cap:
// the inbox tabs say "1000+" rather than scan a million rows.
func (s *Store) CountCapped(ctx context.Context, orgID, status string, limit int) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM reports WHERE org_id = $1 AND status = $2 LIMIT $3) x`, orgID, status, limit).Scan(&n)
	return n, err
}

// CaseUpdate changes a report's casework fields. Only non-nil fields change.
type CaseUpdate struct {
	Status, ClosedReason, AssignedTo, GBVType *string
	ContextFlags                              *[]string
}

// UpdateCase applies u to a report of orgID at now. It returns ErrNotFound
// when the report is not that organisation's, or is withdrawn.
func (s *Store) UpdateCase(ctx context.Context, orgID, reportID string, u CaseUpdate, now time.Time) error {
	set := []string{"updated_at = $3"}
	args := []any{reportID, orgID, now.Unix()}
	add := func(col string, v any) {
		args = append(args, v)
		set = append(set, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.Status != nil {
		add("status", *u.Status)
	}
	if u.ClosedReason != nil {
		add("closed_reason", *u.ClosedReason)
	}
	if u.AssignedTo != nil {
		add("assigned_to", *u.AssignedTo)
	}
	if u.GBVType != nil {
		add("gbv_type", *u.GBVType)
	}
	if u.ContextFlags != nil {
		add("context_flags", joinList(*u.ContextFlags))
	}
	return oneRow(s.w.ExecContext(ctx, `UPDATE reports SET `+strings.Join(set, ", ")+` WHERE id = $1 AND org_id = $2 AND withdrawn_at IS NULL AND purged_at IS NULL`, args...))
}

// MarkOpened records the first time a caseworker opened a report.
func (s *Store) MarkOpened(ctx context.Context, reportID string, now time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE reports SET opened_at = $2 WHERE id = $1 AND opened_at IS NULL`, reportID, now.Unix())
	return err
}

// AddCaseworkerMessage stores a caseworker's message and, the first time,
// the time of the first response (for the network's statistics).
func (s *Store) AddCaseworkerMessage(ctx context.Context, m *Message) error {
	return s.Tx(ctx, func(tx *sql.Tx) error { return AddCaseworkerMessageTx(ctx, tx, m) })
}

// AddCaseworkerMessageTx is AddCaseworkerMessage inside tx, so that what the
// message causes (an SMS nudge) is queued in the same transaction.
func AddCaseworkerMessageTx(ctx context.Context, tx *sql.Tx, m *Message) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, report_id, author, user_id, created_at, sealed) VALUES ($1, $2, $3, $4, $5, $6)`,
		m.ID, m.ReportID, AuthorCaseworker, m.UserID, m.CreatedAt.Unix(), []byte(m.Sealed)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE reports SET first_response_at = $2 WHERE id = $1 AND first_response_at IS NULL`, m.ReportID, m.CreatedAt.Unix())
	return err
}
