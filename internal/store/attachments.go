package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/salama-ke/salama/internal/seal"
)

// AttachmentDisplay returns the sealed display copy of a report's screenshot
// (decoded and re-encoded without metadata when the report arrived; see
// NewAttachment.Display). It returns ErrNotFound when the report has no such
// attachment, and nil without an error when the attachment has no display
// copy (one stored before display copies existed, or one that could not be
// decoded): the caller may then make one from the original.
func (s *Store) AttachmentDisplay(ctx context.Context, reportID, attID string) (seal.Sealed, error) {
	var b []byte
	var has bool
	err := s.r.QueryRowContext(ctx, `SELECT display_sealed IS NOT NULL, display_sealed FROM attachments WHERE report_id = $1 AND id = $2`,
		reportID, attID).Scan(&has, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil || !has {
		return nil, err
	}
	return seal.Sealed(b), nil
}
