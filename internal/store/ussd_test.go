package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

func TestUSSDSessions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Unix(1_750_000_000, 0)
		ttl := 180 * time.Second
		a, b := []byte("hash-of-session-a-32-bytes-long!"), []byte("hash-of-session-b-32-bytes-long!")

		if _, err := s.USSDSession(ctx, a, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing session: %v", err)
		}
		if err := s.PutUSSDSession(ctx, a, "", `{"screen":"menu"}`, now, now.Add(ttl)); err != nil {
			t.Fatalf("create: %v", err)
		}
		if got, err := s.USSDSession(ctx, a, now.Add(time.Second)); err != nil || got != `{"screen":"menu"}` {
			t.Fatalf("read = %q, %v", got, err)
		}
		// Creating again while it lives is a conflict: two first requests
		// of one session.
		if err := s.PutUSSDSession(ctx, a, "", `{"screen":"other"}`, now, now.Add(ttl)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second create: %v, want ErrConflict", err)
		}
		// Compare and swap.
		if err := s.PutUSSDSession(ctx, a, `{"screen":"menu"}`, `{"screen":"whom"}`, now.Add(10*time.Second), now.Add(10*time.Second+ttl)); err != nil {
			t.Fatalf("swap: %v", err)
		}
		if err := s.PutUSSDSession(ctx, a, `{"screen":"menu"}`, `{"screen":"what"}`, now.Add(11*time.Second), now.Add(11*time.Second+ttl)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("stale swap: %v, want ErrConflict", err)
		}
		if got, _ := s.USSDSession(ctx, a, now.Add(12*time.Second)); got != `{"screen":"whom"}` {
			t.Errorf("after swaps: %q", got)
		}
		// The expiry slides with each write: alive at 10 s + ttl - 1 s.
		if _, err := s.USSDSession(ctx, a, now.Add(10*time.Second+ttl-time.Second)); err != nil {
			t.Errorf("session gone before its expiry: %v", err)
		}
		if _, err := s.USSDSession(ctx, a, now.Add(10*time.Second+ttl)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired session read: %v", err)
		}
		// An expired session cannot be moved on, but its hash may start a
		// new one.
		late := now.Add(time.Hour)
		if err := s.PutUSSDSession(ctx, a, `{"screen":"whom"}`, `{"screen":"what"}`, late, late.Add(ttl)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("swap on an expired session: %v", err)
		}
		if err := s.PutUSSDSession(ctx, a, "", `{"screen":"menu"}`, late, late.Add(ttl)); err != nil {
			t.Errorf("create over an expired row: %v", err)
		}

		// Housekeeping and deletion.
		if err := s.PutUSSDSession(ctx, b, "", `{}`, now, now.Add(ttl)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredUSSDSessions(ctx, now.Add(ttl)); err != nil || n != 1 {
			t.Errorf("DeleteExpiredUSSDSessions = %d, %v; want 1 (b only)", n, err)
		}
		if _, err := s.USSDSession(ctx, a, late); err != nil {
			t.Errorf("live session deleted by housekeeping: %v", err)
		}
		if err := s.DeleteUSSDSession(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.USSDSession(ctx, a, late); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted session read: %v", err)
		}
	})
}

// Two requests of one session race to move it on: exactly one wins.
func TestUSSDSessionRace(t *testing.T) {
	t.Parallel()
	storetest.EachDB(t, func(t *testing.T, db storetest.DB) {
		instances := []*store.Store{db.Open(t), db.Open(t)}
		ctx := t.Context()
		now := time.Unix(1_750_000_000, 0)
		id := []byte("race-session-hash")
		if err := instances[0].PutUSSDSession(ctx, id, "", "v0", now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = instances[i%2].PutUSSDSession(ctx, id, "v0", "v1", now, now.Add(time.Minute))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d writers won, want exactly 1", won)
		}
	})
}
