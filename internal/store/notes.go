package store

import (
	"context"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// Note is a caseworker's private note on a report, sealed under the
// report's data key. The survivor never sees notes.
type Note struct {
	ID, ReportID, UserID string
	CreatedAt            time.Time
	Sealed               seal.Sealed
}

// AddNote stores a sealed note.
func (s *Store) AddNote(ctx context.Context, n *Note) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO notes (id, report_id, user_id, created_at, sealed) VALUES ($1, $2, $3, $4, $5)`,
		n.ID, n.ReportID, n.UserID, n.CreatedAt.Unix(), []byte(n.Sealed))
	return err
}

// Notes returns a report's notes, oldest first.
func (s *Store) Notes(ctx context.Context, reportID string) ([]Note, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, user_id, created_at, sealed FROM notes WHERE report_id = $1 ORDER BY created_at, id`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		n := Note{ReportID: reportID}
		var at int64
		var b []byte
		if err := rows.Scan(&n.ID, &n.UserID, &at, &b); err != nil {
			return nil, err
		}
		n.CreatedAt, n.Sealed = time.Unix(at, 0).UTC(), seal.Sealed(b)
		out = append(out, n)
	}
	return out, rows.Err()
}
