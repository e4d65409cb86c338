package stats

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// memSource is a Source in memory.
type memSource struct {
	mu      sync.Mutex
	counts  []Count
	waits   []Wait
	refs    []Referral
	recs    map[string]Record
	kFrom   int
	kTo     int
	publish func(recs []Record) error // called before storing, may refuse
}

func (m *memSource) StatsCounts(_ context.Context, from, to time.Time) ([]Count, error) {
	var out []Count
	for _, c := range m.counts {
		if !c.Day.Before(from) && c.Day.Before(to) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memSource) StatsWaits(context.Context, time.Time, time.Time) ([]Wait, error) {
	return m.waits, nil
}
func (m *memSource) StatsReferrals(context.Context, time.Time, time.Time) ([]Referral, error) {
	return m.refs, nil
}

func (m *memSource) StatsFirst(context.Context) (time.Time, error) { return firstOf(m.counts), nil }

func (m *memSource) StatsPublished(_ context.Context, year int) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, r := range m.recs {
		if r.Year == year {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memSource) StatsPublish(_ context.Context, recs []Record) error {
	if m.publish != nil {
		if err := m.publish(recs); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		if _, ok := m.recs[r.Period]; ok {
			return ErrPublished
		}
	}
	for _, r := range recs {
		m.recs[r.Period] = r
	}
	return nil
}

func (m *memSource) StatsLastK(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var last Record
	for _, r := range m.recs {
		if r.At.After(last.At) || (r.At.Equal(last.At) && r.Period > last.Period) {
			last = r
		}
	}
	return last.K, nil
}

func (m *memSource) StatsKChange(context.Context) (int, int, error) { return m.kFrom, m.kTo, nil }
func (m *memSource) SetStatsKChange(_ context.Context, from, to int) error {
	m.kFrom, m.kTo = from, to
	return nil
}

// Two instances publish the same month at the same moment: the one that
// loses shows the winner's record, not its own figures.
func TestServiceLosesTheRace(t *testing.T) {
	src := &memSource{recs: map[string]Record{}, counts: []Count{rep(day(2025, 1, 10), 7, "nairobi", "", "other")}}
	now := time.Date(2025, 2, 2, 0, 0, 0, 0, EAT)
	// The other instance's record for January says 9 (it counted a report
	// this one has not seen yet).
	other, err := Build(Input{Year: 2025, Now: now, First: day(2025, 1, 10), K: 5, Counts: []Count{rep(day(2025, 1, 10), 9, "nairobi", "", "other")}})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := other.newRecords(now)
	if err != nil {
		t.Fatal(err)
	}
	src.publish = func([]Record) error {
		src.publish = nil
		src.mu.Lock()
		src.recs[theirs[0].Period] = theirs[0]
		src.mu.Unlock()
		return ErrPublished
	}
	svc, err := NewService(src, 5, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	f, err := svc.Figures(t.Context(), 2025)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := cell(t, f.Month, "2025-01", ColReports); n != 9 {
		t.Errorf("January shows %d, want the stored record's 9", n)
	}
	if len(src.recs) != 1 {
		t.Errorf("%d records", len(src.recs))
	}
}

// A Ledger that fails makes the page fail, rather than show figures that
// were not stored (they could differ the next time).
func TestServiceDoesNotShowWhatItCouldNotStore(t *testing.T) {
	src := &memSource{recs: map[string]Record{}, counts: []Count{rep(day(2025, 1, 10), 7, "nairobi", "", "other")}}
	src.publish = func([]Record) error { return errors.New("disk full") }
	svc, _ := NewService(src, 5, func() time.Time { return time.Date(2025, 2, 2, 0, 0, 0, 0, EAT) })
	if _, err := svc.Figures(t.Context(), 2025); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Figures = %v", err)
	}
}

// SettleK: the first start and a start with the same k say nothing; a
// different k is held unless the old value is named; naming it records
// the change, once.
func TestSettleK(t *testing.T) {
	ctx := t.Context()
	src := &memSource{recs: map[string]Record{}}
	if st, err := SettleK(ctx, src, 3, 0); err != nil || st.Held || st.Message != "" {
		t.Errorf("nothing published: %+v, %v", st, err)
	}
	src.recs["2025-01"] = Record{Period: "2025-01", Year: 2025, K: 5, At: day(2025, 2, 1)}
	if st, _ := SettleK(ctx, src, 5, 0); st.Held || st.Message != "" {
		t.Errorf("same k: %+v", st)
	}
	if st, _ := SettleK(ctx, src, 3, 0); !st.Held || !strings.Contains(st.Message, "--stats-k-replaces 5") {
		t.Errorf("changed k: %+v", st)
	}
	if st, _ := SettleK(ctx, src, 3, 4); !st.Held {
		t.Errorf("changed k, wrong old value named: %+v", st)
	}
	if st, _ := SettleK(ctx, src, 3, 5); st.Held || !strings.Contains(st.Message, "from 5 to 3") || src.kFrom != 5 || src.kTo != 3 {
		t.Errorf("confirmed: %+v, recorded %d>%d", st, src.kFrom, src.kTo)
	}
	if st, _ := SettleK(ctx, src, 3, 0); st.Held {
		t.Errorf("confirmed before: %+v", st)
	}
	svc, _ := NewService(src, 3, nil)
	if held, _ := svc.held(ctx); held {
		t.Error("the service holds a confirmed change")
	}
	svc, _ = NewService(src, 4, nil)
	if held, _ := svc.held(ctx); !held {
		t.Error("the service publishes with an unconfirmed k")
	}
}
