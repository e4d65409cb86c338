package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/salama-ke/salama/internal/stats"
)

// The statistics read only the clear, coarse columns of reports and tips
// whose sender agreed to be counted (consent_stats): withdrawn ones too,
// since withdrawal keeps those columns when the sender agreed. Copies made
// for a referral (kind 'referral') are the same report again and are never
// counted.
//
// Counts are grouped in SQL by the day they were sent in East Africa Time,
// bucketed with integer arithmetic (dialect.go: date functions differ
// between the engines); months are made from days in Go.

// eatOffset is East Africa Time's offset from UTC, in seconds.
const eatOffset = 3 * 60 * 60

// eatDay is the SQL for the day (East Africa Time) a report was sent, as
// days since 1970-01-01.
const eatDay = `(created_at + 10800) / 86400`

func dayStart(day int64) time.Time { return time.Unix(day*86400-eatOffset, 0).In(stats.EAT) }

// StatsCounts returns the counted reports and tips sent in [from, to),
// grouped by day and coarse answers.
func (s *Store) StatsCounts(ctx context.Context, from, to time.Time) ([]stats.Count, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, `+eatDay+`, categories, county, age_band, count(*)
		FROM reports
		WHERE consent_stats = true AND kind IN ('report', 'tip') AND created_at >= $1 AND created_at < $2
		GROUP BY kind, `+eatDay+`, categories, county, age_band`, from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stats.Count
	for rows.Next() {
		var kind, cats string
		var day int64
		var c stats.Count
		if err := rows.Scan(&kind, &day, &cats, &c.County, &c.AgeBand, &c.N); err != nil {
			return nil, err
		}
		c.Tip, c.Day, c.Categories = kind == KindTip, dayStart(day), splitList(cats)
		out = append(out, c)
	}
	return out, rows.Err()
}

// StatsWaits returns, for the counted reports (not tips) sent in [from,
// to), how many whole minutes each waited for a caseworker's first message,
// grouped by day; Answered false for those still waiting.
func (s *Store) StatsWaits(ctx context.Context, from, to time.Time) ([]stats.Wait, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+eatDay+`,
			CASE WHEN first_response_at IS NULL THEN -1
				WHEN first_response_at <= created_at THEN 0
				ELSE (first_response_at - created_at) / 60 END,
			count(*)
		FROM reports
		WHERE consent_stats = true AND kind = 'report' AND created_at >= $1 AND created_at < $2
		GROUP BY 1, 2`, from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stats.Wait
	for rows.Next() {
		var day, minutes int64
		var w stats.Wait
		if err := rows.Scan(&day, &minutes, &w.N); err != nil {
			return nil, err
		}
		w.Day, w.Minutes, w.Answered = dayStart(day), int(max(minutes, 0)), minutes >= 0
		out = append(out, w)
	}
	return out, rows.Err()
}

// StatsFirst returns when the first counted report or tip was sent; zero
// when there is none.
func (s *Store) StatsFirst(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT min(created_at) FROM reports WHERE consent_stats = true AND kind IN ('report', 'tip')`).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return time.Unix(at.Int64, 0).UTC(), nil
}

var _ stats.Source = (*Store)(nil)
