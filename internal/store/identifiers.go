package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/salama-ke/salama/internal/seal"
)

// The blind index of online-exploitation identifiers (SPEC §5.2). Each row
// says "report R, routed to organisation O, names an identifier whose keyed
// hash is B". The hash is computed by the caller under the network secret,
// which the database never holds, so a dump cannot be tested against a list
// of phone numbers. This file answers two questions and no other: for one
// report, how many other reports (and which organisations) name the same
// identifiers; and, for coordinators, which identifiers are named by several
// reports. It never returns another report's id.

// BlindID is one row of a report's blind index: the kind of identifier
// ("phone", "handle:telegram", "link") and its keyed hash.
type BlindID struct {
	Kind  string
	Blind []byte
}

// insertIdentifiers writes a new report's blind index inside its creation
// transaction. Duplicates (one number typed twice) are written once.
func insertIdentifiers(ctx context.Context, tx *sql.Tx, reportID, orgID string, ids []BlindID) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO identifiers (report_id, kind, blind, org_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (report_id, kind, blind) DO NOTHING`, reportID, id.Kind, id.Blind, orgID); err != nil {
			return err
		}
	}
	return nil
}

// Match says how many other reports name one of a report's identifiers.
type Match struct {
	BlindID
	Reports int      // other reports naming it; 0 if none
	OrgIDs  []string // their organisations, sorted, each once
}

// Matches returns, for each blind-index row of a report, the number of other
// reports with the same row and their organisations. A report without rows
// (the survivor did not agree to matching, or named nothing) has none.
func (s *Store) Matches(ctx context.Context, reportID string) ([]Match, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT me.kind, me.blind, COALESCE(o.report_id, ''), COALESCE(o.org_id, '')
		FROM identifiers me
		LEFT JOIN identifiers o ON o.kind = me.kind AND o.blind = me.blind AND o.report_id <> me.report_id
		WHERE me.report_id = $1
		ORDER BY me.kind, me.blind`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Match
	for rows.Next() {
		var kind, other, org string
		var blind []byte
		if err := rows.Scan(&kind, &blind, &other, &org); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Kind != kind || string(out[n-1].Blind) != string(blind) {
			out = append(out, Match{BlindID: BlindID{Kind: kind, Blind: blind}})
		}
		m := &out[len(out)-1]
		if other != "" { // the primary key makes each (report, kind, blind) one row
			m.Reports++
			if !slices.Contains(m.OrgIDs, org) {
				m.OrgIDs = append(m.OrgIDs, org)
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].OrgIDs)
	}
	return out, rows.Err()
}

// Cluster is an identifier named by several reports, for coordinators: no
// report ids and no content, only how many and where.
type Cluster struct {
	BlindID
	Reports int            // reports naming it
	PerOrg  map[string]int // organisation id → reports
	Latest  time.Time      // when the newest of them arrived
}

// Clusters lists the identifiers named by at least minReports reports (2 if
// less), most reports first, then the most recent.
func (s *Store) Clusters(ctx context.Context, minReports int) ([]Cluster, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT i.kind, i.blind, i.org_id, count(*), max(r.created_at)
		FROM identifiers i
		JOIN (SELECT kind, blind FROM identifiers GROUP BY kind, blind HAVING count(*) >= $1) c ON c.kind = i.kind AND c.blind = i.blind
		JOIN reports r ON r.id = i.report_id
		GROUP BY i.kind, i.blind, i.org_id
		ORDER BY i.kind, i.blind, i.org_id`, max(minReports, 2))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Cluster
	for rows.Next() {
		var kind, org string
		var blind []byte
		var n int
		var latest int64
		if err := rows.Scan(&kind, &blind, &org, &n, &latest); err != nil {
			return nil, err
		}
		if k := len(out); k == 0 || out[k-1].Kind != kind || string(out[k-1].Blind) != string(blind) {
			out = append(out, Cluster{BlindID: BlindID{Kind: kind, Blind: blind}, PerOrg: map[string]int{}})
		}
		c := &out[len(out)-1]
		c.Reports += n
		c.PerOrg[org] += n
		if t := time.Unix(latest, 0).UTC(); t.After(c.Latest) {
			c.Latest = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Cluster) int {
		return cmp.Or(cmp.Compare(b.Reports, a.Reports), b.Latest.Compare(a.Latest))
	})
	return out, nil
}

// AddIdentifiers replaces a report's sealed identifiers field with one that
// holds more (the survivor chose, on their check page, numbers and
// usernames found in a chat export they sent) and adds their blind-index
// rows, in one transaction: the field and the index never disagree.
// Blind is empty when the report does not take part in matching.
func (s *Store) AddIdentifiers(ctx context.Context, reportID, field string, sealed seal.Sealed, blind []BlindID) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		var org string
		if err := tx.QueryRowContext(ctx, `SELECT org_id FROM reports WHERE id = $1`, reportID).Scan(&org); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_fields (report_id, name, sealed) VALUES ($1, $2, $3)
			ON CONFLICT (report_id, name) DO UPDATE SET sealed = excluded.sealed`, reportID, field, []byte(sealed)); err != nil {
			return err
		}
		return insertIdentifiers(ctx, tx, reportID, org, blind)
	})
}
