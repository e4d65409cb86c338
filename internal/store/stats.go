package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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

// eat is East Africa Time, the zone the days are counted in.
var eat = time.FixedZone("EAT", eatOffset)

func dayStart(day int64) time.Time { return time.Unix(day*86400-eatOffset, 0).In(eat) }

// StatsCount is a number of counted reports, or tips, sent on the same
// day with the same coarse answers (internal/stats: Count).
type StatsCount struct {
	Tip        bool
	Day        time.Time // any time on the day it was sent
	Categories []string
	County     string // a county slug, "outside", or "" (not said)
	AgeBand    string // "" when not said
	N          int
}

// StatsWait is a number of counted reports sent on one day that waited the
// same number of whole minutes for a caseworker's first message, or
// (Answered false) have not had one (internal/stats: Wait).
type StatsWait struct {
	Day      time.Time
	Minutes  int
	Answered bool
	N        int
}

// StatsReferral is a number of referrals of counted reports made on one
// day to one service, in one state. The statistics name the service's
// type (internal/stats looks it up in the directory).
type StatsReferral struct {
	Day       time.Time
	ServiceID string
	State     string
	// Consented: the referral was agreed (by the survivor, or the
	// child-protection override), so it was made.
	Consented bool
	N         int
}

// StatsRecord is one published period of the statistics (internal/stats:
// Record).
type StatsRecord struct {
	Period string // "2026-03" for a month, "2026" for a whole year
	Year   int
	K      int
	Data   []byte // JSON: what internal/stats published for the period
	At     time.Time
}

// ErrStatsPublished means a statistics record for that period is stored
// already: another instance published it first.
var ErrStatsPublished = errors.New("stats: already published")

// StatsCounts returns the counted reports and tips sent in [from, to),
// grouped by day and coarse answers.
func (s *Store) StatsCounts(ctx context.Context, from, to time.Time) ([]StatsCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, `+eatDay+`, categories, county, age_band, count(*)
		FROM reports
		WHERE consent_stats = true AND kind IN ('report', 'tip') AND created_at >= $1 AND created_at < $2
		GROUP BY kind, `+eatDay+`, categories, county, age_band`, from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatsCount
	for rows.Next() {
		var kind, cats string
		var day int64
		var c StatsCount
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
func (s *Store) StatsWaits(ctx context.Context, from, to time.Time) ([]StatsWait, error) {
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
	var out []StatsWait
	for rows.Next() {
		var day, minutes int64
		var w StatsWait
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

// StatsReferrals returns the referrals of counted reports and tips made in
// [from, to), grouped by day, service and state.
func (s *Store) StatsReferrals(ctx context.Context, from, to time.Time) ([]StatsReferral, error) {
	day := strings.ReplaceAll(eatDay, "created_at", "f.created_at")
	rows, err := s.r.QueryContext(ctx, `SELECT `+day+`, f.service_id, f.state, f.consent <> '', count(*)
		FROM referrals f JOIN reports r ON r.id = f.report_id
		WHERE r.consent_stats = true AND r.kind IN ('report', 'tip') AND f.created_at >= $1 AND f.created_at < $2
		GROUP BY 1, 2, 3, 4`, from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatsReferral
	for rows.Next() {
		var r StatsReferral
		var day int64
		if err := rows.Scan(&day, &r.ServiceID, &r.State, &r.Consented, &r.N); err != nil {
			return nil, err
		}
		r.Day = dayStart(day)
		out = append(out, r)
	}
	return out, rows.Err()
}

// StatsPublished returns the statistics records of year (internal/stats: Ledger).
func (s *Store) StatsPublished(ctx context.Context, year int) ([]StatsRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT period, year, k, data, published_at FROM stats_published WHERE year = $1 ORDER BY period`, year)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatsRecord
	for rows.Next() {
		var r StatsRecord
		var data string
		var at int64
		if err := rows.Scan(&r.Period, &r.Year, &r.K, &data, &at); err != nil {
			return nil, err
		}
		r.Data, r.At = []byte(data), time.Unix(at, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// StatsPublish stores statistics records, all or none; ErrStatsPublished
// when one is stored already (another instance published it first).
func (s *Store) StatsPublish(ctx context.Context, recs []StatsRecord) error {
	if len(recs) == 0 {
		return nil
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range recs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO stats_published (period, year, k, data, published_at) VALUES ($1, $2, $3, $4, $5)`,
				r.Period, r.Year, r.K, string(r.Data), r.At.Unix()); err != nil {
				return err
			}
		}
		return nil
	})
	if IsUniqueViolation(err) {
		return ErrStatsPublished
	}
	return err
}

// StatsLastK is the threshold of the newest statistics record, 0 when
// nothing has been published.
func (s *Store) StatsLastK(ctx context.Context) (int, error) {
	var k int
	err := s.r.QueryRowContext(ctx, `SELECT k FROM stats_published ORDER BY published_at DESC, period DESC LIMIT 1`).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return k, err
}

// statsKChange is the settings key of the confirmed change of threshold,
// "5>3".
const statsKChange = "stats_k_change"

// StatsKChange is the change of threshold the operator confirmed last;
// zeros when none.
func (s *Store) StatsKChange(ctx context.Context) (from, to int, err error) {
	v, ok, err := s.Setting(ctx, statsKChange)
	if err != nil || !ok {
		return 0, 0, err
	}
	a, b, found := strings.Cut(string(v), ">")
	if from, err = strconv.Atoi(a); err == nil && found {
		to, err = strconv.Atoi(b)
	}
	if err != nil || !found {
		return 0, 0, fmt.Errorf("store: setting %s is %q", statsKChange, v)
	}
	return from, to, nil
}

// SetStatsKChange records the operator's confirmation that the threshold
// changes from one value to another.
func (s *Store) SetStatsKChange(ctx context.Context, from, to int) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		statsKChange, []byte(fmt.Sprintf("%d>%d", from, to)))
	return err
}
