package stats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrNoSuchYear means a year outside Years was asked for.
var ErrNoSuchYear = errors.New("stats: no figures for that year")

// Service publishes figures from a Source: the first request after a
// month ends publishes that month (stores its record), and every page
// shows what is stored. It keeps pages a while: the public page must not
// cost a read of a year's records per visit.
type Service struct {
	src Source
	k   int
	now func() time.Time
	ttl time.Duration

	mu    sync.Mutex // held while publishing, so a burst publishes once
	first time.Time
	// firstAt is when first was read; it is read again after ttl.
	firstAt time.Time
	cache   map[int]cached
}

type cached struct {
	f  *Figures
	at time.Time
}

// NewService returns a service publishing with threshold k (cells under k
// are suppressed). now is the clock; nil means time.Now.
func NewService(src Source, k int, now func() time.Time) (*Service, error) {
	if k < 2 {
		return nil, errors.New("stats: k must be at least 2")
	}
	if now == nil {
		now = time.Now
	}
	return &Service{src: src, k: k, now: now, ttl: 10 * time.Minute, cache: map[int]cached{}}, nil
}

// Years lists the years that have figures, oldest first, and when the
// first counted report was sent (zero when none).
func (s *Service) Years(ctx context.Context) ([]int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, err := s.firstLocked(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	return Years(first, s.now()), first, nil
}

func (s *Service) firstLocked(ctx context.Context) (time.Time, error) {
	now := s.now()
	if s.firstAt.IsZero() || now.Sub(s.firstAt) > s.ttl || now.Before(s.firstAt) {
		first, err := s.src.StatsFirst(ctx)
		if err != nil {
			return time.Time{}, err
		}
		s.first, s.firstAt = first, now
	}
	return s.first, nil
}

// Figures returns year's figures as published, publishing what is due
// first; ErrNoSuchYear for a year outside Years.
func (s *Service) Figures(ctx context.Context, year int) (*Figures, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if c, ok := s.cache[year]; ok && now.Sub(c.at) <= s.ttl && !now.Before(c.at) {
		return c.f, nil
	}
	first, err := s.firstLocked(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(Years(first, now), year) {
		return nil, ErrNoSuchYear
	}
	f, err := s.publish(ctx, year, first, now)
	if err != nil {
		return nil, err
	}
	s.cache[year] = cached{f, now}
	return f, nil
}

// publish stores what is due of year and returns the year as stored.
func (s *Service) publish(ctx context.Context, year int, first, now time.Time) (*Figures, error) {
	// Two tries: when another instance publishes the same month at the
	// same moment, the loser reads the winner's record back.
	for range 2 {
		recs, err := s.src.StatsPublished(ctx, year)
		if err != nil {
			return nil, err
		}
		shown, err := fromRecords(year, recs)
		if err != nil || shown.Complete {
			return shown, err
		}
		months, complete := MonthsOver(year, first, now)
		have := map[string]bool{}
		for _, m := range shown.Months {
			have[m.Format("2006-01")] = true
		}
		due := complete
		for _, m := range months {
			due = due || !have[m.Format("2006-01")]
		}
		if !due {
			return shown, nil
		}
		held, err := s.held(ctx)
		if err != nil {
			return nil, err
		}
		if held {
			shown.Held = true
			return shown, nil
		}

		published, err := monthRecords(recs)
		if err != nil {
			return nil, err
		}
		from, to := time.Date(year, 1, 1, 0, 0, 0, 0, EAT), time.Date(year+1, 1, 1, 0, 0, 0, 0, EAT)
		if ms := monthStart(now); ms.Before(to) {
			to = ms
		}
		in := Input{Year: year, Now: now, First: first, K: s.k, Published: published}
		if in.Counts, err = s.src.StatsCounts(ctx, from, to); err != nil {
			return nil, err
		}
		if in.Waits, err = s.src.StatsWaits(ctx, from, to); err != nil {
			return nil, err
		}
		if complete {
			if in.Referrals, err = s.src.StatsReferrals(ctx, from, to); err != nil {
				return nil, err
			}
		}
		f, err := Build(in)
		if err != nil {
			return nil, err
		}
		fresh, err := f.newRecords(now)
		if err != nil {
			return nil, err
		}
		err = s.src.StatsPublish(ctx, fresh)
		if errors.Is(err, ErrPublished) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return fromRecords(year, append(recs, fresh...))
	}
	return nil, errors.New("stats: could not publish: records keep changing")
}

// held reports whether publishing must wait: the last figures were
// published with another k, and the operator has not confirmed the
// change (SettleK).
func (s *Service) held(ctx context.Context) (bool, error) {
	last, err := s.src.StatsLastK(ctx)
	if err != nil || last == 0 || last == s.k {
		return false, err
	}
	from, to, err := s.src.StatsKChange(ctx)
	if err != nil {
		return false, err
	}
	return from != last || to != s.k, nil
}

// KStatus is what SettleK found.
type KStatus struct {
	// Held: figures were published with another k and the change is not
	// confirmed, so nothing new is published.
	Held bool
	// Message says so, for the operator, at start; "" when all is as
	// before.
	Message string
}

// SettleK compares k with the k figures were last published with, once at
// start. Pages published with different thresholds together reveal more
// than either (a cell "<5" on one and "<3" on the other is 3 or 4), so a
// change needs the operator to name the old value: replaces. Without
// that, figures already published stay as they are and nothing new is
// published until k is set back or the change is confirmed.
func SettleK(ctx context.Context, l Ledger, k, replaces int) (KStatus, error) {
	last, err := l.StatsLastK(ctx)
	if err != nil || last == 0 || last == k {
		return KStatus{}, err
	}
	if from, to, err := l.StatsKChange(ctx); err != nil {
		return KStatus{}, err
	} else if from == last && to == k {
		return KStatus{Message: fmt.Sprintf("statistics: publishing with --stats-k %d, which replaced %d (confirmed before)", k, last)}, nil
	}
	if replaces == last {
		if err := l.SetStatsKChange(ctx, last, k); err != nil {
			return KStatus{}, err
		}
		return KStatus{Message: fmt.Sprintf("statistics: --stats-k changes from %d to %d. What was published with %d stays as it was; "+
			"months and years published from now on use %d.", last, k, last, k)}, nil
	}
	return KStatus{Held: true, Message: fmt.Sprintf("statistics: figures were published with --stats-k %d, but this start asks for %d. "+
		"Nothing new is published until you go back to --stats-k %d, or confirm the change with --stats-k-replaces %d "+
		"(pages published with two thresholds reveal more together than either; see docs/statistics.md).", last, k, last, last)}, nil
}
