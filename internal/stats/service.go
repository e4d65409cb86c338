package stats

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// ErrNoSuchYear means a year outside Years was asked for.
var ErrNoSuchYear = errors.New("stats: no figures for that year")

// Service computes figures from a Source and keeps them a while: the
// public page must not cost a scan of a year's reports per visit.
type Service struct {
	src Source
	k   int
	now func() time.Time
	ttl time.Duration

	mu    sync.Mutex // held while computing, so a burst computes once
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

// K is the suppression threshold.
func (s *Service) K() int { return s.k }

// Years lists the years that have figures, oldest first.
func (s *Service) Years(ctx context.Context) ([]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first, err := s.firstLocked(ctx)
	if err != nil {
		return nil, err
	}
	return Years(first, s.now()), nil
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

// Figures returns year's figures, or ErrNoSuchYear.
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
	from, to := time.Date(year, 1, 1, 0, 0, 0, 0, EAT), time.Date(year+1, 1, 1, 0, 0, 0, 0, EAT)
	counts, err := s.src.StatsCounts(ctx, from, to)
	if err != nil {
		return nil, err
	}
	waits, err := s.src.StatsWaits(ctx, from, to)
	if err != nil {
		return nil, err
	}
	f, err := Build(year, now, first, s.k, counts, waits)
	if err != nil {
		return nil, err
	}
	s.cache[year] = cached{f, now}
	return f, nil
}
