package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Staff alerts (internal/notify). Two kinds of job are the store's own: a
// new report, however it arrived (web, tip, USSD, a referral's copy), and an
// escalation each enqueue one in the transaction that writes them, so that
// no report can be stored without its alert being queued. internal/notify
// handles them.
const (
	JobReportNew       = "report.new"
	JobReportEscalated = "report.escalated"
)

// reportEventPayload names the report an event is about; nothing else.
func reportEventPayload(reportID string) []byte { return []byte(`{"report":"` + reportID + `"}`) }

// Alert contact channels.
const (
	AlertEmail = "email"
	AlertSMS   = "sms"
)

// AlertContact is where an organisation's staff alerts go: an address,
// sealed under a key derived from the network secret, and how the last
// delivery went.
type AlertContact struct {
	ID, OrgID   string
	Channel     string // AlertEmail or AlertSMS
	Sealed      []byte
	CreatedAt   time.Time
	LastSentAt  time.Time // zero if never
	LastError   string    // a short reason; "" if the last delivery worked
	LastErrorAt time.Time
}

const alertContactColumns = `id, org_id, channel, sealed, created_at, last_sent_at, last_error, last_error_at`

func scanAlertContact(row scanner) (*AlertContact, error) {
	var c AlertContact
	var created int64
	var sent, errAt sql.NullInt64
	if err := row.Scan(&c.ID, &c.OrgID, &c.Channel, &c.Sealed, &created, &sent, &c.LastError, &errAt); err != nil {
		return nil, err
	}
	c.CreatedAt = time.Unix(created, 0).UTC()
	if sent.Valid {
		c.LastSentAt = time.Unix(sent.Int64, 0).UTC()
	}
	if errAt.Valid {
		c.LastErrorAt = time.Unix(errAt.Int64, 0).UTC()
	}
	return &c, nil
}

// AddAlertContact stores a contact and its audit entry in one transaction.
func (s *Store) AddAlertContact(ctx context.Context, c *AlertContact, rec *PendingAudit) error {
	if rec == nil {
		return errors.New("store: an alert contact change needs its audit entry")
	}
	if c.Channel != AlertEmail && c.Channel != AlertSMS {
		return errors.New("store: alert contact channel must be email or sms")
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_contacts (id, org_id, channel, sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, c.OrgID, c.Channel, c.Sealed, c.CreatedAt.Unix()); err != nil {
			return fmt.Errorf("store: add alert contact: %w", err)
		}
		return s.appendAuditTx(ctx, tx, rec.Entry, rec.Sign)
	})
}

// RemoveAlertContact deletes an organisation's contact and appends its
// audit entry in one transaction. ErrNotFound if the organisation has no
// such contact.
func (s *Store) RemoveAlertContact(ctx context.Context, orgID, id string, rec *PendingAudit) error {
	if rec == nil {
		return errors.New("store: an alert contact change needs its audit entry")
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_contacts WHERE id = $1 AND org_id = $2`, id, orgID)
		if err != nil {
			return fmt.Errorf("store: remove alert contact: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return s.appendAuditTx(ctx, tx, rec.Entry, rec.Sign)
	})
}

// AlertContacts lists an organisation's contacts, oldest first.
func (s *Store) AlertContacts(ctx context.Context, orgID string) ([]AlertContact, error) {
	return alertContacts(ctx, s.r, orgID)
}

// AlertContactsTx is AlertContacts inside tx: the contacts an alert is sent
// to, read in the transaction that queues the deliveries.
func AlertContactsTx(ctx context.Context, tx *sql.Tx, orgID string) ([]AlertContact, error) {
	return alertContacts(ctx, tx, orgID)
}

func alertContacts(ctx context.Context, db querier, orgID string) ([]AlertContact, error) {
	out, err := collect(ctx, db, scanAlertContact, `SELECT `+alertContactColumns+` FROM alert_contacts WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: alert contacts: %w", err)
	}
	return out, nil
}

// AlertContact returns one contact; ErrNotFound if it was removed.
func (s *Store) AlertContact(ctx context.Context, id string) (*AlertContact, error) {
	c, err := scanAlertContact(s.r.QueryRowContext(ctx, `SELECT `+alertContactColumns+` FROM alert_contacts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: alert contact: %w", err)
	}
	return c, nil
}

// AlertDelivered records a delivery to a contact: sent (reason "") or
// failed with a short reason that holds no address.
func (s *Store) AlertDelivered(ctx context.Context, id, reason string, now time.Time) error {
	var err error
	if reason == "" {
		_, err = s.w.ExecContext(ctx, `UPDATE alert_contacts SET last_sent_at = $2, last_error = '' WHERE id = $1`, id, now.Unix())
	} else {
		_, err = s.w.ExecContext(ctx, `UPDATE alert_contacts SET last_error = $2, last_error_at = $3 WHERE id = $1`, id, clipError(reason), now.Unix())
	}
	if err != nil {
		return fmt.Errorf("store: alert delivery: %w", err)
	}
	return nil
}

// OrganisationsWithoutAlertContacts lists the organisations that receive
// reports (they have a key; a directory-only one does not) and that nobody
// would be alerted for.
func (s *Store) OrganisationsWithoutAlertContacts(ctx context.Context) ([]Organisation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name FROM organisations o WHERE COALESCE(o.public_key, '') <> ''
		AND NOT EXISTS (SELECT 1 FROM alert_contacts c WHERE c.org_id = o.id) ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("store: organisations without alert contacts: %w", err)
	}
	defer rows.Close()
	var out []Organisation
	for rows.Next() {
		var o Organisation
		if err := rows.Scan(&o.ID, &o.Name); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// UnopenedInWindow counts an organisation's live, non-urgent reports that
// arrived in [from, to) and that nobody has opened: what an hourly digest
// is about.
func (s *Store) UnopenedInWindow(ctx context.Context, orgID string, from, to time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE org_id = $1 AND created_at >= $2 AND created_at < $3
		AND urgency = 0 AND opened_at IS NULL AND withdrawn_at IS NULL AND purged_at IS NULL`, orgID, from.Unix(), to.Unix()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: unopened reports: %w", err)
	}
	return n, nil
}
