package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/salama-ke/salama/internal/store"
	"github.com/salama-ke/salama/internal/store/storetest"
)

// A number that texted STOP stays stopped across a rotation of the network
// secret: its blind index is re-keyed with the others.
func TestSMSStopRekeyed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		old := []byte("blind-index-of-a-number-32-bytes")
		var fresh, again bool
		err := s.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			if fresh, err = store.StopSMSTx(ctx, tx, old, time.Now()); err != nil {
				return err
			}
			again, err = store.StopSMSTx(ctx, tx, old, time.Now())
			return err
		})
		if err != nil || !fresh || again {
			t.Fatalf("stop: fresh %v, again %v, %v", fresh, again, err)
		}
		rekey := func(b []byte) []byte { return append([]byte("new:"), b...) }
		if _, err := s.ChangeKeys(ctx, store.KeyChange{RekeyBlind: rekey}); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.SMSStopped(ctx, rekey(old)); err != nil || !ok {
			t.Errorf("stopped under the new key: %v %v", ok, err)
		}
		if ok, _ := s.SMSStopped(ctx, old); ok {
			t.Error("still under the old key")
		}
		var started bool
		if err := s.Tx(ctx, func(tx *sql.Tx) (err error) {
			started, err = store.StartSMSTx(ctx, tx, rekey(old))
			return err
		}); err != nil || !started {
			t.Fatalf("start: %v %v", started, err)
		}
		if ok, _ := s.SMSStopped(ctx, rekey(old)); ok {
			t.Error("stopped after START")
		}
	})
}
