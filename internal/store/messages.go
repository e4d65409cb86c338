package store

import (
	"context"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// Message authors.
const (
	AuthorSurvivor   = "survivor"
	AuthorCaseworker = "caseworker"
)

// Message is one sealed entry of the thread between survivor and caseworker.
type Message struct {
	ID        string
	ReportID  string
	Author    string
	UserID    string // the caseworker, when Author is AuthorCaseworker
	CreatedAt time.Time
	Sealed    seal.Sealed
}

// AddMessage appends a sealed message to a report's thread.
func (s *Store) AddMessage(ctx context.Context, m *Message) error {
	var user any
	if m.UserID != "" {
		user = m.UserID
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO messages (id, report_id, author, user_id, created_at, sealed) VALUES ($1, $2, $3, $4, $5, $6)`,
		m.ID, m.ReportID, m.Author, user, m.CreatedAt.Unix(), []byte(m.Sealed))
	return err
}

// Messages returns a report's thread, oldest first.
func (s *Store) Messages(ctx context.Context, reportID string) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, author, COALESCE(user_id, ''), created_at, sealed FROM messages WHERE report_id = $1 ORDER BY created_at, id`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m := Message{ReportID: reportID}
		var at int64
		var b []byte
		if err := rows.Scan(&m.ID, &m.Author, &m.UserID, &at, &b); err != nil {
			return nil, err
		}
		m.CreatedAt, m.Sealed = time.Unix(at, 0).UTC(), seal.Sealed(b)
		out = append(out, m)
	}
	return out, rows.Err()
}
