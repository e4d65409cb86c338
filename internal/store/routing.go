package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"
)

// RoutingRule is one of the network coordinators' routing rules (SPEC §5.1):
// a new report that matches every condition goes to OrgID. An empty
// condition matches anything. Rules are tried in Position order; what the
// rules mean is reporting.Route's business, the store only keeps them.
type RoutingRule struct {
	ID       string
	Position int
	County   string // a county slug, "outside", or "" for any
	Category string // one answer to "what happened", or "" for any
	AgeGroup string // RuleChild, RuleAdult, or "" for any
	Need     string // one kind of help wanted, or "" for any
	OrgID    string
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

// Age groups a routing rule may name.
const (
	RuleChild = "child"
	RuleAdult = "adult"
)

const ruleColumns = `id, position, county, category, age_group, need, org_id, created_at, updated_at`

func scanRule(sc interface{ Scan(...any) error }) (RoutingRule, error) {
	var r RoutingRule
	var created, updated int64
	err := sc.Scan(&r.ID, &r.Position, &r.County, &r.Category, &r.AgeGroup, &r.Need, &r.OrgID, &created, &updated)
	r.CreatedAt, r.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return r, err
}

// RoutingRules returns every rule in the order they are tried.
func (s *Store) RoutingRules(ctx context.Context) ([]RoutingRule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+ruleColumns+` FROM routing_rules ORDER BY position, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RoutingRule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RoutingRule returns one rule.
func (s *Store) RoutingRule(ctx context.Context, id string) (*RoutingRule, error) {
	r, err := scanRule(s.r.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM routing_rules WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// AddRoutingRule adds r after every existing rule, setting its Position and
// timestamps. It returns ErrNotFound if r.OrgID names no organisation and
// ErrDuplicateKey if r.ID is taken.
func (s *Store) AddRoutingRule(ctx context.Context, r *RoutingRule, now time.Time) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(position) FROM routing_rules`).Scan(&last); err != nil {
			return err
		}
		r.Position = int(last.Int64) + 1
		_, err := tx.ExecContext(ctx, `INSERT INTO routing_rules (`+ruleColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			r.ID, r.Position, r.County, r.Category, r.AgeGroup, r.Need, r.OrgID, now.Unix())
		return err
	})
	switch {
	case IsForeignKeyViolation(err):
		return ErrNotFound
	case IsUniqueViolation(err):
		return ErrDuplicateKey
	case err != nil:
		return err
	}
	r.CreatedAt, r.UpdatedAt = time.Unix(now.Unix(), 0).UTC(), time.Unix(now.Unix(), 0).UTC()
	return nil
}

// UpdateRoutingRule changes a rule's conditions and organisation, keeping
// its place. It returns ErrNotFound for an unknown rule or organisation.
func (s *Store) UpdateRoutingRule(ctx context.Context, r RoutingRule, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE routing_rules SET county = $2, category = $3, age_group = $4, need = $5, org_id = $6, updated_at = $7 WHERE id = $1`,
		r.ID, r.County, r.Category, r.AgeGroup, r.Need, r.OrgID, now.Unix())
	if IsForeignKeyViolation(err) {
		return ErrNotFound
	}
	return oneRow(res, err)
}

// DeleteRoutingRule removes a rule; the others keep their order.
func (s *Store) DeleteRoutingRule(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM routing_rules WHERE id = $1`, id)
	return oneRow(res, err)
}

// MoveRoutingRule moves a rule one place earlier (by < 0) or later (by > 0)
// and numbers every rule 1, 2, 3 … in its new order. Moving the first rule
// up or the last one down changes nothing and is not an error.
func (s *Store) MoveRoutingRule(ctx context.Context, id string, by int, now time.Time) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, position FROM routing_rules ORDER BY position, id`)
		if err != nil {
			return err
		}
		var ids []string
		old := map[string]int{}
		for rows.Next() {
			var rid string
			var pos int
			if err := rows.Scan(&rid, &pos); err != nil {
				rows.Close()
				return err
			}
			ids, old[rid] = append(ids, rid), pos
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		i := slices.Index(ids, id)
		if i < 0 {
			return ErrNotFound
		}
		j := min(max(i+by, 0), len(ids)-1)
		ids = slices.Insert(slices.Delete(ids, i, i+1), j, id)
		for k, rid := range ids {
			if old[rid] == k+1 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE routing_rules SET position = $2, updated_at = $3 WHERE id = $1`, rid, k+1, now.Unix()); err != nil {
				return err
			}
		}
		return nil
	})
}

// oneRow turns an UPDATE or DELETE that touched no row into ErrNotFound.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
