package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// TestErrorsCountsFaultsOnly: the database-fault count the metrics export
// rises for a statement the engine refuses and a failed ping, not for a
// duplicate the caller expects, an error of the caller's own, or a
// cancelled request.
func TestErrorsCountsFaultsOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if s.Errors() != 0 {
			t.Fatalf("a new store counts %d errors", s.Errors())
		}
		mine := errors.New("not found, as the caller expects")
		s.Tx(ctx, func(tx *sql.Tx) error { return mine })
		if err := s.SetSetting(ctx, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		dup := s.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('k', 'w')`)
			return err
		})
		if !store.IsUniqueViolation(dup) {
			t.Fatalf("duplicate: %v", dup)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		s.Tx(cancelled, func(tx *sql.Tx) error { return nil })
		if n := s.Errors(); n != 0 {
			t.Fatalf("%d errors counted for expected outcomes", n)
		}
		s.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
			return err
		})
		if n := s.Errors(); n != 1 {
			t.Fatalf("%d errors after a statement the engine refused, want 1", n)
		}
		s.Close()
		s.Ping(ctx)
		if n := s.Errors(); n != 2 {
			t.Fatalf("%d errors after a failed ping, want 2", n)
		}
	})
}

// TestOpsCounts: counts by channel, by referral state and by job kind and
// state; periodic jobs waiting for their turn are not a queue; SetSetting
// replaces.
func TestOpsCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Now()
		if err := s.EnsurePeriodicJob(ctx, "tick", time.Minute, now); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.EnqueueJob(ctx, store.NewJob{Kind: "sms.nudge", Payload: []byte(`{}`), RunAt: now}, now); err != nil {
				t.Fatal(err)
			}
		}
		cs, err := s.JobCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || cs[0].Kind != "sms.nudge" || cs[0].State != store.JobPending || cs[0].N != 2 {
			t.Errorf("job counts %+v, want 2 pending sms.nudge only", cs)
		}
		if rs, err := s.ReportsByChannel(ctx); err != nil || len(rs) != 0 {
			t.Errorf("reports by channel on an empty database: %v %v", rs, err)
		}
		if rs, err := s.ReferralsByState(ctx); err != nil || len(rs) != 0 {
			t.Errorf("referrals by state on an empty database: %v %v", rs, err)
		}
		for _, v := range []string{"1", "2"} {
			if err := s.SetSetting(ctx, "last_backup", []byte(v)); err != nil {
				t.Fatal(err)
			}
		}
		if v, ok, err := s.Setting(ctx, "last_backup"); err != nil || !ok || string(v) != "2" {
			t.Errorf("setting after two writes: %q %v %v", v, ok, err)
		}
	})
}
